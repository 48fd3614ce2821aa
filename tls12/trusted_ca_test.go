package tls12

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// testCA is a root that issues leaves for server.test.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key}
}

// chain issues a leaf for key and server.test and returns it as a
// configured chain; withRoot appends the root, which lets a server match
// the root's hashes.
func (ca *testCA) chain(t *testing.T, key crypto.Signer, withRoot bool) *params.Certificate {
	return ca.chainFor(t, key, withRoot, "server.test")
}

func (ca *testCA) chainFor(t *testing.T, key crypto.Signer, withRoot bool, host string) *params.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	chain := [][]byte{der}
	if withRoot {
		chain = append(chain, ca.cert.Raw)
	}
	c, err := params.NewCertificate(chain, leaf, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func (ca *testCA) keyHash(t *testing.T) []byte {
	h, err := params.KeySHA1(ca.cert)
	if err != nil {
		t.Fatal(err)
	}
	return h[:]
}

func (ca *testCA) certHash() []byte { h := sha1.Sum(ca.cert.Raw); return h[:] }

// observed is what a client saw of the server's first flight.
type observed struct {
	ack    bool
	issuer string
}

func watch(t *testing.T, o *observed) func([]byte) [][]byte {
	return func(m []byte) [][]byte {
		switch m[0] {
		case wire.TypeServerHello:
			if sh, err := wire.ParseServerHello(m); err == nil {
				o.ack = sh.TrustedCAKeysAck
			}
		case wire.TypeCertificate:
			if cm, err := wire.ParseCertificate12(m); err == nil && len(cm.Certificates) > 0 {
				leaf, err := x509.ParseCertificate(cm.Certificates[0])
				if err != nil {
					t.Errorf("server leaf: %v", err)
				} else {
					o.issuer = leaf.Issuer.CommonName
				}
			}
		}
		return [][]byte{m}
	}
}

// A re-keyed root that kept its name: the old and the new root share a
// subject, so only a hash tells them apart, and the server's chains carry
// their roots so that it can match one. The client's list chooses the
// chain, by each identifier type, and the server acknowledges only then.
func TestTrustedCAKeysChainChoice(t *testing.T) {
	oldCA, newCA, renamed := newTestCA(t, "Corp Root"), newTestCA(t, "Corp Root"), newTestCA(t, "Corp Root G2")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	chains := []*params.Certificate{oldCA.chain(t, key, true), newCA.chain(t, key, true), renamed.chain(t, key, false)}
	name := func(ca *testCA) wire.TrustedAuthority {
		return wire.TrustedAuthority{Type: wire.CAX509Name, ID: ca.cert.RawSubject}
	}
	keyID := func(ca *testCA) wire.TrustedAuthority {
		return wire.TrustedAuthority{Type: wire.CAKeySHA1, ID: ca.keyHash(t)}
	}
	certID := func(ca *testCA) wire.TrustedAuthority {
		return wire.TrustedAuthority{Type: wire.CACertSHA1, ID: ca.certHash()}
	}
	other := newTestCA(t, "Someone Else")
	for _, tc := range []struct {
		name    string
		trusts  *testCA
		offered bool
		list    []wire.TrustedAuthority
		want    *testCA // whose chain; nil: the default, which the client cannot verify
		ack     bool
	}{
		{"new by key hash", newCA, true, []wire.TrustedAuthority{keyID(newCA)}, newCA, true},
		{"new by certificate hash", newCA, true, []wire.TrustedAuthority{certID(newCA)}, newCA, true},
		{"new by name and key hash", newCA, true, []wire.TrustedAuthority{name(newCA), keyID(newCA)}, newCA, true},
		{"old by name and key hash", oldCA, true, []wire.TrustedAuthority{name(oldCA), keyID(oldCA)}, oldCA, true},
		{"old by certificate hash", oldCA, true, []wire.TrustedAuthority{certID(oldCA)}, oldCA, true},
		{"renamed root by name (not in the chain)", renamed, true, []wire.TrustedAuthority{name(renamed)}, renamed, true},
		{"pre_agreed is no preference", oldCA, true, []wire.TrustedAuthority{{Type: wire.CAPreAgreed}}, oldCA, false},
		{"empty list", oldCA, true, nil, oldCA, false},
		{"no extension", oldCA, false, nil, oldCA, false},
		{"names neither", other, true, []wire.TrustedAuthority{name(other), keyID(other)}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, cp := testParams(t, false)
			sp.Certificates = chains
			cp.Roots = tc.trusts.pool()
			var o observed
			cerr, serr := run(t, sp, cp, func(ch *wire.ClientHello) {
				ch.HasTrustedCAKeys, ch.TrustedCAKeys = tc.offered, tc.list
			}, watch(t, &o), nil)
			if o.ack != tc.ack {
				t.Errorf("acknowledged %v, want %v", o.ack, tc.ack)
			}
			if tc.want == nil {
				if alert.For(cerr) != alert.UnknownCA || o.issuer != "Corp Root" {
					t.Fatalf("client %v with the chain of %q; want unknown_ca on the default chain", cerr, o.issuer)
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			if o.issuer != tc.want.cert.Subject.CommonName {
				t.Fatalf("chain issued by %q", o.issuer)
			}
		})
	}
}

// The CA comes before the server's suite order: an ECDSA chain under the
// old root and an RSA chain under the new, a server preferring ECDSA
// suites, and a client naming the new root gets the RSA chain. The server
// name comes before the CA.
func TestTrustedCAKeysBeforeSuiteOrder(t *testing.T) {
	oldCA, newCA := newTestCA(t, "Old Root"), newTestCA(t, "New Root")
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	sp, cp := testParams(t, false)
	sp.Suites12 = []uint16{0xc02b, 0xc02f} // ECDHE_ECDSA, then ECDHE_RSA
	sp.Certificates = []*params.Certificate{oldCA.chain(t, ecKey, false), newCA.chain(t, rsaKey, false)}
	cp.Roots = newCA.pool()
	var o observed
	hello := func(ch *wire.ClientHello) {
		ch.HasTrustedCAKeys = true
		ch.TrustedCAKeys = []wire.TrustedAuthority{{Type: wire.CAX509Name, ID: newCA.cert.RawSubject}}
	}
	if cerr, serr := run(t, sp, cp, hello, watch(t, &o), nil); cerr != nil || serr != nil || o.issuer != "New Root" || !o.ack {
		t.Fatalf("client %v, server %v, chain of %q, ack %v", cerr, serr, o.issuer, o.ack)
	}

	// A chain for another name under the named CA loses to one for the
	// requested name.
	sp.Certificates = []*params.Certificate{newCA.chainFor(t, ecKey, false, "other.test"), oldCA.chain(t, ecKey, false)}
	cp.Roots = oldCA.pool()
	o = observed{}
	if cerr, serr := run(t, sp, cp, hello, watch(t, &o), nil); cerr != nil || serr != nil || o.issuer != "Old Root" || o.ack {
		t.Fatalf("client %v, server %v, chain of %q, ack %v", cerr, serr, o.issuer, o.ack)
	}
}

// A client takes the empty acknowledgement only when it offered the
// extension (TestTrustedCAKeysChainChoice: it does then), and never a
// non-empty one.
func TestTrustedCAKeysAckAlerts(t *testing.T) {
	ack := rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.TrustedCAKeysAck = true }))
	// The ack goes last; give it a two-byte body and fix the lengths
	// around it: the message's, then the extension block's.
	withBody := rewrite(wire.TypeServerHello, func(m []byte) []byte {
		m = append(ack(m)[0], 0, 0)
		m[len(m)-3] = 2
		n := len(m) - wire.HeaderLen
		m[1], m[2], m[3] = byte(n>>16), byte(n>>8), byte(n)
		at := wire.HeaderLen + 2 + 32 + 1 + int(m[wire.HeaderLen+2+32]) + 3
		blk := len(m) - at - 2
		m[at], m[at+1] = byte(blk>>8), byte(blk)
		return m
	})
	offer := func(ch *wire.ClientHello) { ch.HasTrustedCAKeys = true }
	for _, tc := range []struct {
		name     string
		hello    func(*wire.ClientHello)
		toClient func([]byte) [][]byte
		want     alert.Alert
	}{
		{"ack not offered", nil, ack, alert.UnsupportedExtension},
		{"ack with a body", offer, withBody, alert.DecodeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, cp := testParams(t, false)
			cerr, _ := run(t, sp, cp, tc.hello, tc.toClient, nil)
			if got := alert.For(cerr); got != tc.want {
				t.Fatalf("client: alert %v, want %v (%v)", got, tc.want, cerr)
			}
		})
	}
}

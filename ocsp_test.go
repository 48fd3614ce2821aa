package holdfast

import (
	"bytes"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSP stapling (RFC 6066 §8 in TLS 1.2, RFC 8446 §4.4.2.1 in TLS 1.3),
// both directions against crypto/tls and as a server against openssl
// s_client -status.

var bothVersions = []struct {
	name string
	v    uint16
}{{"TLS12", VersionTLS12}, {"TLS13", VersionTLS13}}

// ocspGood is a real OCSP response from the test CA saying leaf is good.
func ocspGood(t *testing.T, pki *testPKI, leaf *x509.Certificate) []byte {
	t.Helper()
	now := time.Now()
	der, err := ocsp.CreateResponse(pki.caCert, pki.caCert, ocsp.Response{
		Status: ocsp.Good, SerialNumber: leaf.SerialNumber,
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(24 * time.Hour),
	}, pki.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func stapledLeaf(t *testing.T, pki *testPKI) Certificate {
	t.Helper()
	c := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	c.OCSPStaple = ocspGood(t, pki, c.Leaf)
	return c
}

// A Holdfast server staples for a crypto/tls client, which asks always;
// with DisableOCSPStapling it does not.
func TestOCSPStapleToCryptoTLS(t *testing.T) {
	pki := newTestPKI(t)
	srv := stapledLeaf(t, pki)
	for _, tc := range bothVersions {
		for _, off := range []bool{false, true} {
			var got []byte
			cerr, serr := pair(t, func(c net.Conn) error {
				s := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v})
				defer s.Close()
				if err := sendAndCheck(s, []byte("ocsp")); err != nil {
					return err
				}
				got = s.ConnectionState().OCSPResponse
				return nil
			}, func(c net.Conn) error {
				tc := Server(c, &Config{Certificates: []Certificate{srv}, DisableOCSPStapling: off})
				defer tc.Close()
				return echoOnce(tc)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("%s off=%v: client %v, server %v", tc.name, off, cerr, serr)
			}
			if off {
				if got != nil {
					t.Errorf("%s: stapled %d bytes with DisableOCSPStapling", tc.name, len(got))
				}
				continue
			}
			if !bytes.Equal(got, srv.OCSPStaple) {
				t.Fatalf("%s: crypto/tls saw %x, want the staple", tc.name, got)
			}
			if r, err := ocsp.ParseResponseForCert(got, srv.Leaf, pki.caCert); err != nil || r.Status != ocsp.Good {
				t.Fatalf("%s: staple does not parse as good: %v", tc.name, err)
			}
		}
	}
}

// dialState runs a Holdfast client with cfg against server over a socket
// pair, sending one message to be echoed, and returns the client's
// ConnectionState with both sides' errors.
func dialState(t *testing.T, cfg *Config, server func(net.Conn) error) (st ConnectionState, cerr, serr error) {
	t.Helper()
	cerr, serr = pair(t, func(c net.Conn) error {
		cl := Client(c, cfg)
		defer cl.Close()
		if err := sendAndCheck(cl, []byte("state")); err != nil {
			return err
		}
		st = cl.ConnectionState()
		return nil
	}, server)
	return st, cerr, serr
}

// stdEcho is a crypto/tls server that echoes one message.
func stdEcho(cfg *tls.Config) func(net.Conn) error {
	return func(c net.Conn) error {
		s := tls.Server(c, cfg)
		defer s.Close()
		return echoOnce(s)
	}
}

// holdfastEcho is a Holdfast server that echoes one message and stores its
// ConnectionState in st.
func holdfastEcho(cfg *Config, st *ConnectionState) func(net.Conn) error {
	return func(c net.Conn) error {
		sv := Server(c, cfg)
		defer sv.Close()
		if err := echoOnce(sv); err != nil {
			return err
		}
		*st = sv.ConnectionState()
		return nil
	}
}

// ocspClient connects a Holdfast client to a crypto/tls server stapling
// staple and returns what the client saw and what VerifyOCSPResponse got.
func ocspClient(t *testing.T, pki *testPKI, srv Certificate, cfg *Config) (st ConnectionState, called bool, seen []byte, cerr, serr error) {
	t.Helper()
	std := toStd(srv)
	std.OCSPStaple = srv.OCSPStaple
	inner := cfg.VerifyOCSPResponse
	cfg.VerifyOCSPResponse = func(resp []byte, certs []*x509.Certificate) error {
		called, seen = true, resp
		if len(certs) == 0 || !certs[0].Equal(srv.Leaf) {
			return errors.New("VerifyOCSPResponse without the server's leaf")
		}
		if inner != nil {
			return inner(resp, certs)
		}
		return nil
	}
	st, cerr, serr = dialState(t, cfg, stdEcho(&tls.Config{Certificates: []tls.Certificate{std}}))
	return
}

// A Holdfast client asks by default, reports the staple, hands it to
// VerifyOCSPResponse, and fails with bad_certificate_status_response when
// that refuses it; with DisableOCSPStapling it neither asks nor calls.
func TestOCSPStapleFromCryptoTLS(t *testing.T) {
	pki := newTestPKI(t)
	srv := stapledLeaf(t, pki)
	for _, tc := range bothVersions {
		cfg := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v}
		st, called, seen, cerr, serr := ocspClient(t, pki, srv, cfg)
		if cerr != nil || serr != nil {
			t.Fatalf("%s: client %v, server %v", tc.name, cerr, serr)
		}
		if st.Version != tc.v || !bytes.Equal(st.OCSPResponse, srv.OCSPStaple) || !called || !bytes.Equal(seen, srv.OCSPStaple) {
			t.Fatalf("%s: version %#04x, OCSPResponse %d bytes, VerifyOCSPResponse called %v with %d bytes",
				tc.name, st.Version, len(st.OCSPResponse), called, len(seen))
		}

		cfg = &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v, DisableOCSPStapling: true}
		st, called, _, cerr, serr = ocspClient(t, pki, srv, cfg)
		if cerr != nil || serr != nil || st.OCSPResponse != nil || called {
			t.Fatalf("%s disabled: client %v, server %v, response %d bytes, called %v", tc.name, cerr, serr, len(st.OCSPResponse), called)
		}

		refuse := errors.New("revoked")
		cfg = &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v,
			VerifyOCSPResponse: func([]byte, []*x509.Certificate) error { return refuse }}
		_, _, _, cerr, serr = ocspClient(t, pki, srv, cfg)
		expectAlert(t, cerr, AlertBadCertificateStatusResponse, true)
		if !errors.Is(cerr, refuse) {
			t.Errorf("%s: the callback's error is lost: %v", tc.name, cerr)
		}
		if serr == nil {
			t.Errorf("%s: crypto/tls server did not see the alert", tc.name)
		}
	}
	// No staple at all: VerifyOCSPResponse still runs, with nil, so that
	// a Must-Staple policy can refuse.
	plain := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	st, called, seen, cerr, serr := ocspClient(t, pki, plain, &Config{RootCAs: pki.pool, ServerName: "server.test"})
	if cerr != nil || serr != nil || !called || seen != nil || st.OCSPResponse != nil {
		t.Fatalf("no staple: client %v, server %v, called %v with %d bytes", cerr, serr, called, len(seen))
	}
}

// A resumed connection reports the staple of the handshake that made the
// session, as it reports that handshake's certificates.
func TestOCSPStapleOnResumption(t *testing.T) {
	pki := newTestPKI(t)
	srv := stapledLeaf(t, pki)
	std := toStd(srv)
	std.OCSPStaple = srv.OCSPStaple
	for _, tc := range bothVersions {
		cfg := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v, ClientSessionCache: NewClientSessionCache(4)}
		scfg := &tls.Config{Certificates: []tls.Certificate{std}}
		for i := range 2 {
			st, cerr, serr := dialState(t, cfg, stdEcho(scfg))
			if cerr != nil || serr != nil {
				t.Fatalf("%s #%d: client %v, server %v", tc.name, i, cerr, serr)
			}
			if st.DidResume != (i == 1) || !bytes.Equal(st.OCSPResponse, srv.OCSPStaple) {
				t.Fatalf("%s #%d: resumed %v, OCSPResponse %d bytes", tc.name, i, st.DidResume, len(st.OCSPResponse))
			}
		}
	}
}

// Holdfast to Holdfast, both versions: the TLS 1.2 CertificateStatus and
// the TLS 1.3 entry extension each make it across.
func TestOCSPStapleHoldfastToHoldfast(t *testing.T) {
	pki := newTestPKI(t)
	srv := stapledLeaf(t, pki)
	for _, tc := range bothVersions {
		var ss ConnectionState
		cs, cerr, serr := dialState(t, &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v},
			holdfastEcho(&Config{Certificates: []Certificate{srv}}, &ss))
		if cerr != nil || serr != nil || !bytes.Equal(cs.OCSPResponse, srv.OCSPStaple) || ss.OCSPResponse != nil {
			t.Fatalf("%s: client %v, server %v, client got %d bytes, server reports %d", tc.name, cerr, serr, len(cs.OCSPResponse), len(ss.OCSPResponse))
		}
	}
}

// openssl s_client -status reads the staple from a Holdfast server and
// checks it: a successful response saying the certificate is good.
func TestOCSPStapleOpenSSL(t *testing.T) {
	o := newOpenSSLPeer(t)
	leaf := o.fx.keys[0].cert
	leaf.OCSPStaple = ocspGood(t, o.fx.pki, leaf.Leaf)
	for _, tc := range []struct{ name, flag, proto string }{{"TLS12", "-tls1_2", "TLSv1.2"}, {"TLS13", "-tls1_3", "TLSv1.3"}} {
		t.Run(tc.name, func(t *testing.T) {
			ln := interopListen(t)
			p := startPeer(t, o.bin, "s_client", "-connect", ln.Addr().String(), tc.flag, "-status",
				"-CAfile", o.fx.caFile, "-servername", "server.test", "-verify_hostname", "server.test", "-verify_return_error")
			c, err := interopAccept(t, ln, &Config{Certificates: []Certificate{leaf}}, p)
			if err != nil {
				t.Fatalf("Holdfast server handshake: %v", err)
			}
			pingClient(t, c, p, "ping with a stapled OCSP response over "+tc.name)
			p.requireOutput(t, "OCSP Response Status: successful", "Cert Status: good",
				"Serial Number: "+serialHex(leaf.Leaf.SerialNumber), "Protocol  : "+tc.proto)
		})
	}
}

// serialHex is a serial number as openssl prints it in an OCSP response.
func serialHex(n *big.Int) string {
	s := n.Text(16)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return string(bytes.ToUpper([]byte(s)))
}

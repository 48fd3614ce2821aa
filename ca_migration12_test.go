package holdfast

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// A TLS 1.2 CA migration (trusted_ca_keys, RFC 6066 §6). Two kinds:
//   - renamed: the new root has a new name ("Holdfast Old Root" → "New
//     Root"); chains need not carry their roots, names are enough;
//   - re-keyed: the new root keeps the old name with a new key (the
//     second seed's "versioned trusted CA keys"); only a key or
//     certificate hash tells them apart, so each chain ends in its root
//     for the server to match.
type migration12 struct {
	oldCA, newCA, otherCA *testPKI // renamed
	oldRK, newRK          *testPKI // re-keyed, both "Holdfast Corp Root"
	server                *Config  // chains: oldRK, newRK, oldCA, newCA (default: oldRK)
}

func newMigration12(t *testing.T) *migration12 {
	m := &migration12{
		oldCA: newNamedPKI(t, "Holdfast Old Root"), newCA: newNamedPKI(t, "Holdfast New Root"),
		otherCA: newNamedPKI(t, "Someone Else"),
		oldRK:   newNamedPKI(t, "Holdfast Corp Root"), newRK: newNamedPKI(t, "Holdfast Corp Root"),
	}
	key := ecKey(t, elliptic.P256())
	withRoot := func(p *testPKI) Certificate {
		c := p.leaf(t, key, "server.test")
		c.Certificate = append(c.Certificate, p.caCert.Raw)
		return c
	}
	m.server = &Config{MaxVersion: VersionTLS12, Certificates: []Certificate{
		withRoot(m.oldRK), withRoot(m.newRK), m.oldCA.leaf(t, key, "server.test"), m.newCA.leaf(t, key, "server.test"),
	}}
	return m
}

// A Holdfast client announcing its roots gets the chain under the root it
// trusts, over TLS 1.2 alone or offering TLS 1.3 too; one that trusts
// neither root, or does not say, gets the default chain and fails with
// unknown_ca wrapping x509's error.
func TestCAMigration12(t *testing.T) {
	m := newMigration12(t)
	for _, tc := range []struct {
		name     string
		trusts   *testPKI
		announce bool
		byKey    bool     // AnnouncedRoots set: name and key hash; else names from RootCAs
		want     *testPKI // whose root the chain must verify to; nil: must fail
	}{
		{"renamed/trusts-new", m.newCA, true, false, m.newCA},
		{"renamed/trusts-old", m.oldCA, true, false, m.oldCA},
		{"renamed/trusts-new-by-key", m.newCA, true, true, m.newCA},
		{"rekeyed/trusts-new", m.newRK, true, true, m.newRK},
		{"rekeyed/trusts-old", m.oldRK, true, true, m.oldRK},
		// A name alone fits both versions: the first chain, the old one.
		{"rekeyed/trusts-new-by-name-only", m.newRK, true, false, nil},
		{"trusts-neither", m.otherCA, true, true, nil},
		{"trusts-new-silently", m.newCA, false, false, nil},
	} {
		for _, offer13 := range []bool{false, true} {
			name := tc.name + "/tls12-only"
			if offer13 {
				name = tc.name + "/offers-tls13"
			}
			t.Run(name, func(t *testing.T) {
				cfg := &Config{RootCAs: tc.trusts.pool, ServerName: "server.test", AnnounceCAs: tc.announce, MaxVersion: VersionTLS12}
				if offer13 {
					cfg.MaxVersion = 0
				}
				if tc.byKey {
					cfg.AnnouncedRoots = []*x509.Certificate{tc.trusts.caCert}
				}
				var st ConnectionState
				cerr, _ := pair(t, func(c net.Conn) error {
					cl := Client(c, cfg)
					defer cl.Close()
					if err := cl.Handshake(); err != nil {
						return err
					}
					st = cl.ConnectionState()
					return sendAndCheck(cl, []byte("migrated"))
				}, func(c net.Conn) error {
					sv := Server(c, m.server)
					defer sv.Close()
					if err := sv.Handshake(); err != nil {
						return err
					}
					return echoOnce(sv)
				})
				if tc.want == nil {
					var ua x509.UnknownAuthorityError
					if !errors.As(cerr, &ua) || !errors.Is(cerr, AlertUnknownCA) {
						t.Fatalf("client error %v; want unknown_ca wrapping x509.UnknownAuthorityError", cerr)
					}
					return
				}
				if cerr != nil {
					t.Fatalf("client: %v", cerr)
				}
				chain := st.VerifiedChains[0]
				if st.Version != VersionTLS12 || !bytes.Equal(chain[len(chain)-1].Raw, tc.want.caCert.Raw) {
					t.Fatalf("version %#04x, chain to %q; want TLS 1.2 to the trusted root", st.Version, chain[len(chain)-1].Subject)
				}
			})
		}
	}
}

// rawHello12 is a TLS 1.2 ClientHello for server.test that a Holdfast
// server answers with ECDHE-ECDSA: X25519 for the exchange, P-256 for the
// certificate's key (RFC 8422 §5.1: the list covers both).
func rawHello12() *wire.ClientHello {
	ch := &wire.ClientHello{
		Vers: VersionTLS12, CipherSuites: []uint16{0xc02b}, CompressionMethods: []byte{0},
		ServerName: "server.test", SupportedGroups: []uint16{uint16(X25519), uint16(CurveP256)}, ECPointFormats: []byte{0},
		SignatureAlgorithms: []uint16{0x0403}, ExtendedMasterSecret: true, SecureRenegotiationSupported: true,
	}
	rand.Read(ch.Random[:])
	return ch
}

// firstFlight12 sends a raw ClientHello to a Holdfast server and returns
// the ServerHello and Certificate it answers with, or the alert it sends,
// and the server's error.
func firstFlight12(t *testing.T, cfg *Config, hello []byte) (sh *wire.ServerHello, cm *wire.Certificate12, alertDesc int, serverErr error) {
	t.Helper()
	alertDesc = -1
	_, serverErr = serveOne(t, cfg, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(append([]byte{22, 3, 1, byte(len(hello) >> 8), byte(len(hello))}, hello...))
		var r wire.Reassembler
		for sh == nil || cm == nil {
			var hdr [5]byte
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				t.Errorf("reading the server's reply: %v", err)
				return
			}
			body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
			if _, err := io.ReadFull(c, body); err != nil {
				t.Errorf("reading the server's reply: %v", err)
				return
			}
			if hdr[0] == 21 {
				alertDesc = int(body[1])
				return
			}
			r.Add(body)
			for {
				msg, ok, err := r.Next()
				if err != nil || !ok {
					break
				}
				switch msg[0] {
				case wire.TypeServerHello:
					sh, err = wire.ParseServerHello(msg)
				case wire.TypeCertificate:
					cm, err = wire.ParseCertificate12(msg)
				}
				if err != nil {
					t.Errorf("server message: %v", err)
					return
				}
			}
		}
	})
	return sh, cm, alertDesc, serverErr
}

// Each identifier type picks its chain, and the server acknowledges with
// the empty extension only when the list chose the chain.
func TestCAMigration12ByIdentifier(t *testing.T) {
	m := newMigration12(t)
	key := func(p *testPKI) wire.TrustedAuthority {
		h, err := params.KeySHA1(p.caCert)
		if err != nil {
			t.Fatal(err)
		}
		return wire.TrustedAuthority{Type: wire.CAKeySHA1, ID: h[:]}
	}
	cert := func(p *testPKI) wire.TrustedAuthority {
		h := sha1.Sum(p.caCert.Raw)
		return wire.TrustedAuthority{Type: wire.CACertSHA1, ID: h[:]}
	}
	name := func(p *testPKI) wire.TrustedAuthority {
		return wire.TrustedAuthority{Type: wire.CAX509Name, ID: p.caCert.RawSubject}
	}
	for _, tc := range []struct {
		name    string
		offered bool
		list    []wire.TrustedAuthority
		want    *testPKI // the chain's issuer
		ack     bool
	}{
		{"key_sha1_hash/new", true, []wire.TrustedAuthority{key(m.newRK)}, m.newRK, true},
		{"key_sha1_hash/old", true, []wire.TrustedAuthority{key(m.oldRK)}, m.oldRK, true},
		{"cert_sha1_hash/new", true, []wire.TrustedAuthority{cert(m.newRK)}, m.newRK, true},
		{"cert_sha1_hash/old", true, []wire.TrustedAuthority{cert(m.oldRK)}, m.oldRK, true},
		{"x509_name/new", true, []wire.TrustedAuthority{name(m.newCA)}, m.newCA, true},
		{"x509_name/old", true, []wire.TrustedAuthority{name(m.oldCA)}, m.oldCA, true},
		{"name-and-key/new-version", true, []wire.TrustedAuthority{name(m.newRK), key(m.newRK)}, m.newRK, true},
		{"pre_agreed", true, []wire.TrustedAuthority{{Type: wire.CAPreAgreed}}, m.oldRK, false},
		{"unknown-CA", true, []wire.TrustedAuthority{name(m.otherCA), key(m.otherCA)}, m.oldRK, false},
		{"empty-list", true, nil, m.oldRK, false},
		{"absent", false, nil, m.oldRK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := rawHello12()
			ch.HasTrustedCAKeys, ch.TrustedCAKeys = tc.offered, tc.list
			raw, err := ch.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			sh, cm, desc, serr := firstFlight12(t, m.server, raw)
			if sh == nil || cm == nil {
				t.Fatalf("no ServerHello and Certificate (alert %d, server %v)", desc, serr)
			}
			if sh.TrustedCAKeysAck != tc.ack {
				t.Errorf("acknowledged %v, want %v", sh.TrustedCAKeysAck, tc.ack)
			}
			leaf, err := x509.ParseCertificate(cm.Certificates[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := leaf.CheckSignatureFrom(tc.want.caCert); err != nil {
				t.Fatalf("chain not under the wanted root (issuer %q): %v", leaf.Issuer, err)
			}
		})
	}
}

// A malformed trusted_ca_keys is decode_error, sent and returned; an
// identifier type RFC 6066 does not define cannot be stepped over, so it
// is malformed too.
func TestTrustedCAKeysMalformed(t *testing.T) {
	m := newMigration12(t)
	hash := bytes.Repeat([]byte{0xaa}, 20)
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"empty-body", nil},
		{"list-longer-than-body", []byte{0, 9, 0}},
		{"short-key-hash", append([]byte{0, 11, 1}, hash[:10]...)},
		{"empty-name", []byte{0, 3, 2, 0, 0}},
		{"undefined-type-4", append([]byte{0, 21, 4}, hash...)},
		{"trailing-byte", []byte{0, 1, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := rawHello12()
			ch.Unknown = []wire.Extension{{Type: 0x7e7e}} // a placeholder, swapped below
			raw, err := ch.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			raw = spliceLastExtension(raw, wire.ExtTrustedCAKeys, tc.body)
			_, _, desc, serr := firstFlight12(t, m.server, raw)
			if desc != int(AlertDecodeError) || !errors.Is(serr, AlertDecodeError) {
				t.Fatalf("alert %d, server %v; want decode_error sent", desc, serr)
			}
		})
	}
}

// spliceLastExtension replaces the last extension of a ClientHello
// (empty, as marshalled) with one of type typ and the given body, fixing
// the message and extension block lengths.
func spliceLastExtension(hello []byte, typ uint16, body []byte) []byte {
	out := append(bytes.Clone(hello[:len(hello)-4]), byte(typ>>8), byte(typ), byte(len(body)>>8), byte(len(body)))
	out = append(out, body...)
	n := len(out) - wire.HeaderLen
	out[1], out[2], out[3] = byte(n>>16), byte(n>>8), byte(n)
	sid := int(out[wire.HeaderLen+2+32])
	at := wire.HeaderLen + 2 + 32 + 1 + sid
	at += 2 + (int(out[at])<<8 | int(out[at+1])) // cipher_suites
	at += 1 + int(out[at])                       // compression methods
	blk := len(out) - at - 2
	out[at], out[at+1] = byte(blk>>8), byte(blk)
	return out
}

// crypto/tls never sends trusted_ca_keys and ignores it: its client gets
// the default chain from a migrating Holdfast server, and a Holdfast
// client announcing its roots completes with a crypto/tls server.
func TestTrustedCAKeysCryptoTLS(t *testing.T) {
	m := newMigration12(t)
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := tls.Client(c, &tls.Config{RootCAs: m.oldRK.pool, ServerName: "server.test", MaxVersion: tls.VersionTLS12})
		defer cl.Close()
		return sendAndCheck(cl, []byte("from crypto/tls"))
	}, func(c net.Conn) error {
		sv := Server(c, m.server)
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("crypto/tls client: %v; Holdfast server: %v", cerr, serr)
	}
	for _, maxVersion := range []uint16{VersionTLS12, 0} {
		cerr, serr = pair(t, func(c net.Conn) error {
			cl := Client(c, &Config{RootCAs: m.newCA.pool, ServerName: "server.test", MaxVersion: maxVersion,
				AnnounceCAs: true, AnnouncedRoots: []*x509.Certificate{m.newCA.caCert}})
			defer cl.Close()
			return sendAndCheck(cl, []byte("to crypto/tls"))
		}, func(c net.Conn) error {
			sv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(m.server.Certificates[3])}, MaxVersion: tls.VersionTLS12})
			defer sv.Close()
			return echoOnce(sv)
		})
		if cerr != nil || serr != nil {
			t.Fatalf("Holdfast client (MaxVersion %#04x): %v; crypto/tls server: %v", maxVersion, cerr, serr)
		}
	}
}

// Neither OpenSSL 3.0 nor GnuTLS 3.7 implements trusted_ca_keys: their
// clients never send it and their servers ignore it. A Holdfast client
// announcing its roots completes with both, and openssl's trace shows
// the extension it ignored; their clients get a migrating Holdfast
// server's default chain.
func TestTrustedCAKeysInterop(t *testing.T) {
	// The fixture's chain first, then one under another root.
	migrating := func(fx *interopFixture) *Config {
		other := newNamedPKI(t, "Holdfast New Root").leaf(t, ecKey(t, elliptic.P256()), "server.test")
		return &Config{MaxVersion: VersionTLS12, Certificates: []Certificate{fx.keys[0].cert, other}}
	}
	t.Run("openssl-s_client", func(t *testing.T) {
		o := newOpenSSLPeer(t)
		ln := interopListen(t)
		p := o.client12(t, nil, ln.Addr().String(), "-trace")
		c, err := interopAccept(t, ln, migrating(o.fx), p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		pingClient(t, c, p, "from openssl s_client to a migrating server")
		if out := p.output(); !strings.Contains(out, "ClientHello") || strings.Contains(out, "trusted_ca_keys") {
			t.Fatalf("want a traced ClientHello without trusted_ca_keys, and no acknowledgement:\n%s", out)
		}
	})
	t.Run("gnutls-cli", func(t *testing.T) {
		g := newGnuTLSPeer(t)
		ln := interopListen(t)
		p := g.client(t, ln.Addr().String(), g.fx.caFile, "NORMAL:-VERS-ALL:+VERS-TLS1.2")
		c, err := interopAccept(t, ln, migrating(g.fx), p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		pingGnuTLSClient(t, c, p, "from gnutls-cli to a migrating server")
		p.requireOutput(t, "- Status: The certificate is trusted.")
	})
	t.Run("openssl-s_server", func(t *testing.T) {
		o := newOpenSSLPeer(t)
		k := o.fx.keys[0]
		p, addr := o.server12(t, nil, "-cert", k.certFile, "-key", k.keyFile, "-rev", "-trace")
		cfg := o.clientConfig()
		cfg.AnnounceCAs, cfg.AnnouncedRoots = true, []*x509.Certificate{o.fx.pki.caCert}
		c, err := interopDial(t, addr, cfg)
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		pingRev(t, c, "trusted_ca_keys to openssl")
		finishRev(t, c, p)
		out := p.output()
		if !strings.Contains(out, "extension_type=trusted_ca_keys(3)") {
			t.Fatalf("openssl's trace shows no trusted_ca_keys in the ClientHello:\n%s", out)
		}
		if i := strings.Index(out, "extension_type=trusted_ca_keys(3)"); i >= 0 {
			t.Logf("openssl trace: %s", out[i:min(len(out), i+250)])
		}
		if strings.Count(out, "extension_type=trusted_ca_keys(3)") != 1 {
			t.Fatalf("openssl acknowledged trusted_ca_keys:\n%s", out)
		}
	})
	t.Run("gnutls-serv", func(t *testing.T) {
		g := newGnuTLSPeer(t)
		_, addr := g.server(t, g.fx.keys[0], "NORMAL:-VERS-ALL:+VERS-TLS1.2")
		cfg := g.clientConfig()
		cfg.AnnounceCAs, cfg.AnnouncedRoots = true, []*x509.Certificate{g.fx.pki.caCert}
		c, err := interopDial(t, addr, cfg)
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		defer c.Close()
		if v := c.ConnectionState().Version; v != VersionTLS12 {
			t.Fatalf("version %#04x", v)
		}
		pingEcho(t, c, "trusted_ca_keys to gnutls-serv")
	})
}

// AnnouncedRoots is checked when the Config is resolved: set without
// AnnounceCAs, or holding a nil root, it is refused.
func TestAnnouncedRootsValidation(t *testing.T) {
	root := newNamedPKI(t, "Holdfast Root").caCert
	for name, cfg := range map[string]*Config{
		"without AnnounceCAs": {AnnouncedRoots: []*x509.Certificate{root}},
		"nil root":            {AnnounceCAs: true, AnnouncedRoots: []*x509.Certificate{root, nil}},
	} {
		if _, err := cfg.resolve(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p, err := (&Config{AnnounceCAs: true, AnnouncedRoots: []*x509.Certificate{root}}).resolve()
	if err != nil || len(p.AnnouncedCAs) != 1 || !bytes.Equal(p.AnnouncedCAs[0].Name, root.RawSubject) {
		t.Fatalf("resolved %+v, %v", p.AnnouncedCAs, err)
	}
}

// A client that announces its roots resumes a TLS 1.2 session like any
// other: the resumed handshake chooses no chain, so the server sends no
// acknowledgement, and the client does not ask for one.
func TestTrustedCAKeysResumption12(t *testing.T) {
	m := newMigration12(t)
	server := &Config{MaxVersion: VersionTLS12, Certificates: m.server.Certificates[2:]} // renamed: oldCA, newCA
	client := &Config{RootCAs: m.newCA.pool, ServerName: "server.test", ClientSessionCache: NewClientSessionCache(8),
		AnnounceCAs: true, AnnouncedRoots: []*x509.Certificate{m.newCA.caCert}}
	if c, s := resumeOnce(t, holdfastResumingClient(client), server); c || s {
		t.Fatalf("first connection resumed (client %v, server %v)", c, s)
	}
	if c, s := resumeOnce(t, holdfastResumingClient(client), server); !c || !s {
		t.Fatalf("not resumed (client %v, server %v)", c, s)
	}
}

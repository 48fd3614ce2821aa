package holdfast

import (
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"net"
	"testing"
)

// A CA migration: the server holds a chain under the old root and one
// under the new for the same name and key. A client that names the CAs it
// trusts (certificate_authorities, RFC 8446 §4.2.4) gets the chain it can
// verify; a client that names neither gets the default (first) chain and
// fails with unknown_ca and x509's own error.
func TestCAMigration(t *testing.T) {
	oldCA, newCA, otherCA := newNamedPKI(t, "Holdfast Old Root"), newNamedPKI(t, "Holdfast New Root"), newNamedPKI(t, "Someone Else")
	key := ecKey(t, elliptic.P256())
	server := &Config{Certificates: []Certificate{oldCA.leaf(t, key, "server.test"), newCA.leaf(t, key, "server.test")}}
	for _, tc := range []struct {
		name     string
		roots    *x509.CertPool
		announce bool
		issuer   string // "" when verification must fail
	}{
		{"trusts-new", newCA.pool, true, "Holdfast New Root"},
		{"trusts-old", oldCA.pool, true, "Holdfast Old Root"},
		{"trusts-neither", otherCA.pool, true, ""},
		{"trusts-new-silently", newCA.pool, false, ""}, // gets the default chain
	} {
		t.Run(tc.name, func(t *testing.T) {
			var issuer string
			cerr, _ := pair(t, func(c net.Conn) error {
				cl := Client(c, &Config{RootCAs: tc.roots, ServerName: "server.test", AnnounceCAs: tc.announce})
				defer cl.Close()
				if err := cl.Handshake(); err != nil {
					return err
				}
				issuer = cl.ConnectionState().PeerCertificates[0].Issuer.CommonName
				return sendAndCheck(cl, []byte("migrated"))
			}, func(c net.Conn) error {
				sv := Server(c, server)
				defer sv.Close()
				if err := sv.Handshake(); err != nil {
					return err
				}
				return echoOnce(sv)
			})
			if tc.issuer == "" {
				var ua x509.UnknownAuthorityError
				if !errors.As(cerr, &ua) || !errors.Is(cerr, AlertUnknownCA) {
					t.Fatalf("client error %v; want unknown_ca wrapping x509.UnknownAuthorityError", cerr)
				}
				return
			}
			if cerr != nil || issuer != tc.issuer {
				t.Fatalf("client: %v, chain issued by %q; want %q", cerr, issuer, tc.issuer)
			}
		})
	}
}

// openssl s_client -requestCAfile sends certificate_authorities; the
// server answers with the chain under the named CA.
func TestCAMigrationOpenSSL(t *testing.T) {
	o := newOpenSSLPeer(t)
	oldCA, newCA := newNamedPKI(t, "Holdfast Old Root"), newNamedPKI(t, "Holdfast New Root")
	key := ecKey(t, elliptic.P256())
	server := &Config{Certificates: []Certificate{oldCA.leaf(t, key, "server.test"), newCA.leaf(t, key, "server.test")}}
	newFile := writePEMFile(t, t.TempDir(), "new-ca.pem", "CERTIFICATE", newCA.caCert.Raw)
	ln := interopListen(t)
	p := o.client(t, ln.Addr().String(), newFile, "-requestCAfile", newFile)
	c, err := interopAccept(t, ln, server, p)
	if err != nil {
		t.Fatalf("Holdfast server handshake: %v", err)
	}
	pingClient(t, c, p, "chain under the CA s_client asked for")
	p.requireOutput(t, "CN = Holdfast New Root")
}

// openssl s_server with a client-CA list (its -CAfile, sent as the
// CertificateRequest's certificate_authorities) drives which of its
// chains a Holdfast client presents, in TLS 1.3 and 1.2.
func TestClientCertificateChoiceOpenSSL(t *testing.T) {
	o := newOpenSSLPeer(t)
	caA, caB := newNamedPKI(t, "Holdfast Client Root A"), newNamedPKI(t, "Holdfast Client Root B")
	certA := caA.leaf(t, ecKey(t, elliptic.P256()), "client-a.test")
	certB := caB.leaf(t, ecKey(t, elliptic.P256()), "client-b.test")
	dir := t.TempDir()
	bFile := writePEMFile(t, dir, "ca-b.pem", "CERTIFICATE", caB.caCert.Raw)
	srv := writeInteropCert(t, dir, "server", o.fx.keys[0].cert)
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, args ...string) (*peerProc, string)
		max   uint16
	}{
		{"TLS1.3", o.server, VersionTLS13},
		{"TLS1.2", func(t *testing.T, args ...string) (*peerProc, string) { return o.server12(t, nil, args...) }, VersionTLS12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, addr := tc.start(t, "-cert", srv.certFile, "-key", srv.keyFile, "-Verify", "1", "-CAfile", bFile, "-verify_return_error", "-rev")
			cfg := o.clientConfig()
			cfg.MaxVersion = tc.max
			// A first: a client that ignored the list would send it.
			cfg.Certificates = []Certificate{certA, certB}
			c, err := interopDial(t, addr, cfg)
			if err != nil {
				t.Fatalf("Holdfast client handshake: %v (%s)", err, p.output())
			}
			pingRev(t, c, "the chain under the CA s_server named")
			finishRev(t, c, p)
			p.requireOutput(t, "CN = client-b.test")
		})
	}
}

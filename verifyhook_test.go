package holdfast

import (
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"net"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// VerifyPeerCertificate runs on a server under every policy that takes a
// client certificate, as crypto/tls's does: under RequestClientCert and
// RequireAnyClientCert with no verified chains, so a pinning check in the
// hook is not silently skipped; its refusal is bad_certificate.
func TestServerVerifyPeerCertificateUnderEveryPolicy(t *testing.T) {
	pki := newTestPKI(t)
	other := newNamedPKI(t, "Another CA")
	serverCert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	clientCert := other.leaf(t, ecKey(t, elliptic.P256()), "client.test")
	for _, vers := range []uint16{VersionTLS13, VersionTLS12} {
		for _, policy := range []ClientAuthType{RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert} {
			verifies := policy == VerifyClientCertIfGiven || policy == RequireAndVerifyClientCert
			for _, refuse := range []bool{false, true} {
				called, gotChains := false, 0
				server := &Config{Certificates: []Certificate{serverCert}, ClientAuth: policy, ClientCAs: other.pool, MaxVersion: vers,
					VerifyPeerCertificate: func(raw [][]byte, chains [][]*x509.Certificate) error {
						called, gotChains = true, len(chains)
						if len(raw) != 1 {
							t.Errorf("hook got %d raw certificates, want the client's 1", len(raw))
						}
						if refuse {
							return errors.New("pinned key does not match")
						}
						return nil
					}}
				client := &Config{RootCAs: pki.pool, ServerName: "server.test", Certificates: []Certificate{clientCert}, MaxVersion: vers}
				_, serr := pair(t, func(c net.Conn) error {
					cl := Client(c, client)
					defer cl.Close()
					if err := cl.Handshake(); err != nil {
						return err
					}
					// A TLS 1.3 client learns of the refusal on its first read.
					_, err := cl.Read(make([]byte, 1))
					return err
				}, func(c net.Conn) error {
					sv := Server(c, server)
					defer sv.Close()
					if err := sv.Handshake(); err != nil {
						return err
					}
					_, err := sv.Write([]byte{1})
					return err
				})
				if !called {
					t.Errorf("%#04x policy %d: VerifyPeerCertificate not called", vers, policy)
				}
				if want := map[bool]int{true: 1, false: 0}[verifies]; gotChains != want {
					t.Errorf("%#04x policy %d: hook saw %d verified chains, want %d", vers, policy, gotChains, want)
				}
				if refuse != (serr != nil) || (refuse && !errors.Is(serr, alert.ErrBadCertificate)) {
					t.Errorf("%#04x policy %d refuse=%v: server error %v", vers, policy, refuse, serr)
				}
			}
		}
	}
}

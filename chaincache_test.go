package holdfast

import (
	"crypto/elliptic"
	"crypto/x509"
	"net"
	"testing"
)

// A client that connects twice to a server with the same chain verifies
// it once (the second connection's certificates are the first's, shared
// from the cache) in both versions; with the cache off it verifies twice.
// VerifyPeerCertificate runs in every handshake either way.
func TestVerifiedChainCache(t *testing.T) {
	pki := newTestPKI(t)
	server := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")}}
	for _, tc := range []struct {
		name   string
		size   int
		vers   uint16
		shared bool
	}{
		{"TLS1.3 default", 0, VersionTLS13, true},
		{"TLS1.2 default", 0, VersionTLS12, true},
		{"TLS1.3 off", -1, VersionTLS13, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hooks := 0
			client := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.vers, VerifiedChainCacheSize: tc.size,
				SessionTicketsDisabled: true,
				VerifyPeerCertificate:  func([][]byte, [][]*x509.Certificate) error { hooks++; return nil }}
			var leaves []*x509.Certificate
			for range 2 {
				cerr, serr := pair(t, func(c net.Conn) error {
					cl := Client(c, client)
					defer cl.Close()
					if err := sendAndCheck(cl, []byte("again")); err != nil {
						return err
					}
					leaves = append(leaves, cl.ConnectionState().PeerCertificates[0])
					return nil
				}, func(c net.Conn) error {
					sv := Server(c, server)
					defer sv.Close()
					return echoOnce(sv)
				})
				if cerr != nil || serr != nil {
					t.Fatalf("client %v, server %v", cerr, serr)
				}
			}
			if got := leaves[0] == leaves[1]; got != tc.shared {
				t.Errorf("second connection reused the verified chain: %v, want %v", got, tc.shared)
			}
			if hooks != 2 {
				t.Errorf("VerifyPeerCertificate ran %d times in 2 handshakes", hooks)
			}
		})
	}
}

package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"testing"
)

// TestClientServerNameExtension checks what a Holdfast client puts in
// server_name (RFC 6066 §3): no IP literals, no trailing dot, while the
// certificate is still checked against Config.ServerName. A crypto/tls
// server reports what it received; one that got a trailing dot would have
// refused the ClientHello with decode_error.
func TestClientServerNameExtension(t *testing.T) {
	pki := newTestPKI(t)
	cert := toStd(pki.leaf(t, ecKey(t, elliptic.P256()), "server.test"))
	for _, tc := range []struct {
		serverName, sent string
		verifies         bool
	}{
		{"server.test", "server.test", true},
		{"server.test.", "server.test", true},
		{"127.0.0.1", "", false},
		{"::1", "", false},
		{"fe80::1%eth0", "", false},
	} {
		for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
			a, b := net.Pipe()
			got := make(chan string, 1)
			go func() {
				defer b.Close()
				tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert},
					GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
						got <- h.ServerName
						return nil, nil
					}}).Handshake()
			}()
			err := Client(a, &Config{ServerName: tc.serverName, RootCAs: pki.pool, MaxVersion: vers}).Handshake()
			a.Close()
			var sent string
			select {
			case sent = <-got:
			default:
				t.Fatalf("%q, version %x: the server never parsed the ClientHello (client: %v)", tc.serverName, vers, err)
			}
			if sent != tc.sent {
				t.Errorf("%q, version %x: server_name %q, want %q", tc.serverName, vers, sent, tc.sent)
			}
			if (err == nil) != tc.verifies {
				t.Errorf("%q, version %x: handshake error %v, want success %v", tc.serverName, vers, err, tc.verifies)
			}
		}
	}
}

package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/tickets"
)

// TLS 1.2 resumption by RFC 5077 ticket and by session ID, Holdfast on
// either side and crypto/tls on the other.
func TestResumption12(t *testing.T) {
	pki := newTestPKI(t)
	ring, err := tickets.NewRotatingKeyRing(time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	rsaCert := pki.leaf(t, rsaKey(t), "server.test")
	for _, tc := range []struct {
		name   string
		server *Config
		suite  uint16
	}{
		{"ticket", &Config{Certificates: []Certificate{cert}, TicketKeys: ring, MaxVersion: VersionTLS12}, 0},
		{"session-id", &Config{Certificates: []Certificate{cert}, SessionTicketsDisabled: true, MaxVersion: VersionTLS12}, 0},
		{"ticket/rsa-cbc-etm", &Config{Certificates: []Certificate{rsaCert}, TicketKeys: ring, MaxVersion: VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}}, tls.TLS_RSA_WITH_AES_128_CBC_SHA},
	} {
		t.Run(tc.name+"/holdfast-client", func(t *testing.T) {
			client := &Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: NewClientSessionCache(8)}
			if tc.suite != 0 {
				client.CipherSuites = []uint16{tc.suite}
			}
			if c, s := resumeOnce(t, holdfastResumingClient(client), tc.server); c || s {
				t.Fatalf("first connection resumed (client %v, server %v)", c, s)
			}
			for i := range 3 {
				if c, s := resumeOnce(t, holdfastResumingClient(client), tc.server); !c || !s {
					t.Fatalf("resumption %d: client %v, server %v", i, c, s)
				}
			}
		})
		if tc.name != "ticket" {
			// crypto/tls has no encrypt_then_mac, and its client resumes
			// TLS 1.2 only by ticket, never by session ID.
			continue
		}
		t.Run(tc.name+"/crypto-tls-client", func(t *testing.T) {
			client := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: tls.NewLRUClientSessionCache(8),
				MaxVersion: tls.VersionTLS12}
			resumeOnce(t, stdResumingClient(client), tc.server)
			if c, s := resumeOnce(t, stdResumingClient(client), tc.server); !c || !s {
				t.Fatalf("crypto/tls client: client %v, server %v", c, s)
			}
		})
	}
	t.Run("crypto-tls-server", func(t *testing.T) {
		std := &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, MaxVersion: tls.VersionTLS12}
		client := &Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: NewClientSessionCache(8)}
		run := func() bool {
			var resumed bool
			cerr, serr := pair(t, func(c net.Conn) error {
				var err error
				resumed, err = holdfastResumingClient(client)(c)
				return err
			}, func(c net.Conn) error {
				sv := tls.Server(c, std)
				defer sv.Close()
				return echoOnce(sv)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			return resumed
		}
		if run() {
			t.Fatal("first connection resumed")
		}
		if !run() {
			t.Fatal("holdfast client did not resume a TLS 1.2 session with crypto/tls")
		}
	})
}

// openssl s_client -sess_out / -sess_in against a TLS 1.2 Holdfast
// server: by session ID (with -no_ticket) and by ticket.
func TestResumption12OpenSSL(t *testing.T) {
	o := newOpenSSLPeer(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"ticket", nil},
		{"session-id", []string{"-no_ticket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Certificates: []Certificate{o.fx.keys[0].cert}}
			sess := filepath.Join(t.TempDir(), "session.pem")
			for i, flag := range []string{"-sess_out", "-sess_in"} {
				ln := interopListen(t)
				p := o.client12(t, nil, ln.Addr().String(), append([]string{flag, sess}, tc.args...)...)
				c, err := interopAccept(t, ln, cfg, p)
				if err != nil {
					t.Fatalf("connection %d: Holdfast server handshake: %v", i, err)
				}
				pingClient(t, c, p, "TLS 1.2 resumption ping")
				out := p.output()
				want := "New, TLSv1.2"
				if i == 1 {
					want = "Reused, TLSv1.2"
				}
				if !strings.Contains(out, want) || c.ConnectionState().DidResume != (i == 1) {
					t.Fatalf("connection %d: want %q, resumed %v; s_client:\n%s", i, want, c.ConnectionState().DidResume, out)
				}
			}
		})
	}
}

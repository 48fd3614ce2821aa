package holdfast

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/tickets"
)

// openssl s_client saves the session of a first connection (-sess_out)
// and offers it on a second (-sess_in); it reports "Reused" when the
// Holdfast server resumed.
func TestResumptionOpenSSL(t *testing.T) {
	o := newOpenSSLPeer(t)
	ring, err := tickets.NewRotatingKeyRing(time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	for _, tc := range []struct {
		name    string
		cfg     *Config
		args    []string
		noGroup bool
	}{
		{"TLS1.3", &Config{Certificates: []Certificate{o.fx.keys[0].cert}, TicketKeys: ring}, nil, false},
		{"TLS1.3-psk_ke", &Config{Certificates: []Certificate{o.fx.keys[0].cert}, TicketKeys: ring, AllowPSKOnlyResumption: true},
			[]string{"-allow_no_dhe_kex"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := filepath.Join(t.TempDir(), "session.pem")
			for i, flag := range []string{"-sess_out", "-sess_in"} {
				ln := interopListen(t)
				p := o.client(t, ln.Addr().String(), o.fx.caFile, append([]string{flag, sess}, tc.args...)...)
				c, err := interopAccept(t, ln, tc.cfg, p)
				if err != nil {
					t.Fatalf("connection %d: Holdfast server handshake: %v", i, err)
				}
				pingClient(t, c, p, "resumption ping")
				st := c.ConnectionState()
				out := p.output()
				if i == 0 {
					if st.DidResume || !strings.Contains(out, "New, TLSv1.3") {
						t.Fatalf("first connection: resumed %v\n%s", st.DidResume, out)
					}
					continue
				}
				if !st.DidResume || !strings.Contains(out, "Reused, TLSv1.3") {
					t.Fatalf("second connection: resumed %v; s_client:\n%s", st.DidResume, out)
				}
				if tc.noGroup != (st.CurveID == 0) {
					t.Fatalf("key exchange group %v on a %s resumption", st.CurveID, tc.name)
				}
			}
		})
	}
}

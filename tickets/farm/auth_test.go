package farm

import (
	"strings"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/redistest"
)

// A Redis that requires a password and speaks only TLS: nodes with the
// password and the CA share keys; a node with a wrong password gets none
// and logs Redis's refusal; one that does not trust the server's
// certificate gets none either.
func TestFarmRedisPasswordAndTLS(t *testing.T) {
	const password = "farm-redis-secret"
	e := newFarm(t, redistest.Options{Password: password, TLS: true})
	good := func() Config {
		cfg := fast()
		cfg.Password, cfg.TLSConfig = password, e.redis.ClientTLS()
		return cfg
	}
	a, b := e.node(good(), "kek"), e.node(good(), "kek")
	eventually(t, 5*time.Second, "no key published over TLS", func() bool { return len(a.Keys()) > 0 })
	first := a.Keys()[0]
	eventually(t, time.Second, "the second node lacks the key", func() bool { _, ok := names(b)[first.Name]; return ok })

	wrong := good()
	wrong.Password = "not-the-password"
	w := e.node(wrong, "kek")
	untrusting := good()
	untrusting.TLSConfig = untrusting.TLSConfig.Clone()
	untrusting.TLSConfig.RootCAs = nil // the system roots do not include the test CA
	u := e.node(untrusting, "kek")
	time.Sleep(3 * fast().PollInterval)
	if len(w.Keys()) != 0 || len(u.Keys()) != 0 {
		t.Fatalf("a node with a wrong password holds %d keys, one that distrusts the server %d", len(w.Keys()), len(u.Keys()))
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "WRONGPASS") {
		t.Errorf("the wrong password's refusal is not in the logs")
	}
	if !strings.Contains(logs, "certificate signed by unknown authority") {
		t.Errorf("the TLS verification failure is not in the logs")
	}
	if strings.Contains(logs, password) {
		t.Errorf("the Redis password appears in the logs")
	}
}

package farm

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/holdfast-tls/holdfast/internal/redistest"
	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/mem"
	"github.com/holdfast-tls/holdfast/signer"
	"github.com/holdfast-tls/holdfast/tickets"
)

// farmEnv is one farm: a real redis-server and a SoftHSM token holding
// the key-encryption key (and a second, wrong one).
type farmEnv struct {
	t     *testing.T
	redis *redistest.Server
	hsm   *softhsm.Token
	logs  *logBuffer

	mu   sync.Mutex
	held map[[tickets.NameSize]byte]*mem.Secret // every key any node installed
}

func newFarm(t *testing.T, opts redistest.Options) *farmEnv {
	t.Helper()
	tk := softhsm.New(t, nil)
	softhsm.AddKEK(t, tk, "kek", "a1")
	softhsm.AddKEK(t, tk, "wrong-kek", "a2")
	e := &farmEnv{t: t, redis: redistest.Start(t, opts), hsm: tk, logs: &logBuffer{},
		held: map[[tickets.NameSize]byte]*mem.Secret{}}
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, s := range e.held {
			s.Free()
		}
		if t.Failed() {
			t.Logf("provider logs:\n%s", e.logs)
		}
	})
	return e
}

// fast is a schedule short enough to watch several rotations.
func fast() Config {
	return Config{Period: 800 * time.Millisecond, Accept: 1, IntroDelay: 300 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, LeaseTTL: 600 * time.Millisecond}
}

// node starts a provider on the farm with the given KEK label. Each node
// opens the KEK itself, as separate machines would.
func (e *farmEnv) node(cfg Config, kek string) *Provider {
	e.t.Helper()
	w, err := signer.OpenWrapper(context.Background(), e.hsm.KEKURI(kek))
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Addr, cfg.Wrapper = e.redis.Addr(), w
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.onInstall = e.record
	p, err := New(context.Background(), cfg)
	if err != nil {
		w.Close()
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		p.Close()
		w.Close()
	})
	return p
}

// record keeps a locked copy of every installed key, for the scans.
func (e *farmEnv) record(name [tickets.NameSize]byte, key []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.held[name]; ok {
		return
	}
	s, err := mem.New(len(key))
	if err != nil {
		panic(err)
	}
	copy(s.Bytes(), key)
	e.held[name] = s
}

func (e *farmEnv) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: e.redis.Addr(), MaxRetries: -1})
	e.t.Cleanup(func() { c.Close() })
	return c
}

// logBuffer collects provider logs from every goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func names(p *Provider) map[[tickets.NameSize]byte]KeyInfo {
	out := map[[tickets.NameSize]byte]KeyInfo{}
	for _, k := range p.Keys() {
		out[k.Name] = k
	}
	return out
}

// A key the lease holder makes reaches every node before any node may
// seal with it, and a ticket one node seals opens on the others.
func TestFarmKeysReachEveryNode(t *testing.T) {
	e := newFarm(t, redistest.Options{})
	nodes := []*Provider{e.node(fast(), "kek"), e.node(fast(), "kek"), e.node(fast(), "kek")}
	eventually(t, 5*time.Second, "no key published", func() bool { return len(nodes[0].Keys()) > 0 })
	first := nodes[0].Keys()[0]
	if d := first.AcceptUntil.Sub(first.SealFrom); d != 2*fast().Period {
		t.Errorf("key accepted for %v after it seals, want Period*(1+Accept) = %v", d, 2*fast().Period)
	}
	for i, n := range nodes {
		eventually(t, time.Second, fmt.Sprintf("node %d lacks the key", i), func() bool { _, ok := names(n)[first.Name]; return ok })
		if time.Now().Before(first.SealFrom) {
			if _, err := n.Ring().Seal([]byte("x")); !errors.Is(err, tickets.ErrNoKey) {
				t.Errorf("node %d sealed before the key's introduction: %v", i, err)
			}
		}
	}
	eventually(t, 2*time.Second, "no node may seal", func() bool { return !time.Now().Before(first.SealFrom) })
	for i, a := range nodes {
		ticket, err := a.Ring().Seal([]byte("session state"))
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		for j, b := range nodes {
			dst := make([]byte, len(ticket)-tickets.Overhead)
			if n, err := b.Ring().Open(dst, ticket); err != nil || string(dst[:n]) != "session state" {
				t.Errorf("node %d's ticket on node %d: %v", i, j, err)
			}
		}
	}
	leaders := 0
	for _, n := range nodes {
		if n.Leader() {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d nodes hold the lease", leaders)
	}
}

// Keys rotate every Period; each is introduced IntroDelay before it seals;
// expired keys leave Redis and every ring.
func TestFarmRotationAndExpiry(t *testing.T) {
	e := newFarm(t, redistest.Options{})
	cfg := fast()
	a, b := e.node(cfg, "kek"), e.node(cfg, "kek")
	seen := map[[tickets.NameSize]byte]KeyInfo{}
	deadline := time.Now().Add(4*cfg.Period + cfg.IntroDelay + 500*time.Millisecond)
	rc := e.client()
	for time.Now().Before(deadline) {
		now := time.Now()
		for _, k := range a.Keys() {
			seen[k.Name] = k
		}
		for _, p := range []*Provider{a, b} {
			for _, n := range p.Ring().Names() {
				k, ok := seen[n]
				if ok && !now.Before(k.AcceptUntil.Add(20*time.Millisecond)) {
					t.Fatalf("ring still holds key %x %v after it expired", n, now.Sub(k.AcceptUntil))
				}
			}
		}
		recs, err := rc.HGetAll(context.Background(), DefaultKeyPrefix+"keys").Result()
		if err != nil {
			t.Fatal(err)
		}
		for f, v := range recs {
			r, err := decodeRecord(f, v)
			if err != nil {
				t.Fatalf("record %s: %v", f, err)
			}
			// The lease holder deletes within a lease step (LeaseTTL/3).
			if now.Sub(r.info.AcceptUntil) > cfg.LeaseTTL {
				t.Fatalf("Redis still holds key %s, expired %v ago", f, now.Sub(r.info.AcceptUntil))
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	var order []KeyInfo
	for _, k := range seen {
		order = append(order, k)
	}
	if len(order) < 4 {
		t.Fatalf("%d keys in %v of rotation, want at least 4", len(order), 4*cfg.Period)
	}
	sortInfos(order)
	for i := 1; i < len(order); i++ {
		gap := order[i].SealFrom.Sub(order[i-1].SealFrom)
		if gap < cfg.Period || gap > cfg.Period+cfg.LeaseTTL/3+200*time.Millisecond {
			t.Errorf("key %d seals %v after key %d, want about %v", i, gap, i-1, cfg.Period)
		}
	}
}

func sortInfos(k []KeyInfo) {
	for i := range k {
		for j := i + 1; j < len(k); j++ {
			if k[j].SealFrom.Before(k[i].SealFrom) {
				k[i], k[j] = k[j], k[i]
			}
		}
	}
}

// Two providers contend for the lease: one rotates at a time, the keys
// follow one schedule, and when the holder closes the other takes over.
func TestFarmLeaseContention(t *testing.T) {
	e := newFarm(t, redistest.Options{})
	cfg := fast()
	a, b := e.node(cfg, "kek"), e.node(cfg, "kek")
	eventually(t, 2*time.Second, "nobody took the lease", func() bool { return a.Leader() || b.Leader() })
	holder, other := a, b
	if b.Leader() {
		holder, other = b, a
	}
	end := time.Now().Add(3 * cfg.Period)
	for time.Now().Before(end) {
		if a.Leader() && b.Leader() {
			t.Fatal("both providers hold the lease")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !holder.Leader() {
		t.Fatal("the lease moved while its holder was healthy")
	}
	ks := other.Keys()
	sortInfos(ks)
	for i := 1; i < len(ks); i++ {
		if ks[i].SealFrom.Sub(ks[i-1].SealFrom) < cfg.Period {
			t.Fatalf("two keys %v apart: two rotators", ks[i].SealFrom.Sub(ks[i-1].SealFrom))
		}
	}
	holder.Close()
	eventually(t, cfg.LeaseTTL, "the other provider did not take the released lease", other.Leader)
	before := len(other.Keys())
	eventually(t, 2*cfg.Period, "the new holder does not rotate", func() bool {
		ks := other.Keys()
		return len(ks) > 0 && ks[len(ks)-1].SealFrom.After(time.Now().Add(-cfg.Period)) && len(e.heldCount()) >= before
	})
}

func (e *farmEnv) heldCount() map[[tickets.NameSize]byte]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[[tickets.NameSize]byte]bool{}
	for n := range e.held {
		out[n] = true
	}
	return out
}

// A node on the wrong KEK, and records altered in Redis, are refused with
// a clear log line naming the key; nothing crashes, nothing is installed.
func TestFarmWrongKEKAndAlteredRecords(t *testing.T) {
	e := newFarm(t, redistest.Options{})
	cfg := fast()
	cfg.Period = time.Minute // one key for the whole test
	cfg.IntroDelay, cfg.LeaseTTL = 200*time.Millisecond, 300*time.Millisecond
	good := e.node(cfg, "kek")
	eventually(t, 3*time.Second, "no key published", func() bool { return len(good.Keys()) == 1 })
	k := good.Keys()[0]
	field := hex.EncodeToString(k.Name[:])

	wrongCfg := cfg
	wrongCfg.KeyPrefix = DefaultKeyPrefix // same farm
	wrong := e.node(wrongCfg, "wrong-kek")
	if err := wrong.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(wrong.Keys()); n != 0 {
		t.Fatalf("the node on the wrong KEK installed %d keys", n)
	}
	if len(wrong.Ring().Names()) != 0 {
		t.Fatal("the wrong-KEK node's ring holds keys")
	}
	eventually(t, time.Second, "no log line about the key", func() bool {
		return strings.Contains(e.logs.String(), "does not unwrap") && strings.Contains(e.logs.String(), field)
	})
	if n := strings.Count(e.logs.String(), "key="+field); n > 3 {
		t.Errorf("the unwrap failure was logged %d times, want once per node", n)
	}

	// A Redis writer without the KEK stretches the key's life, moves it
	// to another name and plants junk: a fresh node takes none of it.
	rc := e.client()
	ctx := context.Background()
	v, err := rc.HGet(ctx, DefaultKeyPrefix+"keys", field).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := decodeRecord(field, string(v))
	longer := rec.info
	longer.AcceptUntil = longer.AcceptUntil.Add(time.Hour)
	moved := rec.info
	moved.Name[0] ^= 1
	junk := map[string]any{
		hex.EncodeToString(moved.Name[:]):    encodeRecord(moved, rec.wrapped),
		"not-a-name":                         "x",
		hex.EncodeToString(make([]byte, 16)): "\x01short",
	}
	if err := rc.HSet(ctx, DefaultKeyPrefix+"keys", junk).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.HSet(ctx, DefaultKeyPrefix+"keys", field, encodeRecord(longer, rec.wrapped)).Err(); err != nil {
		t.Fatal(err)
	}
	fresh := e.node(cfg, "kek")
	if err := fresh.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(fresh.Keys()); n != 0 {
		t.Fatalf("a fresh node installed %d altered keys: %v", n, fresh.Keys())
	}
	if !strings.Contains(e.logs.String(), "record was altered") {
		t.Error("no log line about the altered record")
	}
	if strings.Contains(e.logs.String(), "1234") {
		t.Error("a log line shows the PIN")
	}
}

// A node that starts later fetches the current set before New returns.
func TestFarmRestartedNodeFetchesAtStart(t *testing.T) {
	e := newFarm(t, redistest.Options{})
	cfg := fast()
	a := e.node(cfg, "kek")
	eventually(t, 3*time.Second, "fewer than two keys", func() bool { return len(a.Keys()) >= 2 })
	late := e.node(cfg, "kek") // no waiting: New fetched
	want, got := names(a), names(late)
	for n := range want {
		if _, ok := got[n]; !ok && time.Now().Before(want[n].AcceptUntil) {
			t.Errorf("the new node lacks key %x", n)
		}
	}
}

// Redis is stopped and started again, with and without its data: nodes
// keep sealing and opening with the keys they hold, reconnect, and the
// farm goes on rotating; no key is dropped because Redis forgot it.
func TestFarmRedisDownAndBack(t *testing.T) {
	for _, persist := range []bool{true, false} {
		// (SoftHSM's configuration file cannot hold a path with '='.)
		name := map[bool]string{true: "persistent", false: "volatile"}[persist]
		t.Run(name, func(t *testing.T) {
			e := newFarm(t, redistest.Options{Persist: persist})
			cfg := fast()
			cfg.Period, cfg.Accept = time.Second, 3
			a, b := e.node(cfg, "kek"), e.node(cfg, "kek")
			eventually(t, 3*time.Second, "no sealing key", func() bool { _, err := a.Ring().Seal(nil); return err == nil })
			before, err := a.Ring().Seal([]byte("before"))
			if err != nil {
				t.Fatal(err)
			}
			held := names(b)
			e.redis.Stop()
			time.Sleep(2 * cfg.Period) // rotation due: nobody can publish
			during, err := b.Ring().Seal([]byte("during"))
			if err != nil {
				t.Fatalf("node sealed nothing while Redis was down: %v", err)
			}
			for _, tk := range [][]byte{before, during} {
				for _, p := range []*Provider{a, b} {
					if _, err := p.Ring().Open(make([]byte, len(tk)), tk); err != nil {
						t.Fatalf("ticket did not open while Redis was down: %v", err)
					}
				}
			}
			if !strings.Contains(e.logs.String(), "Redis is unreachable") {
				t.Error("no log line says Redis is down")
			}
			e.redis.Start()
			eventually(t, 8*time.Second, "no new key after Redis came back", func() bool {
				for n := range names(b) {
					if _, old := held[n]; !old {
						return true
					}
				}
				return false
			})
			for n, k := range held {
				if _, ok := names(b)[n]; !ok && time.Now().Before(k.AcceptUntil) {
					t.Errorf("node dropped key %x after Redis came back", n)
				}
			}
			for _, tk := range [][]byte{before, during} {
				if _, err := a.Ring().Open(make([]byte, len(tk)), tk); err != nil {
					t.Errorf("ticket from before the restart: %v", err)
				}
			}
		})
	}
}

// Close ends every goroutine the provider (and go-redis under it)
// started, also after Redis went away.
func TestFarmCloseLeavesNoGoroutines(t *testing.T) {
	e := newFarm(t, redistest.Options{})
	w, err := signer.OpenWrapper(context.Background(), e.hsm.KEKURI("kek"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	base := runtime.NumGoroutine()
	cfg := fast()
	cfg.Addr, cfg.Wrapper, cfg.Logger = e.redis.Addr(), w, slog.New(slog.NewTextHandler(e.logs, nil))
	var ps []*Provider
	for range 3 {
		p, err := New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	eventually(t, 3*time.Second, "no key", func() bool { return len(ps[2].Keys()) > 0 })
	e.redis.Stop()
	time.Sleep(300 * time.Millisecond) // reconnection attempts under way
	for _, p := range ps {
		if err := p.Close(); err != nil && !strings.Contains(err.Error(), "closed") {
			t.Logf("Close: %v", err)
		}
		p.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", base, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := ps[0].Ring().Seal(nil); err == nil {
		t.Error("a closed provider's ring still seals")
	}
}

func TestConfigValidation(t *testing.T) {
	e := newFarm(t, redistest.Options{})
	w, err := signer.OpenWrapper(context.Background(), e.hsm.KEKURI("kek"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Wrapper: w}, "Addr"},
		{Config{Addr: e.redis.Addr()}, "Wrapper"},
		{Config{Addr: e.redis.Addr(), Wrapper: w, Period: -time.Second}, "negative"},
		{Config{Addr: e.redis.Addr(), Wrapper: w, IntroDelay: time.Second, PollInterval: time.Second}, "shorter than IntroDelay"},
		{Config{Addr: e.redis.Addr(), Wrapper: w, Period: time.Duration(1 << 61), Accept: 10}, "overflows"},
	} {
		if p, err := New(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			if p != nil {
				p.Close()
			}
			t.Errorf("Period %v IntroDelay %v PollInterval %v: %v, want %q", c.cfg.Period, c.cfg.IntroDelay, c.cfg.PollInterval, err, c.want)
		}
	}
}

package holdfast

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/redistest"
	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/signer"
	"github.com/holdfast-tls/holdfast/tickets"
	"github.com/holdfast-tls/holdfast/tickets/farm"
)

// The farm tests run Holdfast servers as separate OS processes (this
// test binary, re-executed in node mode) that share ticket keys through a
// real redis-server, wrapped under an AES key in SoftHSM, and drive them
// with a crypto/tls client.

const farmNodeEnv = "HOLDFAST_FARM_NODE"

func TestMain(m *testing.M) {
	if os.Getenv(farmNodeEnv) != "" {
		os.Exit(runFarmNode())
	}
	os.Exit(m.Run())
}

// farmSchedule is a farm's rotation, short enough to watch.
type farmSchedule struct {
	period, intro, poll, lease time.Duration
	accept                     int
}

func (s farmSchedule) config() farm.Config {
	return farm.Config{Period: s.period, Accept: s.accept, IntroDelay: s.intro, PollInterval: s.poll, LeaseTTL: s.lease}
}

// runFarmNode is a node process: a farm provider feeding a Holdfast
// server on a loopback port, which it prints; it echoes one line per
// connection and exits when its stdin closes.
func runFarmNode() int {
	ctx := context.Background()
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "farm node: %s: %v\n", what, err)
		return 1
	}
	env := os.Getenv
	w, err := signer.OpenWrapper(ctx, env("FARM_KEK"))
	if err != nil {
		return fail("opening the KEK", err)
	}
	defer w.Close()
	accept, _ := strconv.Atoi(env("FARM_ACCEPT"))
	dur := func(name string) time.Duration { d, _ := time.ParseDuration(env(name)); return d }
	p, err := farm.New(ctx, farm.Config{Addr: env("FARM_REDIS"), Wrapper: w, Period: dur("FARM_PERIOD"), Accept: accept,
		IntroDelay: dur("FARM_INTRO"), PollInterval: dur("FARM_POLL"), LeaseTTL: dur("FARM_LEASE"),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return fail("starting the provider", err)
	}
	defer p.Close()
	key, err := signer.Open(ctx, "file:"+env("FARM_KEY"))
	if err != nil {
		return fail("opening the server key", err)
	}
	defer key.Close()
	der, err := os.ReadFile(env("FARM_CERT"))
	if err != nil {
		return fail("reading the certificate", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return fail("parsing the certificate", err)
	}
	cfg := &Config{Certificates: []Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}, TicketKeys: p.Ring()}
	ln, err := Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		return fail("listening", err)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin) // the parent went away or is done
		ln.Close()
	}()
	var wg sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		wg.Go(func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err == nil {
				io.WriteString(c, line)
			}
		})
	}
	wg.Wait()
	return 0
}

// farmTest is one farm: Redis, the KEK, the server's certificate, and an
// observer provider in this process (a node too) that tells the test the
// keys' times.
type farmTest struct {
	t        *testing.T
	redis    *redistest.Server
	kekURI   string
	sched    farmSchedule
	certPath string
	keyPath  string
	roots    *x509.CertPool
	observer *farm.Provider
}

func newFarmTest(t *testing.T, sched farmSchedule) *farmTest {
	t.Helper()
	tk := softhsm.New(t, nil)
	softhsm.AddKEK(t, tk, "ticket-kek", "c1")
	f := &farmTest{t: t, redis: redistest.Start(t, redistest.Options{Persist: true}), kekURI: tk.KEKURI("ticket-kek"), sched: sched}
	pki := newTestPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := pki.leaf(t, key, "farm.test")
	dir := t.TempDir()
	f.certPath, f.keyPath = filepath.Join(dir, "cert.der"), filepath.Join(dir, "key.pem")
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.certPath, cert.Certificate[0], 0o600); err != nil {
		t.Fatal(err)
	}
	f.roots = pki.pool
	w, err := signer.OpenWrapper(context.Background(), f.kekURI)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sched.config()
	cfg.Addr, cfg.Wrapper, cfg.Logger = f.redis.Addr(), w, slog.New(slog.DiscardHandler)
	if f.observer, err = farm.New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.observer.Close()
		w.Close()
	})
	return f
}

// node starts a node process and returns its address.
func (f *farmTest) node(name string) string {
	t := f.t
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), farmNodeEnv+"=1", "FARM_KEK="+f.kekURI, "FARM_REDIS="+f.redis.Addr(),
		"FARM_CERT="+f.certPath, "FARM_KEY="+f.keyPath, "FARM_ACCEPT="+strconv.Itoa(f.sched.accept),
		"FARM_PERIOD="+f.sched.period.String(), "FARM_INTRO="+f.sched.intro.String(),
		"FARM_POLL="+f.sched.poll.String(), "FARM_LEASE="+f.sched.lease.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("node %s (pid %d) log:\n%s", name, cmd.Process.Pid, stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
		if !ok {
			t.Fatalf("node %s: %q\n%s", name, line, stderr.String())
		}
		return addr
	case <-time.After(20 * time.Second):
		t.Fatalf("node %s did not start:\n%s", name, stderr.String())
	}
	return ""
}

// sessionCapture is a client session cache that remembers the first
// ticket it was given and, once replay is set, offers only that one: the
// test decides which ticket (and so which key) a connection tries.
type sessionCapture struct {
	mu     sync.Mutex
	first  *tls.ClientSessionState
	last   *tls.ClientSessionState
	replay bool
}

func (c *sessionCapture) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replay {
		return c.first, c.first != nil
	}
	return c.last, c.last != nil
}

func (c *sessionCapture) Put(_ string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs == nil {
		return
	}
	if c.first == nil {
		c.first = cs
	}
	c.last = cs
}

// keyName is the name of the key that sealed the first ticket (a
// Holdfast ticket starts with it).
func (c *sessionCapture) keyName(t *testing.T) [tickets.NameSize]byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == nil {
		t.Fatal("no ticket received")
	}
	ticket, _, err := c.first.ResumptionState()
	if err != nil || len(ticket) < tickets.NameSize {
		t.Fatalf("ticket: %v", err)
	}
	return [tickets.NameSize]byte(ticket[:tickets.NameSize])
}

// connect runs one TLS 1.3 connection with crypto/tls and reports
// whether it resumed; it reads the echo, so the tickets have arrived.
func (f *farmTest) connect(addr string, cache tls.ClientSessionCache) bool {
	t := f.t
	t.Helper()
	cfg := &tls.Config{RootCAs: f.roots, ServerName: "farm.test", MinVersion: tls.VersionTLS13, ClientSessionCache: cache}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "hello farm\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "hello farm\n" {
		t.Fatalf("echo from %s: %q, %v", addr, line, err)
	}
	return c.ConnectionState().DidResume
}

// waitSealing waits until the farm has a key that seals now.
func (f *farmTest) waitSealing() {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := f.observer.Ring().Seal(nil); err == nil {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatal("no ticket key seals")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *farmTest) info(name [tickets.NameSize]byte) farm.KeyInfo {
	f.t.Helper()
	for _, k := range f.observer.Keys() {
		if k.Name == name {
			return k
		}
	}
	f.t.Fatalf("the farm does not know key %s", hex.EncodeToString(name[:]))
	return farm.KeyInfo{}
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// A ticket issued by process A resumes on process B, and the other way.
func TestFarmResumesAcrossProcesses(t *testing.T) {
	f := newFarmTest(t, farmSchedule{period: 2 * time.Second, accept: 2, intro: 400 * time.Millisecond,
		poll: 100 * time.Millisecond, lease: 1500 * time.Millisecond})
	a, b := f.node("A"), f.node("B")
	f.waitSealing()
	cache := tls.NewLRUClientSessionCache(8)
	if f.connect(a, cache) {
		t.Fatal("the first connection resumed")
	}
	if !f.connect(b, cache) {
		t.Fatal("a ticket from process A did not resume on process B")
	}
	if !f.connect(a, cache) {
		t.Fatal("a ticket from process B did not resume on process A")
	}
}

// After rotation an old ticket resumes on every node inside its key's
// acceptance window, and falls back to a full handshake after it.
func TestFarmRotationWindow(t *testing.T) {
	sched := farmSchedule{period: 1500 * time.Millisecond, accept: 1, intro: 400 * time.Millisecond,
		poll: 100 * time.Millisecond, lease: time.Second}
	f := newFarmTest(t, sched)
	a, b := f.node("A"), f.node("B")
	f.waitSealing()
	old := &sessionCapture{}
	if f.connect(a, old) {
		t.Fatal("the first connection resumed")
	}
	k := f.info(old.keyName(t))
	old.replay = true
	// Wait for the next key to take over sealing.
	deadline := time.Now().Add(3 * sched.period)
	for next := false; !next; time.Sleep(20 * time.Millisecond) {
		for _, n := range f.observer.Keys() {
			next = next || (n.SealFrom.After(k.SealFrom) && time.Now().After(n.SealFrom.Add(50*time.Millisecond)))
		}
		if time.Now().After(deadline) {
			t.Fatal("no key took over sealing")
		}
	}
	fresh := &sessionCapture{}
	f.connect(b, fresh)
	if fresh.keyName(t) == k.Name {
		t.Fatalf("no rotation: %v after the key began sealing it still seals", time.Since(k.SealFrom))
	}
	for _, addr := range []string{b, a} {
		if time.Until(k.AcceptUntil) < 300*time.Millisecond {
			t.Fatal("too slow: the acceptance window closed before the check")
		}
		if !f.connect(addr, old) {
			t.Fatalf("an old ticket did not resume on %s inside its window (%v left)", addr, time.Until(k.AcceptUntil))
		}
	}
	sleepUntil(k.AcceptUntil.Add(100 * time.Millisecond))
	for _, addr := range []string{a, b} {
		if f.connect(addr, old) {
			t.Fatalf("a ticket resumed on %s %v after its key's window closed", addr, time.Since(k.AcceptUntil))
		}
	}
	if !f.connect(a, fresh) {
		t.Fatal("a current ticket did not resume")
	}
}

// Redis stops mid-test and comes back: tickets issued before and during
// the outage keep resuming on both processes while their windows allow,
// and the farm rotates again afterwards.
func TestFarmRedisRestart(t *testing.T) {
	sched := farmSchedule{period: 1500 * time.Millisecond, accept: 5, intro: 400 * time.Millisecond,
		poll: 100 * time.Millisecond, lease: time.Second}
	f := newFarmTest(t, sched)
	a, b := f.node("A"), f.node("B")
	f.waitSealing()
	before := &sessionCapture{}
	f.connect(a, before)
	before.replay = true
	kBefore := f.info(before.keyName(t))
	held := map[[tickets.NameSize]byte]bool{}
	for _, k := range f.observer.Keys() {
		held[k.Name] = true
	}

	f.redis.Stop()
	if !f.connect(b, before) {
		t.Fatal("with Redis down, B did not resume A's ticket")
	}
	during := &sessionCapture{}
	if f.connect(b, during) {
		t.Fatal("a fresh client resumed")
	}
	during.replay = true
	time.Sleep(sched.period) // a rotation falls due while Redis is down
	if !f.connect(a, during) {
		t.Fatal("with Redis down, A did not resume a ticket B issued during the outage")
	}
	f.redis.Start()

	deadline := time.Now().Add(10 * time.Second)
	for rotated := false; !rotated; {
		for _, k := range f.observer.Keys() {
			rotated = rotated || !held[k.Name]
		}
		if time.Now().After(deadline) {
			t.Fatal("no new key after Redis came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	kDuring := f.info(during.keyName(t))
	for _, c := range []struct {
		what  string
		cache *sessionCapture
		k     farm.KeyInfo
	}{{"before the outage", before, kBefore}, {"during the outage", during, kDuring}} {
		for _, addr := range []string{a, b} {
			if time.Until(c.k.AcceptUntil) < 300*time.Millisecond {
				t.Fatalf("too slow: the window of the ticket issued %s closed", c.what)
			}
			if !f.connect(addr, c.cache) {
				t.Fatalf("after Redis came back, a ticket issued %s did not resume on %s", c.what, addr)
			}
		}
	}
	f.waitSealing()
	after := &sessionCapture{}
	f.connect(a, after)
	after.replay = true
	if !f.connect(b, after) {
		t.Fatal("a ticket issued after the restart did not resume on the other process")
	}
}

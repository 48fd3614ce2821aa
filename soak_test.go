//go:build linux

package holdfast

import (
	"bufio"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// soakSize is how many connections each soak round holds open at once and
// how many rounds run. CI's soak step sets HOLDFAST_SOAK=1 for the full
// 10,000 × 5; the ordinary test run (and -race, whose shadow memory and
// slowdown make 20,000 sockets impractical) holds 500 for 2 rounds.
func soakSize() (conns, rounds int) {
	if os.Getenv("HOLDFAST_SOAK") == "1" && !residue.RaceEnabled {
		return 10000, 5
	}
	return 500, 2
}

// raiseFileLimit lets the process hold n descriptors, within the hard
// limit (raising that needs CAP_SYS_RESOURCE, which this machine's root
// does not have: its hard limit is 20,000).
func raiseFileLimit(t *testing.T, n int) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	want := uint64(n + 256)
	if lim.Cur >= want {
		return
	}
	if lim.Max < want {
		t.Fatalf("RLIMIT_NOFILE hard limit %d is below the %d descriptors the soak needs (raising it needs CAP_SYS_RESOURCE)", lim.Max, want)
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising RLIMIT_NOFILE to %d: %v", want, err)
	}
}

// soakClientEnv makes the test binary the client side of the soak: it
// dials HOLDFAST_SOAK_ADDR n times, checks a sample of the connections
// carry data, says "ready", and closes them all when told "close". The
// clients live in their own process because one process here may hold at
// most 20,000 descriptors, and both ends of 10,000 connections need more.
const soakClientEnv = "HOLDFAST_SOAK_CLIENT"

func TestSoakClient(t *testing.T) {
	if os.Getenv(soakClientEnv) == "" {
		return // only a child started by TestSoakManyConnections runs this
	}
	n, _ := strconv.Atoi(os.Getenv(soakClientEnv))
	raiseFileLimit(t, n)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(os.Getenv("HOLDFAST_SOAK_CA"))) {
		t.Fatal("no CA")
	}
	client := &Config{RootCAs: pool, ServerName: "server.test"}
	conns := make([]*Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64) // dial in waves: the listen backlog is finite
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := Dial("tcp", os.Getenv("HOLDFAST_SOAK_ADDR"), client)
			if err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := 0; i < n; i += max(1, n/50) {
		if err := sendAndCheck(conns[i], []byte("still here")); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	fmt.Println("ready")
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "close" {
		t.Fatalf("told %q", line)
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestSoakManyConnections holds many established TLS 1.3 connections at
// once against a Holdfast server in this process (the clients, Holdfast
// too, in a child process), checks they carry data, measures locked
// memory and heap per connection and the handshake rate while they are
// open, then closes them all: no goroutine is left and locked memory
// returns to where it started, round after round.
func TestSoakManyConnections(t *testing.T) {
	if os.Getenv(soakClientEnv) != "" {
		return
	}
	n, rounds := soakSize()
	raiseFileLimit(t, n)
	pki := newTestPKI(t)
	server := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")}, SessionTicketsDisabled: true}
	client := &Config{RootCAs: pki.pool, ServerName: "server.test"}
	ln, err := Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The server echoes until its peer closes.
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	// One connection first, so that whatever the stack sets up once per
	// process (cached public constants of the key schedule) is in the
	// baseline.
	if c, err := Dial("tcp", ln.Addr().String(), client); err != nil {
		t.Fatal(err)
	} else {
		sendAndCheck(c, []byte("warm up"))
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	baseGoroutines := runtime.NumGoroutine()
	baseSecrets := mem.Default().Stats().LiveSecrets
	var baseHeap runtime.MemStats
	runtime.ReadMemStats(&baseHeap)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.caCert.Raw})

	const hmacCacheBound = 2 * 16 // hkdf's idle HMAC states, SHA-256 and SHA-384
	for round := range rounds {
		child := exec.Command(os.Args[0], "-test.run=^TestSoakClient$", "-test.timeout=10m")
		child.Env = append(os.Environ(), soakClientEnv+"="+strconv.Itoa(n), "HOLDFAST_SOAK_ADDR="+ln.Addr().String(),
			"HOLDFAST_SOAK_CA="+string(caPEM))
		stdin, _ := child.StdinPipe()
		stdout, _ := child.StdoutPipe()
		child.Stderr = os.Stderr
		start := time.Now()
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		out := bufio.NewReader(stdout)
		if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
			child.Process.Kill()
			child.Wait()
			t.Fatalf("round %d: the clients did not get ready (%q, %v)", round, line, err)
		}
		established := time.Since(start)
		runtime.GC()
		var heap runtime.MemStats
		runtime.ReadMemStats(&heap)
		st := mem.Default().Stats()
		lockedPerConn := float64(st.LiveBytes) / float64(n)
		heapPerConn := float64(int64(heap.HeapAlloc)-int64(baseHeap.HeapAlloc)) / float64(n)
		// The handshake rate while they are all open.
		const extra = 100
		hs := time.Now()
		for range extra {
			c, err := Dial("tcp", ln.Addr().String(), client)
			if err != nil {
				t.Fatalf("handshake while %d are open: %v", n, err)
			}
			c.Close()
		}
		rate := float64(extra) / time.Since(hs).Seconds()
		t.Logf("round %d: %d connections established in %v; server side: %.0f locked bytes per connection (%d live secrets, %d bytes locked in %d arenas), heap %.1f KiB per connection, %d goroutines; %.0f handshakes/s while they are open",
			round, n, established.Round(time.Millisecond), lockedPerConn, st.LiveSecrets, st.LockedBytes, st.Arenas, heapPerConn/1024, runtime.NumGoroutine(), rate)
		if lockedPerConn > 256 {
			t.Errorf("%.0f locked bytes per connection, budget 256", lockedPerConn)
		}
		io.WriteString(stdin, "close\n")
		if err := child.Wait(); err != nil {
			t.Fatalf("round %d: client process: %v", round, err)
		}
		// Wait for the server to notice every close. hkdf keeps up to 16
		// scrubbed HMAC scratch states per hash for reuse (they hold no
		// secret between uses) and concurrency fills that cache at its own
		// pace, so every round must come back within the baseline plus
		// that bound: a leak of even a few secrets per round would pass it
		// within the five rounds, one per connection at once.
		deadline := time.Now().Add(30 * time.Second)
		for {
			runtime.GC()
			g, s := runtime.NumGoroutine(), mem.Default().Stats().LiveSecrets
			if g <= baseGoroutines && s <= baseSecrets+hmacCacheBound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: after closing, %d goroutines (baseline %d) and %d live secrets (baseline %d)", round, g, baseGoroutines, s, baseSecrets)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// memlockChildEnv runs TestMemlockExhaustionUnderLoad's child part.
const memlockChildEnv = "HOLDFAST_MEMLOCK_CHILD"

// When the lock limit runs out under load, new handshakes fail with mem's
// clear error, established connections keep working, and new handshakes
// succeed again once connections close. The child runs under a small
// RLIMIT_MEMLOCK without CAP_IPC_LOCK, which root would otherwise use to
// ignore the limit.
func TestMemlockExhaustionUnderLoad(t *testing.T) {
	if os.Getenv(memlockChildEnv) == "1" {
		memlockChild(t)
		return
	}
	for _, tool := range []string{"prlimit", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (util-linux; ci/test.sh installs it): %v", tool, err)
		}
	}
	cmd := exec.Command("prlimit", "--memlock=262144:262144", "--",
		"setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock", "--",
		os.Args[0], "-test.run=^TestMemlockExhaustionUnderLoad$", "-test.v")
	cmd.Env = append(os.Environ(), memlockChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
}

func memlockChild(t *testing.T) {
	pki := newTestPKI(t)
	server := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")}, SessionTicketsDisabled: true}
	client := &Config{RootCAs: pki.pool, ServerName: "server.test"}
	ln, err := Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverErrs := make(chan error, 1<<16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*Conn).Handshake(); err != nil {
					serverErrs <- err
					return
				}
				io.Copy(c, c)
			}()
		}
	}()
	var open []*Conn
	var lockErr error
	for len(open) < 100000 {
		c, err := Dial("tcp", ln.Addr().String(), client)
		if err == nil {
			err = c.Handshake()
		}
		if err != nil {
			if c != nil {
				c.Close()
			}
			lockErr = err
			break
		}
		open = append(open, c)
	}
	var le *mem.LockError
	if lockErr == nil || !errors.As(lockErr, &le) {
		// The client may see the server's alert rather than the lock
		// error; then the server's own error must be the lock error.
		select {
		case serr := <-serverErrs:
			if !errors.As(serr, &le) {
				t.Fatalf("after %d connections: client %v, server %v; want *mem.LockError", len(open), lockErr, serr)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("after %d connections: %v; want *mem.LockError", len(open), lockErr)
		}
	}
	t.Logf("the lock limit ran out after %d established connections: %v", len(open), le)
	for i, c := range open {
		if err := sendAndCheck(c, []byte("established "+strconv.Itoa(i))); err != nil {
			t.Fatalf("established connection %d broke when the limit ran out: %v", i, err)
		}
	}
	for _, c := range open[:len(open)/2] {
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := Dial("tcp", ln.Addr().String(), client)
		if err == nil {
			err = c.Handshake()
			c.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after closing half the connections: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range open[len(open)/2:] {
		c.Close()
	}
}

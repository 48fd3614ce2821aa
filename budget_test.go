package holdfast

import (
	"crypto/elliptic"
	"net"
	"testing"

	"github.com/holdfast-tls/holdfast/mem"
)

// lockedInUse sums the slot sizes of every live secret in the default
// pool: the locked memory they actually hold, size-class rounding
// included.
func lockedInUse() int {
	n := 0
	mem.Default().LiveRanges(func(start, end uintptr) { n += int(end - start) })
	return n
}

// The foundation's budget: a connection's steady-state secrets cost at
// most 256 bytes of locked memory per side, so 30,000 connections fit in
// 8 MiB of RLIMIT_MEMLOCK.
func TestSteadyStateLockedBytesPerConnection(t *testing.T) {
	pki := newTestPKI(t)
	ec := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	rsa := pki.leaf(t, rsaKey(t), "server.test")
	const conns = 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct {
		name   string
		cert   Certificate
		max    uint16
		suite  uint16
		budget int
	}{
		{"TLS1.3/AES-128-GCM-SHA256", ec, VersionTLS13, TLS_AES_128_GCM_SHA256, 256},
		{"TLS1.3/AES-256-GCM-SHA384", ec, VersionTLS13, TLS_AES_256_GCM_SHA384, 256},
		{"TLS1.2/ECDHE-ECDSA-AES128-GCM", ec, VersionTLS12, 0xc02b, 256},
		// The legacy CBC suites keep only HMAC's two chaining values per
		// direction; the working buffers come from a shared pool.
		{"TLS1.2/RSA-AES128-CBC-SHA", rsa, VersionTLS12, 0x002f, 256},
	} {
		t.Run(c.name, func(t *testing.T) {
			var open []*Conn
			defer func() {
				for _, c := range open {
					c.Close()
				}
			}()
			before := lockedInUse()
			for range conns {
				// Loopback TCP: Close's close_notify must not block.
				a, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				b, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				cl := Client(a, &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: c.max, CipherSuites: []uint16{c.suite}})
				sv := Server(b, &Config{Certificates: []Certificate{c.cert}, CipherSuites: []uint16{c.suite}})
				done := make(chan error, 1)
				go func() { done <- sv.Handshake() }()
				if err := cl.Handshake(); err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				open = append(open, cl, sv)
			}
			perSide := float64(lockedInUse()-before) / float64(2*conns)
			t.Logf("%s: %.0f locked bytes per connection side", c.name, perSide)
			if perSide > float64(c.budget) {
				t.Fatalf("%s: %.0f locked bytes per connection side, budget %d", c.name, perSide, c.budget)
			}
		})
	}
}

//go:build cgo

package holdfast

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/signer"
)

// The PKCS#11 benchmarks compare, in one run and on the same SoftHSM keys,
// Holdfast's backend with the incumbent: crypto/tls with crypto11 as the
// Signer. Raw signatures per second through each backend, and full TLS 1.3
// handshakes per second with the key in SoftHSM and with a key of the same
// type in process, at concurrency 1, GOMAXPROCS and 8:
//
//	go test -run '^$' -bench 'PKCS11' -benchtime 3s .

// hsmBench holds the token and the keys opened through both backends.
type hsmBench struct {
	tk   *softhsm.Token
	c11  *crypto11.Context
	ours map[string]signer.Key
	inc  map[string]crypto11.Signer
	soft map[string]crypto.Signer
}

var hsmKeyTypes = []struct{ label, typ string }{
	{"P256", "EC:prime256v1"},
	{"RSA2048", "rsa:2048"},
	{"RSA4096", "rsa:4096"},
}

func newHSMBench(b *testing.B) *hsmBench {
	b.Helper()
	keys := map[string]string{}
	for _, k := range hsmKeyTypes {
		keys[k.label] = k.typ
	}
	h := &hsmBench{tk: softhsm.New(b, keys), ours: map[string]signer.Key{}, inc: map[string]crypto11.Signer{}, soft: map[string]crypto.Signer{}}
	// crypto11 insists on initialising the module itself, so it goes
	// first; Holdfast shares an initialised module and leaves C_Finalize
	// to its owner.
	pin := "1234"
	c11, err := crypto11.Configure(&crypto11.Config{Path: h.tk.Module, TokenLabel: h.tk.Label, Pin: pin})
	if err != nil {
		b.Fatalf("crypto11: %v", err)
	}
	h.c11 = c11
	b.Cleanup(func() { c11.Close() })
	for _, k := range hsmKeyTypes {
		key, err := signer.Open(context.Background(), h.tk.URI(k.label))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { key.Close() })
		h.ours[k.label] = key
		s, err := c11.FindKeyPair(nil, []byte(k.label))
		if err != nil || s == nil {
			b.Fatalf("crypto11 FindKeyPair %s: %v", k.label, err)
		}
		h.inc[k.label] = s
		switch k.label {
		case "P256":
			h.soft[k.label] = ecKey(b, elliptic.P256())
		case "RSA2048":
			h.soft[k.label] = rsaKey(b)
		case "RSA4096":
			rk, err := rsa.GenerateKey(rand.Reader, 4096)
			if err != nil {
				b.Fatal(err)
			}
			h.soft[k.label] = rk
		}
	}
	return h
}

// concurrencies are the levels every PKCS#11 benchmark runs at.
func concurrencies() []int {
	return []int{1, runtime.GOMAXPROCS(0), 8}
}

// runConcurrent splits b.N operations over n goroutines and reports
// operations per second.
func runConcurrent(b *testing.B, n int, op func() error) {
	b.ReportAllocs()
	cpu0 := processCPU()
	wall, err := runBlock(n, b.N, op)
	if err != nil {
		b.Error(err)
	}
	b.ReportMetric(float64(b.N)/wall.Seconds(), "ops/s")
	// How busy the process kept the machine: with the token in process,
	// a handshake rate below the sign rate at full cores means other work,
	// below it at fewer cores means the token sat idle.
	b.ReportMetric((processCPU()-cpu0).Seconds()/wall.Seconds(), "cores")
}

// runBlock runs op total times on n goroutines and returns the wall time
// it took and the first error.
func runBlock(n, total int, op func() error) (time.Duration, error) {
	var mu sync.Mutex
	left := total
	var first error
	take := func() bool {
		mu.Lock()
		defer mu.Unlock()
		left--
		return left >= 0 && first == nil
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for take() {
				if err := op(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), first
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func signOpts(pub crypto.PublicKey) crypto.SignerOpts {
	if _, ok := pub.(*rsa.PublicKey); ok {
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	}
	return crypto.SHA256
}

// BenchmarkPKCS11Sign is raw signing through Holdfast's pkcs11: backend
// and through crypto11, on the same SoftHSM keys (RSA keys sign PSS, as
// TLS 1.3 does).
func BenchmarkPKCS11Sign(b *testing.B) {
	h := newHSMBench(b)
	digest := sha256.Sum256([]byte("benchmark"))
	for _, k := range hsmKeyTypes {
		for _, n := range concurrencies() {
			for _, be := range []struct {
				name string
				s    crypto.Signer
			}{{"holdfast", h.ours[k.label]}, {"crypto11", h.inc[k.label]}} {
				b.Run(fmt.Sprintf("%s/%s/c=%d", k.label, be.name, n), func(b *testing.B) {
					opts := signOpts(be.s.Public())
					runConcurrent(b, n, func() error {
						_, err := be.s.Sign(rand.Reader, digest[:], opts)
						return err
					})
				})
			}
		}
	}
}

// BenchmarkPKCS11Handshake is full TLS 1.3 handshakes per second against
// a server whose key is in SoftHSM or in process: Holdfast with its
// backend, crypto/tls with crypto11. Each stack's server is driven by its
// own client, as a deployment of either would be; Holdfast's server is
// also measured with the crypto/tls client, which spends more CPU per
// handshake (it verifies the chain every time and an RSA-4096 signature
// at 0.29 ms against Holdfast's 0.11).
func BenchmarkPKCS11Handshake(b *testing.B) {
	h := newHSMBench(b)
	pki := newTestPKI(b)
	for _, k := range hsmKeyTypes {
		for _, n := range concurrencies() {
			for _, srv := range []struct {
				name      string
				key       crypto.Signer
				std       bool // a crypto/tls server
				stdClient bool // a crypto/tls client
			}{
				{"holdfast-softhsm", h.ours[k.label], false, false},
				{"holdfast-inprocess", h.soft[k.label], false, false},
				{"holdfast-softhsm-stdclient", h.ours[k.label], false, true},
				{"cryptotls-crypto11", h.inc[k.label], true, true},
				{"cryptotls-inprocess", h.soft[k.label], true, true},
			} {
				b.Run(fmt.Sprintf("%s/%s/c=%d", k.label, srv.name, n), func(b *testing.B) {
					addr := startHandshakeServer(b, pki, srv.key, srv.std)
					runConcurrent(b, n, handshakeClient(pki, addr, srv.stdClient))
				})
			}
		}
	}
}

// startHandshakeServer serves TLS 1.3 handshakes with key on loopback,
// from Holdfast or (std) crypto/tls, until the benchmark ends.
func startHandshakeServer(b *testing.B, pki *testPKI, key crypto.Signer, std bool) string {
	cert := pki.leaf(b, key, "server.test")
	var ln net.Listener
	var err error
	if std {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{toStd(cert)},
			MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true})
	} else {
		// No tickets, as on the crypto/tls server.
		ln, err = Listen("tcp", "127.0.0.1:0", &Config{Certificates: []Certificate{cert}, MinVersion: VersionTLS13,
			SessionTicketsDisabled: true})
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go serveHandshakes(ln)
	return ln.Addr().String()
}

// handshakeClient returns an operation that makes one full TLS 1.3
// handshake with the server at addr, from Holdfast or (std) crypto/tls.
func handshakeClient(pki *testPKI, addr string, std bool) func() error {
	if std {
		client := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: tls.VersionTLS13,
			CurvePreferences: []tls.CurveID{tls.X25519}, SessionTicketsDisabled: true}
		return func() error {
			c, err := tls.Dial("tcp", addr, client)
			if err != nil {
				return err
			}
			return c.Close()
		}
	}
	ours := &Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: VersionTLS13,
		CurvePreferences: []CurveID{X25519}}
	return func() error {
		c, err := Dial("tcp", addr, ours)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// serveHandshakes completes the handshake of every accepted connection
// and closes it.
func serveHandshakes(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			c.(interface{ Handshake() error }).Handshake()
		}()
	}
}

// BenchmarkPKCS11SessionsAfterSerialSigns counts the sessions each backend
// leaves open on the token after b.N signatures from one goroutine, read
// from the token itself (CK_TOKEN_INFO.ulSessionCount).
func BenchmarkPKCS11SessionsAfterSerialSigns(b *testing.B) {
	h := newHSMBench(b)
	digest := sha256.Sum256([]byte("count"))
	for _, be := range []struct {
		name string
		s    crypto.Signer
	}{{"holdfast", h.ours["P256"]}, {"crypto11", h.inc["P256"]}} {
		b.Run(be.name, func(b *testing.B) {
			before := tokenSessions(b, h.tk)
			for b.Loop() {
				if _, err := be.s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
			after := tokenSessions(b, h.tk)
			b.Logf("%s: %d sessions on the token before, %d after %d signatures", be.name, before, after, b.N)
			b.ReportMetric(float64(after-before), "sessions")
		})
	}
}

// tokenSessions counts the sessions open in this process's instance of
// the module, whichever library opened them. SoftHSM does not fill in
// CK_TOKEN_INFO.ulSessionCount, but its session handles are small
// integers, so each handle is asked about with C_GetSessionInfo.
func tokenSessions(b *testing.B, tk *softhsm.Token) int {
	b.Helper()
	ctx := pkcs11.New(tk.Module)
	if err := ctx.Initialize(); err != nil && err != pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		b.Fatal(err)
	}
	n := 0
	for h := pkcs11.SessionHandle(1); h < 1<<14; h++ {
		if _, err := ctx.GetSessionInfo(h); err == nil {
			n++
		}
	}
	return n
}

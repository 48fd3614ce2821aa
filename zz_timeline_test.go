//go:build cgo

package holdfast

import (
	"crypto"
	"crypto/tls"
	"fmt"
	"io"
	"sort"
	"sync"
	"testing"
	"time"
)

type timedSigner struct {
	crypto.Signer
	mark func(string)
}

func (s timedSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	s.mark("sign-start")
	sig, err := s.Signer.Sign(r, d, o)
	s.mark("sign-end")
	return sig, err
}


func BenchmarkZZTimeline(b *testing.B) {
	h := newHSMBench(b)
	pki := newTestPKI(b)
	var mu sync.Mutex
	var t0 time.Time
	ev := map[string][]float64{}
	cur := map[string]float64{}
	mark := func(name string) {
		mu.Lock()
		cur[name] = float64(time.Since(t0).Microseconds())
		mu.Unlock()
	}
	key := timedSigner{h.ours["RSA4096"], mark}
	cert := pki.leaf(b, h.ours["RSA4096"], "server.test")
	cert.PrivateKey = key
	srvCfg := &Config{Certificates: []Certificate{cert}, MinVersion: VersionTLS13, SessionTicketsDisabled: true,
		HandshakeTrace: func(sent bool, msg []byte) { mark(fmt.Sprintf("srv-%v-%d", map[bool]string{true: "sent", false: "got"}[sent], msg[0])) }}
	ln, err := Listen("tcp", "127.0.0.1:0", srvCfg)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				mark("srv-accepted")
				c.(interface{ Handshake() error }).Handshake()
				mark("srv-done")
			}()
		}
	}()
	cl := &Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: VersionTLS13, CurvePreferences: []CurveID{X25519},
		HandshakeTrace: func(sent bool, msg []byte) { mark(fmt.Sprintf("cli-%v-%d", map[bool]string{true: "sent", false: "got"}[sent], msg[0])) }}
	_ = tls.VersionTLS13
	for i := 0; i < b.N; i++ {
		mu.Lock()
		t0 = time.Now()
		cur = map[string]float64{}
		mu.Unlock()
		c, err := Dial("tcp", ln.Addr().String(), cl)
		if err != nil {
			b.Fatal(err)
		}
		mark("cli-done")
		c.Close()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		for k, v := range cur {
			ev[k] = append(ev[k], v)
		}
		mu.Unlock()
	}
	if b.N < 50 {
		return
	}
	type kv struct {
		k string
		v float64
	}
	var out []kv
	for k, vs := range ev {
		sort.Float64s(vs)
		out = append(out, kv{k, vs[len(vs)/2]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].v < out[j].v })
	for _, e := range out {
		b.Logf("%-16s %8.0f µs (n=%d)", e.k, e.v, len(ev[e.k]))
	}
}

package holdfast

import (
	"crypto"
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// BenchmarkHandshakePaired compares full TLS 1.3 handshakes, Holdfast
// against crypto/tls, on the same keys and work as BenchmarkHandshake,
// but interleaved: each op is a block of handshakes by each stack in turn
// (the first stack alternating), so both rates come from the same span of
// time. On this machine the speed of the signature itself drifts by
// 10–20% between benchmarks run seconds apart, which BenchmarkHandshake's
// sub-benchmarks, measured one after the other, take as a difference
// between the stacks. Reported: each stack's handshakes per second over
// all its blocks, and their ratio.
//
//	go test -run '^$' -bench 'HandshakePaired' -benchtime 400x -count 5 .
func BenchmarkHandshakePaired(b *testing.B) {
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"P256", ecKey(b, elliptic.P256())}, {"RSA2048", rsaKey(b)}} {
		e := newBenchEnds(b, k.key)
		b.Run(k.name, func(b *testing.B) {
			ln := benchListener(b)
			stacks := []struct {
				name           string
				server, client func(net.Conn) handshaker
			}{
				{"holdfast", func(c net.Conn) handshaker { return Server(c, e.hfServer) },
					func(c net.Conn) handshaker { return Client(c, e.hfClient) }},
				{"crypto-tls", func(c net.Conn) handshaker { return tls.Server(c, e.stdServer) },
					func(c net.Conn) handshaker { return tls.Client(c, e.stdClient) }},
			}
			const block = 10
			spent := make([]time.Duration, len(stacks))
			for _, s := range stacks {
				handshakeOnce(b, ln, s.server, s.client) // caches warm
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				for j := range stacks {
					n := (i + j) % len(stacks)
					start := time.Now()
					for range block {
						handshakeOnce(b, ln, stacks[n].server, stacks[n].client)
					}
					spent[n] += time.Since(start)
				}
			}
			rates := make([]float64, len(stacks))
			for n, s := range stacks {
				rates[n] = float64(b.N*block) / spent[n].Seconds()
				b.ReportMetric(rates[n], s.name+"-handshakes/s")
			}
			b.ReportMetric(rates[0]/rates[1], "holdfast/crypto-tls")
		})
	}
}

//go:build cgo

package holdfast

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

// BenchmarkPKCS11TokenBound asks the token-bound question of the PKCS#11
// issue head on: with an RSA-4096 key in SoftHSM the token is the
// bottleneck, so how close do full TLS 1.3 handshakes come to the raw
// sign rate at the same concurrency, for Holdfast with its backend and for
// crypto/tls with crypto11?
//
// BenchmarkPKCS11Sign and BenchmarkPKCS11Handshake answer it from
// sub-benchmarks seconds apart, and on this machine the raw sign rate
// drifts by ±10% over seconds, which is as large as the difference being
// measured. Here each stack instead alternates short blocks of raw
// signatures and of handshakes, both stacks taking turns, so that both of
// a stack's rates come from the same span of time. One op is one block of
// each kind for each stack; the metrics are the rates summed over all
// blocks and their ratio (handshakes/s ÷ signs/s).
//
//	go test -run '^$' -bench 'PKCS11TokenBound' -benchtime 200x -count 3 .
func BenchmarkPKCS11TokenBound(b *testing.B) {
	h := newHSMBench(b)
	pki := newTestPKI(b)
	const label = "RSA4096"
	digest := sha256.Sum256([]byte("benchmark"))
	type stack struct {
		name      string
		key       crypto.Signer
		handshake func() error
		signTime  time.Duration
		hsTime    time.Duration
	}
	for _, n := range concurrencies() {
		b.Run(fmt.Sprintf("c=%d", n), func(b *testing.B) {
			stacks := []*stack{
				{name: "holdfast", key: h.ours[label],
					handshake: handshakeClient(pki, startHandshakeServer(b, pki, h.ours[label], false), false)},
				{name: "crypto11", key: h.inc[label],
					handshake: handshakeClient(pki, startHandshakeServer(b, pki, h.inc[label], true), true)},
			}
			// Blocks long enough that the first and last operation of
			// each, when fewer than n run at once, are a small part, and
			// short enough (about n/10 s at c=1) to sample drift.
			block := 4 * n
			for _, s := range stacks {
				// One of each before timing: sessions opened, chains
				// prepared and cached.
				if _, err := runBlock(1, 1, s.handshake); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				for j := range stacks {
					// Alternate which stack goes first, so neither always
					// follows the other.
					s := stacks[(i+j)%len(stacks)]
					opts := signOpts(s.key.Public())
					d, err := runBlock(n, block, func() error {
						_, err := s.key.Sign(rand.Reader, digest[:], opts)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
					s.signTime += d
					if d, err = runBlock(n, block, s.handshake); err != nil {
						b.Fatal(err)
					}
					s.hsTime += d
				}
			}
			for _, s := range stacks {
				ops := float64(b.N * block)
				signs, hs := ops/s.signTime.Seconds(), ops/s.hsTime.Seconds()
				b.ReportMetric(signs, s.name+"-signs/s")
				b.ReportMetric(hs, s.name+"-handshakes/s")
				b.ReportMetric(hs/signs, s.name+"-ratio")
			}
		})
	}
}

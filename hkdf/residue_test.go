package hkdf

import (
	"crypto/rand"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// A whole TLS 1.3 key schedule and a TLS 1.2 key block, derived and freed,
// leave no copy of any of their secrets anywhere in the process.
func TestKeyScheduleLeavesNoResidue(t *testing.T) {
	var needles [][]byte
	var held []*mem.Secret
	defer func() {
		for _, n := range held {
			n.Free()
		}
	}()
	// keep records a secret's final value to search for once it is freed.
	keep := func(secrets ...*mem.Secret) {
		for _, s := range secrets {
			n, err := residue.NewNeedle(nil, s.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, n)
			needles = append(needles, n.Bytes())
		}
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	alloc := func(n int) *mem.Secret {
		s, err := mem.New(n)
		check(err)
		return s
	}
	for _, h := range []Hash{SHA256, SHA384} {
		shared := alloc(32)
		rand.Read(shared.Bytes())
		transcript := make([]byte, h.Size())
		rand.Read(transcript)

		// A random PSK: with none, the early secret is a public constant.
		psk := alloc(h.Size())
		rand.Read(psk.Bytes())
		early, err := NewEarlySecret(h, psk)
		check(err)
		keep(shared, psk, early.s)
		hs, err := early.Handshake(shared)
		check(err)
		keep(hs.s)
		cHS, err := hs.ClientTrafficSecret(transcript)
		check(err)
		ms, err := hs.Master()
		check(err)
		keep(ms.s)
		sAP, err := ms.ServerTrafficSecret(transcript)
		check(err)
		key, iv, next, block := alloc(32), alloc(12), alloc(h.Size()), alloc(104)
		check(TrafficKey(h, key, iv, sAP))
		check(NextTrafficSecret(h, next, sAP))
		check(PRF(h, block, shared, "key expansion", transcript, transcript))
		keep(cHS, sAP, key, iv, next, block)

		for _, s := range []*mem.Secret{shared, psk, cHS, sAP, key, iv, next, block} {
			s.Free()
		}
		ms.Free()
	}
	residue.AssertNone(t, needles, mem.Default())
}

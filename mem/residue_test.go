package mem_test

import (
	"crypto/rand"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// After Free and a GC, no copy of a freed secret is left anywhere in the
// process: not in its slot, not on the heap, not on a stack.
func TestFreedSecretLeavesNoResidue(t *testing.T) {
	p := mem.NewPool(mem.Options{})
	defer p.Close()
	var needles [][]byte
	var held []*mem.Secret
	for _, n := range []int{16, 32, 48, 64, 300, 4096} {
		s, err := p.New(n)
		if err != nil {
			t.Fatal(err)
		}
		rand.Read(s.Bytes())
		needle, err := residue.NewNeedle(nil, s.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, needle)
		needles = append(needles, needle.Bytes())
		s.Free()
	}
	defer func() {
		for _, n := range held {
			n.Free()
		}
	}()
	residue.AssertNone(t, needles, mem.Default(), p)
}

package kex

import (
	"testing"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// After a key exchange for every group, count the copies of the client's
// private scalar and of the shared secret left in the process. The shared
// secret must leave none in either build: kex clears the library's copy.
// The scalar passes through crypto/ecdh key objects that only the
// runtimesecret build erases; there it must leave none, and in the default
// build the count is logged as a measurement.
func TestExchangeResidue(t *testing.T) {
	var scalars, shareds [][]byte
	var held []*mem.Secret
	defer func() {
		for _, n := range held {
			n.Free()
		}
	}()
	needle := func(s *mem.Secret) []byte {
		n, err := residue.NewNeedle(nil, s.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, n)
		return n.Bytes()
	}
	for _, g := range groups {
		c, err := Generate(g)
		if err != nil {
			t.Fatal(err)
		}
		share, s1, err := Respond(g, c.Public())
		if err != nil {
			t.Fatal(err)
		}
		s2, err := c.Shared(share)
		if err != nil {
			t.Fatal(err)
		}
		scalars = append(scalars, needle(c.scalar))
		if c.seed != nil {
			scalars = append(scalars, needle(c.seed))
		}
		shareds = append(shareds, needle(s2))
		s1.Free()
		s2.Free()
		c.Free()
	}
	residue.AssertNone(t, shareds, mem.Default())
	if erase.Enabled {
		residue.AssertNone(t, scalars, mem.Default())
		return
	}
	rep, err := residue.Scan(scalars, mem.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default build: %d copies of %d private scalars/seeds left in freed heap memory (erased in the runtimesecret build)", len(rep.Findings), len(scalars))
}

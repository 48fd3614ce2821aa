package kex

import (
	"runtime"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// After a key exchange for every group, count the copies of the client's
// private scalar (for X25519 also its clamped form) and of the shared
// secret left in the process. Both pass
// through crypto/ecdh and crypto/mlkem objects and temporaries that only
// the runtimesecret build erases: there none may remain; in the default
// build the counts are logged as a measurement (kex clears the returned
// shared secret, which leaves none without -race, but the curve code's own
// temporaries can).
func TestExchangeResidue(t *testing.T) {
	if residue.RaceEnabled {
		t.Skip("residue: not measured under -race (see residue.AssertNone); ci/test.sh runs this test without it")
	}
	var scalars, shareds [][]byte
	var names []string // of scalars, for the report
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
		names = append(names, g.String()+" scalar")
		if g.ecdhGroup() == X25519 {
			// X25519 uses the scalar clamped (RFC 7748 §5): look for
			// that form too, built in locked memory byte by byte.
			clamped, err := residue.NewNeedle(nil, c.scalar.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, clamped)
			b := clamped.Bytes()
			b[0] &= 248
			b[31] = b[31]&127 | 64
			scalars = append(scalars, b)
			names = append(names, g.String()+" clamped scalar")
		}
		if c.seed != nil {
			scalars = append(scalars, needle(c.seed))
			names = append(names, g.String()+" ML-KEM seed")
		}
		shareds = append(shareds, needle(s2))
		s1.Free()
		s2.Free()
		c.Free()
	}
	if erase.Enabled {
		residue.AssertNone(t, append(scalars, shareds...), mem.Default())
		return
	}
	runtime.GC()
	runtime.GC()
	for _, c := range []struct {
		what    string
		needles [][]byte
	}{{"private scalars/seeds", scalars}, {"shared secrets", shareds}} {
		rep, err := residue.Scan(c.needles, mem.Default())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("default build: %d copies of %d %s left in freed memory (the runtimesecret build erases them)", len(rep.Findings), len(c.needles), c.what)
		if c.what == "private scalars/seeds" {
			for _, f := range rep.Findings {
				t.Logf("  %s, in %s", names[f.Needle], f.Mapping)
			}
		}
	}
}

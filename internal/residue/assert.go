package residue

import (
	"errors"
	"runtime"

	"github.com/holdfast-tls/holdfast/mem"
)

// maxListed is how many findings AssertNone lists one by one.
const maxListed = 20

// TB is the part of [testing.TB] that [AssertNone] uses, so that this
// package need not import testing.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Skipf(format string, args ...any)
}

// AssertNone runs two garbage collections, so that pending cleanups run and
// dead stacks are released, then [Scan]s for the needles and fails t once
// for every copy found (the first 20 of them, then a count), naming its
// address and mapping, never its bytes. A failed scan fails t too. Where
// scanning is not supported (any system but Linux), t is skipped with the
// reason. Under the race detector t is skipped too: its instrumented
// memory operations leave copies in buffers of its own, so residue is
// asserted in builds without -race (ci/test.sh runs them separately).
//
// A collection frees memory but does not wipe it: a copy on the heap that
// nothing references any more is still reported until the runtime reuses
// its memory. That is the point: such a copy is still there for a core
// dump or a memory-disclosure bug to find.
func AssertNone(t TB, needles [][]byte, pools ...*mem.Pool) {
	t.Helper()
	if RaceEnabled {
		t.Skipf("residue: not asserted under -race (see AssertNone); ci/test.sh runs this test without it")
		return
	}
	runtime.GC()
	runtime.GC()
	rep, err := Scan(needles, pools...)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("%v", err)
		return
	}
	for i, f := range rep.Findings {
		if i == maxListed {
			t.Errorf("residue: and %d more copies", len(rep.Findings)-i)
			break
		}
		t.Errorf("residue: %v", f)
	}
	if err != nil {
		t.Errorf("%v", err)
	}
}

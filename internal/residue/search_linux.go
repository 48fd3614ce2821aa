package residue

import (
	"bytes"
	"slices"
)

// A target is one needle being searched for.
//
// The search never holds a whole needle in a register. bytes.Index and
// bytes.Equal load the needle into vector registers, and a signal arriving
// then (the runtime's preemption signal, SIGPROF) makes the kernel save
// every register into a signal frame on the thread's signal stack, which
// the Go runtime allocates on its heap: the scanner would plant the very
// copy that a later scan reports. Instead, bytes.IndexByte looks for one
// pivot byte of the needle, and each candidate is compared a byte at a time.
type target struct {
	needle []byte
	pivot  int // index of the byte handed to IndexByte
	index  int // index in Scan's needles; -1 for the canary
}

func newTarget(needle []byte, index int) target {
	return target{needle: needle, pivot: pivotOf(needle), index: index}
}

// pivotOf picks the needle byte least likely to be common in memory, so
// IndexByte stops at few false candidates: zero bytes fill most memory,
// 0xff and small or ASCII values are frequent, high bytes are rarer.
func pivotOf(needle []byte) int {
	rank := func(b byte) int {
		switch {
		case b == 0x00:
			return 3
		case b == 0xff:
			return 2
		case b < 0x80:
			return 1
		}
		return 0
	}
	best := 0
	for i, b := range needle {
		if rank(b) < rank(needle[best]) {
			best = i
		}
	}
	return best
}

// find returns the offset of the first copy of the needle in w, or -1.
func (t *target) find(w []byte) int {
	n, k := len(t.needle), t.pivot
	if len(w) < n {
		return -1
	}
	// A copy starting at s has its pivot at s+k; s runs from 0 to len(w)-n.
	last := len(w) - n + k
	for i := k; i <= last; i++ {
		j := bytes.IndexByte(w[i:last+1], t.needle[k])
		if j < 0 {
			return -1
		}
		i += j
		if sameBytes(w[i-k:i-k+n], t.needle) {
			return i - k
		}
	}
	return -1
}

// sameBytes compares a and the needle b one byte at a time; see target.
func sameBytes(a, b []byte) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An exclusion is a sorted list of disjoint spans where a needle may
// rightfully be: live mem slots and the needles' own storage.
type exclusion []span

// newExclusion sorts spans and merges those that overlap or touch, so a
// needle lying across two adjacent live slots counts as inside.
func newExclusion(spans []span) exclusion {
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	var out exclusion
	for _, s := range spans {
		if s.start >= s.end {
			continue
		}
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// covers reports whether [addr, addr+n) lies wholly inside one span. A copy
// only partly inside a live slot is reported: it reaches outside it.
func (e exclusion) covers(addr uintptr, n int) bool {
	i, _ := slices.BinarySearchFunc(e, addr, func(s span, a uintptr) int {
		switch {
		case s.end <= a:
			return -1
		case s.start > a:
			return 1
		}
		return 0
	})
	return i < len(e) && e[i].start <= addr && addr+uintptr(n) <= e[i].end
}

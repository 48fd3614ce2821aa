package mem

import (
	"sync/atomic"
	"unsafe"
)

// region is one mapping: a guard page, the data pages, a guard page.
type region struct {
	mapping []byte // the whole mapping, guards included
	data    []byte // the data pages between the guards
}

// arena is one region cut into equal slots of one size class. Which slots
// are live is kept in a bitmap on the Go heap: it is not secret.
type arena struct {
	region
	slotSize int
	locked   bool
	large    bool // a single secret above the largest size class
	live     []atomic.Uint64
}

func newArena(r region, slotSize int, locked bool) *arena {
	a := &arena{region: r, slotSize: slotSize, locked: locked}
	a.live = make([]atomic.Uint64, (a.slots()+63)/64)
	return a
}

func (a *arena) slots() int { return len(a.data) / a.slotSize }

func (a *arena) slot(off, n int) []byte { return a.data[off : off+n : off+n] }

func (a *arena) wipe(off int) { clear(a.data[off : off+a.slotSize]) }

func (a *arena) markLive(off int) {
	i := off / a.slotSize
	a.live[i/64].Or(1 << (i % 64))
}

func (a *arena) markFree(off int) {
	i := off / a.slotSize
	a.live[i/64].And(^uint64(1 << (i % 64)))
}

func (a *arena) liveRanges(f func(start, end uintptr)) {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(a.data)))
	for w := range a.live {
		bits := a.live[w].Load()
		for b := 0; bits != 0; b, bits = b+1, bits>>1 {
			if bits&1 == 0 {
				continue
			}
			start := base + uintptr((w*64+b)*a.slotSize)
			f(start, start+uintptr(a.slotSize))
		}
	}
}

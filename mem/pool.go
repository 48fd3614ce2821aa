package mem

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// classSizes are the slot sizes small secrets are rounded up to. They are
// chosen for what TLS keeps: 12-byte IVs and 16-byte AES-128 keys (16),
// 32-byte keys and SHA-256 secrets (32), SHA-384 secrets (48), X25519 and
// P-256 scalars plus headroom (64), P-384 and P-521 scalars (96, 128), and
// HMAC pads and the ML-KEM-768 shared state (192 and up).
var classSizes = [...]int{16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024, 2048, 4096}

// maxArenaPages bounds how large an arena of a size class may grow. Arenas
// start at one data page and double, so a process with few secrets locks
// little memory and a busy one maps few arenas.
const maxArenaPages = 64

// Options configure a [Pool]. The zero value is the secure default.
type Options struct {
	// AllowUnlocked lets the pool hand out memory it could not lock
	// (RLIMIT_MEMLOCK reached, or no CAP_IPC_LOCK) instead of failing.
	// Such memory is still guarded, excluded from core dumps and zeroed on
	// free, but it may be written to swap. Each fallback is counted in
	// Stats.UnlockedArenas. Leave it false where key custody is audited.
	AllowUnlocked bool
}

// Stats describe a pool for operators and tests.
type Stats struct {
	Arenas         int   // arenas mapped, each with two guard pages
	MappedBytes    int64 // data bytes mapped (guard pages excluded)
	LockedBytes    int64 // data bytes locked in RAM
	UnlockedBytes  int64 // data bytes that could not be locked (AllowUnlocked only)
	UnlockedArenas int   // arenas that fell back to unlocked memory
	LiveSecrets    int64 // secrets allocated and not yet freed
	LiveBytes      int64 // sum of the live secrets' lengths
}

// A Pool hands out [Secret] slots from locked arenas. It is safe for
// concurrent use. Most code uses the process-wide pool through [New]; a
// separate Pool is for tests and for programs that want separate limits.
type Pool struct {
	opts     Options
	pageSize int
	classes  [len(classSizes)]sizeClass

	mu      sync.Mutex // guards arenas, large and closed
	arenas  []*arena
	closed  bool
	locked  atomic.Int64
	unlockd atomic.Int64
	mapped  atomic.Int64
	ulArena atomic.Int64
	live    atomic.Int64
	liveLen atomic.Int64
}

// sizeClass is the free list of one slot size across all its arenas.
type sizeClass struct {
	mu        sync.Mutex
	size      int
	free      []slotRef // LIFO: the most recently freed slot is warm in cache
	nextPages int
}

type slotRef struct {
	a   *arena
	off int
}

// NewPool returns an empty pool. Nothing is mapped until the first
// allocation.
func NewPool(opts Options) *Pool {
	p := &Pool{opts: opts, pageSize: os.Getpagesize()}
	for i := range p.classes {
		p.classes[i].size = classSizes[i]
		p.classes[i].nextPages = 1
	}
	return p
}

var (
	defaultOnce sync.Once
	defaultPool *Pool
)

// Default returns the process-wide pool used by [New]. It fails closed:
// memory that cannot be locked is an error.
func Default() *Pool {
	defaultOnce.Do(func() { defaultPool = NewPool(Options{}) })
	return defaultPool
}

// New allocates an n-byte secret from the process-wide pool. The secret
// reads as zeros. The caller owns it and must call [Secret.Free].
func New(n int) (*Secret, error) { return Default().New(n) }

// ErrPoolClosed is returned by allocations from a closed pool.
var ErrPoolClosed = errors.New("mem: pool is closed")

// New allocates an n-byte secret. The secret reads as zeros. The caller owns
// it and must call [Secret.Free].
func (p *Pool) New(n int) (*Secret, error) {
	if n <= 0 {
		return nil, fmt.Errorf("mem: secret length %d: must be positive", n)
	}
	var ref slotRef
	var err error
	if c := p.classFor(n); c != nil {
		ref, err = p.allocSmall(c)
	} else {
		ref, err = p.allocLarge(n)
	}
	if err != nil {
		return nil, err
	}
	p.live.Add(1)
	p.liveLen.Add(int64(n))
	return &Secret{pool: p, ref: ref, n: n}, nil
}

func (p *Pool) classFor(n int) *sizeClass {
	for i := range p.classes {
		if n <= p.classes[i].size {
			return &p.classes[i]
		}
	}
	return nil
}

func (p *Pool) allocSmall(c *sizeClass) (slotRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.free) == 0 {
		a, err := p.mapArena(c.nextPages*p.pageSize, c.size)
		if le := (*LockError)(nil); errors.As(err, &le) && c.nextPages > 1 {
			// Near the lock limit a doubled arena may not fit where a
			// single page still does: use the last of the budget.
			c.nextPages = 1
			a, err = p.mapArena(p.pageSize, c.size)
		}
		if err != nil {
			return slotRef{}, err
		}
		// Push in reverse so the lowest offsets are handed out first.
		for off := (a.slots() - 1) * c.size; off >= 0; off -= c.size {
			c.free = append(c.free, slotRef{a: a, off: off})
		}
		if c.nextPages < maxArenaPages {
			c.nextPages *= 2
		}
	}
	ref := c.free[len(c.free)-1]
	c.free = c.free[:len(c.free)-1]
	ref.a.markLive(ref.off)
	return ref, nil
}

// allocLarge gives a secret larger than the largest size class an arena of
// its own, rounded up to whole pages.
func (p *Pool) allocLarge(n int) (slotRef, error) {
	size := (n + p.pageSize - 1) / p.pageSize * p.pageSize
	a, err := p.mapArena(size, size)
	if err != nil {
		return slotRef{}, err
	}
	a.large = true
	a.markLive(0)
	return slotRef{a: a, off: 0}, nil
}

func (p *Pool) mapArena(dataLen, slotSize int) (*arena, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPoolClosed
	}
	r, err := mapRegion(dataLen, p.pageSize)
	if err != nil {
		return nil, fmt.Errorf("mem: mapping %d bytes for secrets: %w", dataLen, err)
	}
	locked := true
	if err := lockRegion(r); err != nil {
		if !p.opts.AllowUnlocked {
			releaseRegion(r)
			return nil, newLockError(dataLen, p.locked.Load(), err)
		}
		locked = false
	}
	a := newArena(r, slotSize, locked)
	p.arenas = append(p.arenas, a)
	p.mapped.Add(int64(dataLen))
	if locked {
		p.locked.Add(int64(dataLen))
	} else {
		p.unlockd.Add(int64(dataLen))
		p.ulArena.Add(1)
	}
	return a, nil
}

// free zeroes a slot and returns it for reuse.
func (p *Pool) free(ref slotRef, n int) {
	a := ref.a
	a.wipe(ref.off)
	a.markFree(ref.off)
	p.live.Add(-1)
	p.liveLen.Add(-int64(n))
	if a.large {
		p.unmapLarge(a)
		return
	}
	c := p.classFor(a.slotSize)
	c.mu.Lock()
	c.free = append(c.free, ref)
	c.mu.Unlock()
}

func (p *Pool) unmapLarge(a *arena) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range p.arenas {
		if b == a {
			p.arenas = append(p.arenas[:i], p.arenas[i+1:]...)
			break
		}
	}
	p.forget(a)
	releaseRegion(a.region)
}

// forget takes an arena's bytes out of the counters. p.mu is held.
func (p *Pool) forget(a *arena) {
	n := int64(len(a.data))
	p.mapped.Add(-n)
	if a.locked {
		p.locked.Add(-n)
	} else {
		p.unlockd.Add(-n)
		p.ulArena.Add(-1)
	}
}

// Stats reports the pool's current use.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	n := len(p.arenas)
	p.mu.Unlock()
	return Stats{
		Arenas:         n,
		MappedBytes:    p.mapped.Load(),
		LockedBytes:    p.locked.Load(),
		UnlockedBytes:  p.unlockd.Load(),
		UnlockedArenas: int(p.ulArena.Load()),
		LiveSecrets:    p.live.Load(),
		LiveBytes:      p.liveLen.Load(),
	}
}

// ErrLiveSecrets is returned by [Pool.Close] while secrets are still
// allocated; the pool stays open.
var ErrLiveSecrets = errors.New("mem: pool still has live secrets")

// Close wipes and unmaps every arena. It fails with [ErrLiveSecrets] while
// any secret is live, because their owners still hold views into the
// arenas. Closing a closed pool does nothing. Close is for orderly shutdown
// and tests: it must not race with New or Free on the same pool.
func (p *Pool) Close() error {
	// Lock order everywhere: a size class, then p.mu.
	for i := range p.classes {
		p.classes[i].mu.Lock()
		defer p.classes[i].mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if live := p.live.Load(); live != 0 {
		return fmt.Errorf("%w: %d", ErrLiveSecrets, live)
	}
	p.closed = true
	for i := range p.classes {
		p.classes[i].free = nil
	}
	for _, a := range p.arenas {
		clear(a.data)
		p.forget(a)
		releaseRegion(a.region)
	}
	p.arenas = nil
	return nil
}

// LiveRanges calls f with the address range [start, end) of every live
// secret's slot. Holdfast's residue checker uses it to tell a secret's
// rightful home from a stray copy. The ranges are a snapshot: allocations
// racing with the call may or may not be reported.
func (p *Pool) LiveRanges(f func(start, end uintptr)) {
	p.mu.Lock()
	arenas := append([]*arena(nil), p.arenas...)
	p.mu.Unlock()
	for _, a := range arenas {
		a.liveRanges(f)
	}
}

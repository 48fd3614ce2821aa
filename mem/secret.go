package mem

import (
	"crypto/subtle"
	"fmt"
	"sync/atomic"
)

// A Secret is a fixed-length slot of locked memory with one owner. The
// owner reads and writes it through [Secret.Bytes] and must call
// [Secret.Free] exactly once; Free zeroes the slot before it can be reused.
//
// A Secret must not be copied by value. It prints as "[redacted]".
type Secret struct {
	pool  *Pool
	ref   slotRef
	n     int
	freed atomic.Bool
}

// Len returns the secret's length in bytes. It is valid after Free.
func (s *Secret) Len() int { return s.n }

// Bytes returns a view of the secret's slot: len and cap are both Len(), so
// an append copies to the heap instead of overrunning; never append to it.
// The view is valid until Free; keeping it longer reads another owner's
// data. Bytes panics if the secret has been freed.
func (s *Secret) Bytes() []byte {
	if s.freed.Load() {
		panic(fmt.Sprintf("mem: use of a %d-byte secret after Free", s.n))
	}
	return s.ref.a.slot(s.ref.off, s.n)
}

// Free zeroes the secret and returns its slot to the pool. Freeing a secret
// twice panics: it means two owners believed they held it. Free on a nil
// *Secret does nothing, so owners may free optional secrets unconditionally.
func (s *Secret) Free() {
	if s == nil {
		return
	}
	if !s.freed.CompareAndSwap(false, true) {
		panic(fmt.Sprintf("mem: double Free of a %d-byte secret", s.n))
	}
	s.pool.free(s.ref, s.n)
}

// Freed reports whether Free has been called.
func (s *Secret) Freed() bool { return s.freed.Load() }

// Equal reports, in time that depends only on the lengths, whether two
// secrets hold the same bytes.
func (s *Secret) Equal(o *Secret) bool {
	return subtle.ConstantTimeCompare(s.Bytes(), o.Bytes()) == 1
}

// EqualBytes reports, in time that depends only on the lengths, whether the
// secret holds b.
func (s *Secret) EqualBytes(b []byte) bool {
	return subtle.ConstantTimeCompare(s.Bytes(), b) == 1
}

// String returns a placeholder: a secret's bytes never reach a log line.
func (s *Secret) String() string { return "[redacted]" }

// GoString is String for %#v.
func (s *Secret) GoString() string { return "[redacted]" }

// Format prints the placeholder for every fmt verb, %x and %v included.
func (s *Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// NewCopy returns a new Secret holding a copy of b (which the caller still
// owns and wipes). The copy goes a byte at a time: the built-in copy moves
// bytes through vector registers, which a preemption signal can spill into
// a signal frame on the Go heap, where nothing wipes them.
func NewCopy(b []byte) (*Secret, error) {
	s, err := New(len(b))
	if err != nil {
		return nil, err
	}
	CopyBytewise(s.Bytes(), b)
	return s, nil
}

// Clone returns a new Secret holding a copy of s (see NewCopy).
func (s *Secret) Clone() (*Secret, error) { return NewCopy(s.Bytes()) }

// CopyBytewise copies src into dst one byte at a time, for the reason
// NewCopy gives. The compiler does not turn this loop into a memmove.
func CopyBytewise(dst, src []byte) {
	//lint:ignore S1001 copy is what this loop exists to avoid.
	for i := range src {
		dst[i] = src[i]
	}
}

package residue

import "github.com/holdfast-tls/holdfast/mem"

// NewNeedle returns a new secret from p (from [mem.Default] if p is nil)
// holding a copy of secret, to search for with [Scan] or [AssertNone] after
// secret itself is freed. The caller owns the needle and must Free it.
//
// The bytes are copied one at a time. The built-in copy moves 16 to 64
// bytes at once through vector registers and leaves them there; when the
// runtime next preempts the goroutine with a signal, the kernel saves
// those registers into a signal frame on the thread's signal stack, which
// Go allocates on its heap, and the secret stays there for the scan to
// find. A byte-at-a-time copy leaves at most one byte in a register.
func NewNeedle(p *mem.Pool, secret []byte) (*mem.Secret, error) {
	if p == nil {
		p = mem.Default()
	}
	n, err := p.New(len(secret))
	if err != nil {
		return nil, err
	}
	mem.CopyBytewise(n.Bytes(), secret)
	return n, nil
}

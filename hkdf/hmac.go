package hkdf

import (
	"fmt"
	"hash"
	"sync"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

// macState computes HMAC (RFC 2104) with every key-derived value in a
// locked scratch slot. One state serves one derivation at a time; states
// are cached per hash so steady-state derivations allocate nothing.
type macState struct {
	h       Hash
	d       hash.Hash
	scratch *mem.Secret
	// Views into scratch.
	pad   []byte // the key XOR ipad/opad, one block
	ikey  []byte // Hash(key) when the key is longer than a block
	inner []byte // the inner digest
	blk   []byte // an intermediate output block (T(i), A(i))
	blk2  []byte // a second one, for the PRF
	// info holds public derivation inputs (an HkdfLabel, a PRF label, and
	// in its last byte the HKDF-Expand counter) so they reach the hash
	// without a per-call allocation.
	info [2 + 1 + 255 + 1 + 255 + 1]byte
}

// zeros overwrites a hash's internal block buffer when scrubbing.
var zeros [128]byte

func newMacState(h Hash) (*macState, error) {
	b, s := h.blockSize(), h.Size()
	scratch, err := mem.New(b + 4*s)
	if err != nil {
		return nil, fmt.Errorf("hkdf: scratch space for %v: %w", h, err)
	}
	buf := scratch.Bytes()
	m := &macState{h: h, d: h.New(), scratch: scratch}
	m.pad = buf[:b:b]
	m.ikey = buf[b : b+s : b+s]
	m.inner = buf[b+s : b+2*s : b+2*s]
	m.blk = buf[b+2*s : b+3*s : b+3*s]
	m.blk2 = buf[b+3*s : b+4*s : b+4*s]
	return m, nil
}

// mac writes HMAC(key, parts...) to out[:Size]. out may alias any part:
// the parts are consumed before out is written.
func (m *macState) mac(out, key []byte, parts ...[]byte) {
	d := m.d
	if len(key) > len(m.pad) {
		d.Reset()
		d.Write(key)
		key = d.Sum(m.ikey[:0])
	}
	copy(m.pad, key)
	clear(m.pad[len(key):])
	for i := range m.pad {
		m.pad[i] ^= 0x36
	}
	d.Reset()
	d.Write(m.pad)
	for _, p := range parts {
		d.Write(p)
	}
	inner := d.Sum(m.inner[:0])
	for i := range m.pad {
		m.pad[i] ^= 0x36 ^ 0x5c
	}
	d.Reset()
	d.Write(m.pad)
	d.Write(inner)
	d.Sum(out[:0])
}

// scrub wipes every key-derived value the state holds: the scratch slot,
// and the hash's buffered block (filled with zeros through two writes, so
// it passes through the buffer rather than straight to the compression
// function) and chaining value (Reset).
func (m *macState) scrub() {
	clear(m.scratch.Bytes())
	clear(m.info[:])
	b := m.h.blockSize()
	m.d.Reset()
	m.d.Write(zeros[:1])
	m.d.Write(zeros[1:b])
	m.d.Reset()
}

// stateCache keeps idle macStates for reuse. It is bounded so a burst of
// concurrent derivations does not pin locked memory forever.
type stateCache struct {
	mu   sync.Mutex
	idle []*macState
}

const maxIdleStates = 16

var caches [SHA384 + 1]stateCache

func getState(h Hash) (*macState, error) {
	if !h.valid() {
		return nil, fmt.Errorf("hkdf: unknown Hash %d", uint8(h))
	}
	c := &caches[h]
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		m := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return m, nil
	}
	c.mu.Unlock()
	return newMacState(h)
}

func putState(m *macState) {
	m.scrub()
	c := &caches[m.h]
	c.mu.Lock()
	if len(c.idle) < maxIdleStates {
		c.idle = append(c.idle, m)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	m.scratch.Free()
}

// MAC writes HMAC(key, msg) to out[:h.Size()]: a Finished message's
// verify_data (RFC 8446 §4.4.4) or a PSK binder. out is public once sent,
// so it may be a heap slice; the key stays in locked memory.
func MAC(h Hash, out []byte, key *mem.Secret, msg []byte) error {
	if !h.valid() {
		return fmt.Errorf("hkdf: unknown Hash %d", uint8(h))
	}
	if len(out) < h.Size() {
		return fmt.Errorf("%w: HMAC output buffer of %d bytes is shorter than %d", ErrOutputLength, len(out), h.Size())
	}
	m, err := getState(h)
	if err != nil {
		return err
	}
	erase.Do(func() { m.mac(out[:h.Size()], key.Bytes(), msg) })
	putState(m)
	return nil
}

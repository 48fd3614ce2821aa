package hkdf

import (
	"errors"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

// ErrOutputLength reports an output longer than the function can produce
// (HKDF-Expand: 255 hash lengths) or of the wrong length (HKDF-Extract:
// exactly one).
var ErrOutputLength = errors.New("hkdf: output length out of range")

// view returns a secret's bytes, or nil for a nil secret: nil salts and
// input keys stand for the all-zero strings RFC 5869 and RFC 8446 use.
func view(s *mem.Secret) []byte {
	if s == nil {
		return nil
	}
	return s.Bytes()
}

// Extract computes HKDF-Extract(salt, ikm) (RFC 5869 §2.2) into prk, which
// must be exactly h.Size() bytes. A nil salt stands for h.Size() zero bytes
// (HMAC zero-pads short keys, so the two are the same key). A nil ikm is the
// empty string, which is not the same as zeros: where RFC 8446 §7.1 says
// "0" for a missing PSK or (EC)DHE input, pass h.Size() zero bytes.
func Extract(h Hash, prk, salt, ikm *mem.Secret) error {
	if !h.valid() {
		return fmt.Errorf("hkdf: unknown Hash %d", uint8(h))
	}
	if prk.Len() != h.Size() {
		return fmt.Errorf("%w: HKDF-Extract output is %d bytes for %v, not %d", ErrOutputLength, h.Size(), h, prk.Len())
	}
	m, err := getState(h)
	if err != nil {
		return err
	}
	erase.Do(func() {
		// HMAC keys shorter than a block are zero-padded, so a nil salt
		// and HashLen zero bytes key HMAC identically.
		m.mac(prk.Bytes(), view(salt), view(ikm))
	})
	putState(m)
	return nil
}

// Expand computes HKDF-Expand(prk, info, len(out)) (RFC 5869 §2.3) into
// out. out may be at most 255 hash lengths.
func Expand(h Hash, out, prk *mem.Secret, info []byte) error {
	if !h.valid() {
		return fmt.Errorf("hkdf: unknown Hash %d", uint8(h))
	}
	m, err := getState(h)
	if err != nil {
		return err
	}
	defer putState(m)
	return m.expand(out.Bytes(), prk.Bytes(), info)
}

func (m *macState) expand(out, prk, info []byte) error {
	size := m.h.Size()
	if len(out) > 255*size {
		return fmt.Errorf("%w: HKDF-Expand can give at most %d bytes with %v, asked for %d", ErrOutputLength, 255*size, m.h, len(out))
	}
	// The counter lives after any info the caller placed in m.info, so
	// ExpandLabel's label and the counter share the cached buffer.
	ctr := m.info[len(m.info)-1:]
	erase.Do(func() {
		var prev []byte
		for i, off := 1, 0; off < len(out); i++ {
			ctr[0] = byte(i)
			if n := len(out) - off; n >= size {
				m.mac(out[off:off+size], prk, prev, info, ctr)
				prev = out[off : off+size]
			} else {
				m.mac(m.blk, prk, prev, info, ctr)
				copy(out[off:], m.blk[:n])
			}
			off += size
		}
	})
	return nil
}

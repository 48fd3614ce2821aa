package hkdf

import (
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

// PRF computes the TLS 1.2 pseudorandom function of RFC 5246 §5,
// PRF(secret, label, seed) = P_<hash>(secret, label + seed), into out. The
// seed is the concatenation of seeds (for example client_random and
// server_random), passed in parts so nothing is concatenated on the heap.
// The PRF is defined for SHA-256 and, for the SHA-384 cipher suites, for
// SHA-384.
func PRF(h Hash, out, secret *mem.Secret, label string, seeds ...[]byte) error {
	if !h.valid() {
		return fmt.Errorf("hkdf: unknown Hash %d", uint8(h))
	}
	if len(seeds) > 4 {
		return fmt.Errorf("hkdf: PRF takes at most 4 seed parts, got %d", len(seeds))
	}
	if len(label) > len(macState{}.info) {
		return fmt.Errorf("hkdf: PRF label of %d bytes is too long", len(label))
	}
	m, err := getState(h)
	if err != nil {
		return err
	}
	defer putState(m)
	lbl := append(m.info[:0], label...)
	var s [4][]byte
	copy(s[:], seeds)
	m.pHash(out.Bytes(), secret.Bytes(), lbl, s[0], s[1], s[2], s[3])
	return nil
}

// pHash is P_hash(secret, seed) of RFC 5246 §5 with the seed in parts:
//
//	A(0) = seed, A(i) = HMAC(secret, A(i-1))
//	P_hash = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
func (m *macState) pHash(out, secret, s0, s1, s2, s3, s4 []byte) {
	size := m.h.Size()
	erase.Do(func() {
		a := m.blk
		m.mac(a, secret, s0, s1, s2, s3, s4)
		for off := 0; off < len(out); off += size {
			if n := len(out) - off; n >= size {
				m.mac(out[off:off+size], secret, a, s0, s1, s2, s3, s4)
			} else {
				m.mac(m.blk2, secret, a, s0, s1, s2, s3, s4)
				copy(out[off:], m.blk2[:n])
			}
			m.mac(a, secret, a)
		}
	})
}

package kex

import (
	"crypto/subtle"
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// X25519 (RFC 7748) is computed here rather than through crypto/ecdh, for
// two reasons. The private scalar stays in locked memory and on the stack:
// a crypto/ecdh.PrivateKey keeps a heap copy of it that the default build
// cannot wipe. And the public share, a multiplication of the fixed base
// point, is computed on the birationally equivalent Edwards curve with
// precomputed tables (RFC 7748 §4.1 gives the map), about three times
// faster than the Montgomery ladder crypto/ecdh uses for every
// multiplication; every TLS 1.3 handshake makes one on each side
// (BenchmarkX25519 beside crypto/ecdh). The field arithmetic is
// filippo.io/edwards25519/field, the same code crypto/ecdh runs.

var (
	errX25519Length   = errors.New("X25519 inputs are 32 bytes")
	errX25519LowOrder = errors.New("X25519 result is all zeros (a point of small order)")
)

// x25519Public writes scalar's public key, X25519(scalar, 9), into out.
// The scalar is clamped as RFC 7748 §5 says; its reduction modulo the
// order of the base point changes nothing, since that point's multiples
// repeat with that period.
func x25519Public(out, scalar []byte) error {
	if len(out) != 32 || len(scalar) != 32 {
		return errX25519Length
	}
	var s edwards25519.Scalar
	if _, err := s.SetBytesWithClamping(scalar); err != nil {
		return err
	}
	var p edwards25519.Point
	p.ScalarBaseMult(&s)
	copy(out, p.BytesMontgomery())
	s = edwards25519.Scalar{}
	return nil
}

// x25519 writes X25519(scalar, point) into out (RFC 7748 §5): the
// Montgomery ladder, in constant time, with the scalar clamped and the
// point's top bit ignored. An all-zero result means the peer sent a point
// of small order, which RFC 8446 §7.4.2 makes an error; out is then all
// zeros.
func x25519(out, scalar, point []byte) error {
	if len(out) != 32 || len(scalar) != 32 || len(point) != 32 {
		return errX25519Length
	}
	var k [32]byte
	copy(k[:], scalar)
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64

	// RFC 7748 §5's ladder with its temporaries folded into two (A, B,
	// AA, BB, E, C, D, DA and CB each live only briefly).
	var x1, x2, z2, x3, z3, t0, t1 field.Element
	if _, err := x1.SetBytes(point); err != nil {
		return err
	}
	x2.One()
	x3.Set(&x1)
	z3.One()
	swap := 0
	for t := 254; t >= 0; t-- {
		bit := int(k[t>>3]>>(t&7)) & 1
		swap ^= bit
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = bit

		t0.Subtract(&x3, &z3)  // D
		t1.Subtract(&x2, &z2)  // B
		x2.Add(&x2, &z2)       // A
		z2.Add(&x3, &z3)       // C
		z3.Multiply(&t0, &x2)  // DA
		z2.Multiply(&z2, &t1)  // CB
		t0.Square(&t1)         // BB
		t1.Square(&x2)         // AA
		x3.Add(&z3, &z2)       // DA + CB
		z2.Subtract(&z3, &z2)  // DA - CB
		x2.Multiply(&t1, &t0)  // x2 = AA * BB
		t1.Subtract(&t1, &t0)  // E = AA - BB
		z2.Square(&z2)         // (DA - CB)^2
		z3.Mult32(&t1, 121666) // (A24 + 2) * E, A24 = (486662 - 2) / 4
		x3.Square(&x3)         // x3 = (DA + CB)^2
		t0.Add(&t0, &z3)       // BB + 121666 E = AA + 121665 E
		z3.Multiply(&x1, &z2)  // z3 = x1 * (DA - CB)^2
		z2.Multiply(&t1, &t0)  // z2 = E * (AA + a24 E)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(out, x2.Bytes())
	clear(k[:])
	x1, x2, z2, x3, z3, t0, t1 = field.Element{}, field.Element{}, field.Element{}, field.Element{}, field.Element{}, field.Element{}, field.Element{}

	var zero [32]byte
	if subtle.ConstantTimeCompare(out, zero[:]) == 1 {
		return errX25519LowOrder
	}
	return nil
}

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

	// The ladder's state is one value, so that one assignment wipes it.
	var l struct{ x1, x2, z2, x3, z3, a, aa, b, bb, e, c, d, da, cb field.Element }
	if _, err := l.x1.SetBytes(point); err != nil {
		return err
	}
	l.x2.One()
	l.z2.Zero()
	l.x3.Set(&l.x1)
	l.z3.One()
	swap := 0
	for t := 254; t >= 0; t-- {
		bit := int(k[t>>3]>>(t&7)) & 1
		swap ^= bit
		l.x2.Swap(&l.x3, swap)
		l.z2.Swap(&l.z3, swap)
		swap = bit

		l.a.Add(&l.x2, &l.z2)
		l.aa.Square(&l.a)
		l.b.Subtract(&l.x2, &l.z2)
		l.bb.Square(&l.b)
		l.e.Subtract(&l.aa, &l.bb)
		l.c.Add(&l.x3, &l.z3)
		l.d.Subtract(&l.x3, &l.z3)
		l.da.Multiply(&l.d, &l.a)
		l.cb.Multiply(&l.c, &l.b)
		l.x3.Add(&l.da, &l.cb)
		l.x3.Square(&l.x3)
		l.z3.Subtract(&l.da, &l.cb)
		l.z3.Square(&l.z3)
		l.z3.Multiply(&l.z3, &l.x1)
		l.x2.Multiply(&l.aa, &l.bb)
		l.z2.Mult32(&l.e, 121665) // a24 = (486662 - 2) / 4
		l.z2.Add(&l.z2, &l.aa)
		l.z2.Multiply(&l.z2, &l.e)
	}
	l.x2.Swap(&l.x3, swap)
	l.z2.Swap(&l.z3, swap)
	l.z2.Invert(&l.z2)
	l.x2.Multiply(&l.x2, &l.z2)
	copy(out, l.x2.Bytes())
	clear(k[:])
	l = struct{ x1, x2, z2, x3, z3, a, aa, b, bb, e, c, d, da, cb field.Element }{}

	var zero [32]byte
	if subtle.ConstantTimeCompare(out, zero[:]) == 1 {
		return errX25519LowOrder
	}
	return nil
}

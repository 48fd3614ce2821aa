package record

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// The SHA-1 and SHA-256 compression functions of FIPS 180-4 (§6.1.2 and
// §6.2.2), written out here because the constant-time CBC check
// (tls12_mac.go) must run the last few blocks of an HMAC one block at a
// time and keep the chaining value of a block it picks in secret; the
// standard library's hashes only expose whole messages. Only those few
// blocks, and the one-block outer hash, go through this code: everything
// of public length runs on crypto/sha1 and crypto/sha256, which use the
// CPU's SHA instructions.
//
// Both functions are straight-line arithmetic (add, rotate, xor, and, or)
// over the chaining value and the block: no branch and no memory index
// depends on either.

// Each compression function runs one 64-byte block, updating the chaining
// value h (SHA-1 uses its first 5 words, SHA-256 all 8).

// sha1K are the round constants: the integer parts of 2^30 times the square roots
// of 2, 3, 5 and 10 (FIPS 180-4 §4.2.1).
var sha1K = [4]uint32{rootConst(2, 2, 30), rootConst(3, 2, 30), rootConst(5, 2, 30), rootConst(10, 2, 30)}

// sha256K are the first 32 bits of the fractional parts of the cube roots
// of the first 64 primes (FIPS 180-4 §4.2.2).
var sha256K = func() (k [64]uint32) {
	i := 0
	for p := uint64(2); i < len(k); p++ {
		if isPrime(p) {
			k[i] = rootConst(p, 3, 32)
			i++
		}
	}
	return k
}()

func isPrime(p uint64) bool {
	for d := uint64(2); d*d <= p; d++ {
		if p%d == 0 {
			return false
		}
	}
	return p >= 2
}

// rootConst returns the low 32 bits of floor(x^(1/r) * 2^frac) for r 2 or
// 3, computed exactly: a floating-point estimate corrected with 128-bit
// integer powers, so no rounding in math.Pow or math.Cbrt can creep in.
// Both uses keep the root below 2^35 and its power below 2^128.
func rootConst(x uint64, r int, frac uint) uint32 {
	root := math.Sqrt(float64(x))
	if r == 3 {
		root = math.Cbrt(float64(x))
	}
	y := uint64(root * float64(uint64(1)<<frac))
	// target is x * 2^(r*frac) as a 128-bit (hi, lo) pair.
	shift := uint(r) * frac
	var thi, tlo uint64
	if shift >= 64 {
		thi = x << (shift - 64)
	} else {
		thi, tlo = x>>(64-shift), x<<shift
	}
	pow := func(v uint64) (hi, lo uint64) {
		hi, lo = bits.Mul64(v, v)
		if r == 3 {
			h2, l2 := bits.Mul64(lo, v)
			hi, lo = hi*v+h2, l2
		}
		return hi, lo
	}
	le := func(hi, lo uint64) bool { return hi < thi || hi == thi && lo <= tlo }
	for !le(pow(y)) {
		y--
	}
	for le(pow(y + 1)) {
		y++
	}
	return uint32(y)
}

func sha1Compress(h *[8]uint32, block *[64]byte) {
	var w [80]uint32
	for i := range 16 {
		w[i] = binary.BigEndian.Uint32(block[4*i:])
	}
	for i := 16; i < 80; i++ {
		w[i] = bits.RotateLeft32(w[i-3]^w[i-8]^w[i-14]^w[i-16], 1)
	}
	a, b, c, d, e := h[0], h[1], h[2], h[3], h[4]
	for i := range 80 {
		var f uint32
		switch i / 20 { // i is the round number, not data
		case 0:
			f = d ^ (b & (c ^ d))
		case 2:
			f = (b & c) | (d & (b | c))
		default:
			f = b ^ c ^ d
		}
		t := bits.RotateLeft32(a, 5) + f + e + sha1K[i/20] + w[i]
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	h[0] += a
	h[1] += b
	h[2] += c
	h[3] += d
	h[4] += e
	clear(w[:])
}

func sha256Compress(h *[8]uint32, block *[64]byte) {
	var w [64]uint32
	for i := range 16 {
		w[i] = binary.BigEndian.Uint32(block[4*i:])
	}
	for i := 16; i < 64; i++ {
		x, y := w[i-15], w[i-2]
		s0 := bits.RotateLeft32(x, -7) ^ bits.RotateLeft32(x, -18) ^ x>>3
		s1 := bits.RotateLeft32(y, -17) ^ bits.RotateLeft32(y, -19) ^ y>>10
		w[i] = w[i-16] + s0 + w[i-7] + s1
	}
	a, b, c, d, e, f, g, hh := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
	for i := range 64 {
		t1 := hh + (bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)) +
			(g ^ (e & (f ^ g))) + sha256K[i] + w[i]
		t2 := (bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)) +
			((a & b) | (c & (a | b)))
		hh, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
	}
	h[0] += a
	h[1] += b
	h[2] += c
	h[3] += d
	h[4] += e
	h[5] += f
	h[6] += g
	h[7] += hh
	clear(w[:])
}

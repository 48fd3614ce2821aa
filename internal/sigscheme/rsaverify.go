package sigscheme

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"math/big"
)

// RSA signature verification with math/big.
//
// Verification is the public half of RSA: the signature, the key and the
// message are all public, so it may take variable time. crypto/rsa does it
// with the constant-time arithmetic its private operations need and builds
// the modulus afresh for every call: for a 4096-bit key that is about
// 0.29 ms against 0.1 ms here, spent twice in every handshake with such a
// key (once checking our own signature before it is sent, once by the
// peer). The encodings are checked exactly as RFC 8017 writes them, and
// FuzzRSAVerify holds the result equal to crypto/rsa's.

var errRSAVerify = errors.New("RSA signature does not verify")

// fastRSAKey reports whether pub is a key this file verifies for. Others
// (shorter than crypto/rsa accepts, or with an exponent it refuses) go to
// crypto/rsa, which gives its own error.
func fastRSAKey(pub *rsa.PublicKey) bool {
	return pub.N != nil && pub.N.BitLen() >= 1024 && pub.N.Bit(0) == 1 &&
		pub.E >= 3 && pub.E&1 == 1 && pub.E <= 1<<31-1
}

// bigRSAWins reports whether math/big beats crypto/rsa for this key's
// size. crypto/rsa has hand-tuned arithmetic for 1024- and 2048-bit
// moduli and is as fast there (BenchmarkRSAVerify: 2048 bits 32 µs
// against 35); above that math/big wins (3072 bits 63 µs against 165,
// 4096 bits 110 µs against 294).
func bigRSAWins(pub *rsa.PublicKey) bool {
	return pub.N != nil && pub.N.BitLen() > 2048
}

// verifyRSAPSS and verifyRSAPKCS1 check with whichever is faster for the
// key's size.
func verifyRSAPSS(pub *rsa.PublicKey, hash crypto.Hash, digest, sig []byte) error {
	if bigRSAWins(pub) {
		return verifyPSS(pub, hash, digest, sig)
	}
	return rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
}

func verifyRSAPKCS1(pub *rsa.PublicKey, hash crypto.Hash, digest, sig []byte) error {
	if bigRSAWins(pub) {
		return verifyPKCS1(pub, hash, digest, sig)
	}
	return rsa.VerifyPKCS1v15(pub, hash, digest, sig)
}

// rsaPublic computes sig^e mod n, left-padded to the modulus length. It
// fails for a signature of the wrong length or not below n (RFC 8017
// §5.2.2, §8.1.2 step 1).
func rsaPublic(pub *rsa.PublicKey, sig []byte) ([]byte, error) {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return nil, errRSAVerify
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return nil, errRSAVerify
	}
	m := s.Exp(s, big.NewInt(int64(pub.E)), pub.N)
	return m.FillBytes(make([]byte, k)), nil
}

// verifyPSS is RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) with EMSA-PSS-VERIFY
// (§9.1.2), MGF1 with the message hash, and a salt exactly as long as the
// hash.
func verifyPSS(pub *rsa.PublicKey, hash crypto.Hash, digest, sig []byte) error {
	if !fastRSAKey(pub) {
		return rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	hLen := hash.Size()
	if len(digest) != hLen {
		return errRSAVerify
	}
	m, err := rsaPublic(pub, sig)
	if err != nil {
		return err
	}
	// EM has emBits = modBits-1 bits, in emLen octets; when modBits-1 is
	// a multiple of 8 the integer's leading octet must be zero.
	emBits := pub.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	if len(m) > emLen {
		if m[0] != 0 {
			return errRSAVerify
		}
		m = m[1:]
	}
	em := m
	sLen := hLen
	if emLen < hLen+sLen+2 || em[emLen-1] != 0xbc {
		return errRSAVerify
	}
	db := em[:emLen-hLen-1] // maskedDB, unmasked in place
	h := em[emLen-hLen-1 : emLen-1]
	topBits := byte(0xff) >> (8*emLen - emBits)
	if db[0]&^topBits != 0 {
		return errRSAVerify
	}
	mgf1XOR(db, hash, h)
	db[0] &= topBits
	zeros := emLen - hLen - sLen - 2
	for _, b := range db[:zeros] {
		if b != 0 {
			return errRSAVerify
		}
	}
	if db[zeros] != 0x01 {
		return errRSAVerify
	}
	salt := db[len(db)-sLen:]
	hh := hash.New()
	var eight [8]byte
	hh.Write(eight[:])
	hh.Write(digest)
	hh.Write(salt)
	if subtle.ConstantTimeCompare(hh.Sum(nil), h) != 1 {
		return errRSAVerify
	}
	return nil
}

// mgf1XOR XORs out with MGF1(seed) under hash (RFC 8017 §B.2.1).
func mgf1XOR(out []byte, hash crypto.Hash, seed []byte) {
	h := hash.New()
	var counter [4]byte
	var block []byte
	for done := 0; done < len(out); {
		h.Reset()
		h.Write(seed)
		h.Write(counter[:])
		block = h.Sum(block[:0])
		done += subtle.XORBytes(out[done:], out[done:], block)
		binary.BigEndian.PutUint32(counter[:], binary.BigEndian.Uint32(counter[:])+1)
	}
}

// digestInfoPrefixes are the DER of DigestInfo up to the digest for the
// hashes TLS signs with under PKCS #1 v1.5 (RFC 8017 §9.2, note 1).
var digestInfoPrefixes = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// verifyPKCS1 is RSASSA-PKCS1-v1_5-VERIFY (RFC 8017 §8.2.2): the encoding
// the signature should have is built and compared whole, never parsed out
// of the signature (parsing is where forgeries of the e=3 kind hide).
func verifyPKCS1(pub *rsa.PublicKey, hash crypto.Hash, digest, sig []byte) error {
	prefix, ok := digestInfoPrefixes[hash]
	if !ok || !fastRSAKey(pub) {
		return rsa.VerifyPKCS1v15(pub, hash, digest, sig)
	}
	if len(digest) != hash.Size() {
		return errRSAVerify
	}
	m, err := rsaPublic(pub, sig)
	if err != nil {
		return err
	}
	tLen := len(prefix) + len(digest)
	if len(m) < tLen+11 {
		return errRSAVerify
	}
	want := make([]byte, len(m))
	want[1] = 0x01
	ps := want[2 : len(m)-tLen-1]
	for i := range ps {
		ps[i] = 0xff
	}
	copy(want[len(m)-tLen:], prefix)
	copy(want[len(m)-len(digest):], digest)
	if !bytes.Equal(m, want) {
		return errRSAVerify
	}
	return nil
}

package sigscheme

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"sync"
	"testing"
)

// The math/big verifier must agree with crypto/rsa on every input: valid
// signatures, every single-bit corruption, wrong digests, signatures of
// the wrong length or not below the modulus, and (in FuzzRSAVerify)
// fuzzer-chosen encoded messages signed with the private exponent so that
// every branch of the decoding is reached.

// Modulus sizes: 1025 and 2049 bits make emBits a multiple of 8, so the
// encoded message is one octet shorter than the modulus. The decoding does
// not depend on the size otherwise; 3072 bits is the size above 2048 that
// production sends here.
var rsaVerifyBits = []int{1024, 1025, 2048, 2049, 3072}

var rsaVerifyKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var keys []*rsa.PrivateKey
	for _, bits := range rsaVerifyBits {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	return keys
})

var rsaVerifyHashes = []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// referenceRSAVerify is crypto/rsa's answer.
func referenceRSAVerify(pss bool, pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) error {
	if pss {
		return rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	return rsa.VerifyPKCS1v15(pub, h, digest, sig)
}

// referenceRSASign signs with crypto/rsa as TLS does.
func referenceRSASign(pss bool, priv *rsa.PrivateKey, h crypto.Hash, digest []byte) ([]byte, error) {
	if pss {
		return rsa.SignPSS(rand.Reader, priv, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	return rsa.SignPKCS1v15(rand.Reader, priv, h, digest)
}

func ourRSAVerify(pss bool, pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) error {
	if pss {
		return verifyPSS(pub, h, digest, sig)
	}
	return verifyPKCS1(pub, h, digest, sig)
}

// agree fails the test when the two verifiers disagree, and returns
// whether the signature verified.
func agree(t testing.TB, what string, pss bool, pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	t.Helper()
	sigCopy := append([]byte(nil), sig...)
	ref := referenceRSAVerify(pss, pub, h, digest, sig)
	ours := ourRSAVerify(pss, pub, h, digest, sig)
	if (ref == nil) != (ours == nil) {
		t.Fatalf("%s: crypto/rsa says %v, math/big verifier says %v", what, ref, ours)
	}
	if string(sigCopy) != string(sig) {
		t.Fatalf("%s: the verifier changed the signature", what)
	}
	return ours == nil
}

func TestRSAVerifyAgreesWithCryptoRSA(t *testing.T) {
	for _, priv := range rsaVerifyKeys() {
		pub := &priv.PublicKey
		for _, h := range rsaVerifyHashes {
			for _, pss := range []bool{true, false} {
				name := fmt.Sprintf("%d-bit/%v/pss=%v", pub.N.BitLen(), h, pss)
				t.Run(name, func(t *testing.T) {
					hh := h.New()
					hh.Write([]byte(name))
					digest := hh.Sum(nil)
					sig, err := referenceRSASign(pss, priv, h, digest)
					if err != nil {
						// SHA-512 PSS does not fit a 1024-bit key.
						if ourRSAVerify(pss, pub, h, digest, make([]byte, (pub.N.BitLen()+7)/8)) == nil {
							t.Fatal("a zero signature verified")
						}
						return
					}
					if !agree(t, "valid", pss, pub, h, digest, sig) {
						t.Fatal("a valid signature does not verify")
					}
					for bit := range 8 * len(sig) {
						// Every bit of the two octets at each end, one
						// bit of every other octet (under -race the
						// whole signature would take minutes).
						at := bit / 8
						if at >= 2 && at < len(sig)-2 && bit%8 != at%8 {
							continue
						}
						bad := append([]byte(nil), sig...)
						bad[bit/8] ^= 1 << (bit % 8)
						if agree(t, fmt.Sprintf("bit %d flipped", bit), pss, pub, h, digest, bad) {
							t.Fatalf("bit %d flipped: verified", bit)
						}
					}
					wrong := append([]byte(nil), digest...)
					wrong[len(wrong)-1] ^= 1
					if agree(t, "wrong digest", pss, pub, h, wrong, sig) {
						t.Fatal("wrong digest verified")
					}
					if agree(t, "short digest", pss, pub, h, digest[1:], sig) {
						t.Fatal("short digest verified")
					}
					k := len(sig)
					nBytes := pub.N.FillBytes(make([]byte, k))
					nMinus1 := new(big.Int).Sub(pub.N, big.NewInt(1)).FillBytes(make([]byte, k))
					for what, s := range map[string][]byte{
						"leading zero added": append([]byte{0}, sig...),
						"last byte cut":      sig[:k-1],
						"empty":              nil,
						"modulus":            nBytes,
						"modulus-1":          nMinus1,
						"zero":               make([]byte, k),
						"one":                big.NewInt(1).FillBytes(make([]byte, k)),
					} {
						if agree(t, what, pss, pub, h, digest, s) {
							t.Fatalf("%s verified", what)
						}
					}
				})
			}
		}
	}
}

// rawSign is the RSA private operation with math/big, for tests only: it
// turns an encoded message the fuzzer chose into the signature that
// decodes to it. It works modulo each prime (the CRT) to keep the fuzzer's
// executions fast.
func rawSign(priv *rsa.PrivateKey, em []byte) []byte {
	m := new(big.Int).SetBytes(em)
	if m.Cmp(priv.N) >= 0 {
		return nil
	}
	p, q := priv.Primes[0], priv.Primes[1]
	c := priv.Precomputed
	m1 := new(big.Int).Exp(m, c.Dp, p)
	m2 := new(big.Int).Exp(m, c.Dq, q)
	h := m1.Sub(m1, m2)
	h.Mul(h, c.Qinv).Mod(h, p)
	s := h.Mul(h, q).Add(h, m2)
	return s.FillBytes(make([]byte, (priv.N.BitLen()+7)/8))
}

// FuzzRSAVerify: data picks a key, a hash and the encoding; the rest is
// the encoded message (raised to the private exponent, so the verifiers
// see exactly it) and then the digest. The two verifiers must agree.
func FuzzRSAVerify(f *testing.F) {
	keys := rsaVerifyKeys()
	for ki, priv := range keys {
		for hi, h := range rsaVerifyHashes {
			digest := make([]byte, h.Size())
			digest[0] = byte(ki)
			for _, pss := range []bool{true, false} {
				sig, err := referenceRSASign(pss, priv, h, digest)
				if err != nil {
					continue
				}
				em, _ := rsaPublic(&priv.PublicKey, sig)
				if !bytes.Equal(rawSign(priv, em), sig) {
					f.Fatalf("rawSign does not invert the public operation (%d-bit key)", priv.N.BitLen())
				}
				mode := byte(0)
				if pss {
					mode = 1
				}
				f.Add(append(append([]byte{byte(ki), byte(hi), mode}, em...), digest...))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		// The fuzzer explores the decoding on the keys up to 2049 bits,
		// where each execution is quick.
		priv := keys[int(data[0])%(len(keys)-1)]
		h := rsaVerifyHashes[int(data[1])%len(rsaVerifyHashes)]
		pss := data[2]&1 == 1
		raw := data[2]&2 == 2 // the bytes are the signature itself
		data = data[3:]
		k := (priv.N.BitLen() + 7) / 8
		n := min(len(data), k)
		sig, digest := data[:n], data[n:]
		if !raw {
			if n < k {
				return
			}
			if sig = rawSign(priv, sig); sig == nil {
				return
			}
		}
		agree(t, "fuzzed", pss, &priv.PublicKey, h, digest, sig)
	})
}

// BenchmarkRSAVerify compares the math/big verifier with crypto/rsa on
// the signatures a TLS 1.3 handshake checks.
func BenchmarkRSAVerify(b *testing.B) {
	for _, bits := range []int{2048, 3072, 4096} {
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			b.Fatal(err)
		}
		digest := make([]byte, 32)
		sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range []struct {
			name string
			pss  bool
			fn   func(bool, *rsa.PublicKey, crypto.Hash, []byte, []byte) error
		}{{"holdfast", true, ourRSAVerify}, {"crypto-rsa", true, referenceRSAVerify}} {
			b.Run(fmt.Sprintf("PSS-%d/%s", bits, v.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := v.fn(v.pss, &priv.PublicKey, crypto.SHA256, digest, sig); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

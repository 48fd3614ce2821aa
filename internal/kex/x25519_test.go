package kex

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 7748 §5.2 (single multiplications, the second with the u
// coordinate's top bit set, which must be ignored) and §6.1 (the
// Diffie-Hellman exchange of Alice and Bob).
func TestX25519Vectors(t *testing.T) {
	for _, v := range []struct{ scalar, u, out string }{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
		{"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
		{"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
	} {
		out := make([]byte, 32)
		if err := x25519(out, unhex(t, v.scalar), unhex(t, v.u)); err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(out) != v.out {
			t.Errorf("X25519(%s…, %s…) = %x, want %s", v.scalar[:8], v.u[:8], out, v.out)
		}
	}
	for _, v := range []struct{ scalar, public string }{
		{"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
		{"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
	} {
		pub := make([]byte, 32)
		if err := x25519Public(pub, unhex(t, v.scalar)); err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(pub) != v.public {
			t.Errorf("public key of %s… = %x, want %s", v.scalar[:8], pub, v.public)
		}
	}
}

// RFC 7748 §5.2's iteration: k and u start as the base point's
// encoding; each round computes X25519(k, u), then u takes k's old
// value and k the result.
func TestX25519Iterated(t *testing.T) {
	k := make([]byte, 32)
	k[0] = 9
	u := bytes.Clone(k)
	out := make([]byte, 32)
	want := map[int]string{
		1:    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
		1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
	}
	for i := 1; i <= 1000; i++ {
		if err := x25519(out, k, u); err != nil {
			t.Fatal(err)
		}
		copy(u, k)
		copy(k, out)
		if w, ok := want[i]; ok && hex.EncodeToString(k) != w {
			t.Fatalf("after %d iterations k = %x, want %s", i, k, w)
		}
	}
}

// The ladder and the fixed-base path agree with crypto/ecdh on random
// scalars and on random peer points (any 32 bytes, top bit included).
func TestX25519AgreesWithCryptoECDH(t *testing.T) {
	for range 2000 {
		scalar := make([]byte, 32)
		peer := make([]byte, 32)
		rand.Read(scalar)
		rand.Read(peer)
		checkAgainstECDH(t, scalar, peer)
	}
}

// Points of small order give an all-zero result, which must be an error
// (RFC 8446 §7.4.2), as crypto/ecdh makes it.
func TestX25519LowOrderPoints(t *testing.T) {
	scalar := make([]byte, 32)
	rand.Read(scalar)
	for _, u := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p, non-canonical 0
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1, non-canonical 1
	} {
		out := make([]byte, 32)
		err := x25519(out, scalar, unhex(t, u))
		if !errors.Is(err, errX25519LowOrder) {
			t.Errorf("u = %s…: err %v, want the low-order error", u[:8], err)
		}
		if !bytes.Equal(out, make([]byte, 32)) {
			t.Errorf("u = %s…: output not all zeros", u[:8])
		}
		checkAgainstECDH(t, scalar, unhex(t, u))
	}
}

func checkAgainstECDH(t testing.TB, scalar, peer []byte) {
	t.Helper()
	priv, err := ecdh.X25519().NewPrivateKey(scalar)
	if err != nil {
		t.Fatal(err)
	}
	pub := make([]byte, 32)
	if err := x25519Public(pub, scalar); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub, priv.PublicKey().Bytes()) {
		t.Fatalf("public key of %x: %x, crypto/ecdh %x", scalar, pub, priv.PublicKey().Bytes())
	}
	out := make([]byte, 32)
	err = x25519(out, scalar, peer)
	peerKey, perr := ecdh.X25519().NewPublicKey(peer)
	if perr != nil {
		t.Fatal(perr)
	}
	want, werr := priv.ECDH(peerKey)
	if (err == nil) != (werr == nil) {
		t.Fatalf("X25519(%x, %x): error %v, crypto/ecdh %v", scalar, peer, err, werr)
	}
	if err == nil && !bytes.Equal(out, want) {
		t.Fatalf("X25519(%x, %x) = %x, crypto/ecdh %x", scalar, peer, out, want)
	}
}

func FuzzX25519(f *testing.F) {
	f.Add(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{0xff}, 32))
	f.Add(make([]byte, 32), make([]byte, 32))
	f.Fuzz(func(t *testing.T, scalar, peer []byte) {
		if len(scalar) != 32 || len(peer) != 32 {
			if x25519(make([]byte, 32), scalar, peer) == nil {
				t.Fatal("inputs of the wrong length accepted")
			}
			// Then compare on the inputs cut or padded to 32 bytes.
			scalar = append(scalar[:min(len(scalar), 32):min(len(scalar), 32)], make([]byte, 32)...)[:32]
			peer = append(peer[:min(len(peer), 32):min(len(peer), 32)], make([]byte, 32)...)[:32]
		}
		checkAgainstECDH(t, scalar, peer)
	})
}

// Both ends of an X25519 exchange: a key share made, then a shared
// secret, here and through crypto/ecdh.
func BenchmarkX25519(b *testing.B) {
	scalar := make([]byte, 32)
	peer := make([]byte, 32)
	rand.Read(scalar)
	rand.Read(peer)
	out := make([]byte, 32)
	b.Run("public/holdfast", func(b *testing.B) {
		for b.Loop() {
			x25519Public(out, scalar)
		}
	})
	b.Run("public/crypto-ecdh", func(b *testing.B) {
		for b.Loop() {
			k, _ := ecdh.X25519().NewPrivateKey(scalar)
			k.PublicKey()
		}
	})
	b.Run("shared/holdfast", func(b *testing.B) {
		for b.Loop() {
			x25519(out, scalar, peer)
		}
	})
	b.Run("shared/crypto-ecdh", func(b *testing.B) {
		k, _ := ecdh.X25519().NewPrivateKey(scalar)
		p, _ := ecdh.X25519().NewPublicKey(peer)
		for b.Loop() {
			k.ECDH(p)
		}
	})
}

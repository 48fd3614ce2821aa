package hkdf

import (
	stdhkdf "crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
)

// Steady-state derivations allocate nothing: no heap object can hold a
// copy of key material after the call.
func TestDerivationsDoNotAllocate(t *testing.T) {
	secret := secretOf(t, make([]byte, 48))
	out32, out48, out12, out104 := newSecret(t, 32), newSecret(t, 48), newSecret(t, 12), newSecret(t, 104)
	transcript := make([]byte, 48)
	seedA, seedB := make([]byte, 32), make([]byte, 32)
	mac := make([]byte, 48)
	cases := map[string]func(){
		"Extract":        func() { _ = Extract(SHA256, out32, secret, secret) },
		"Expand":         func() { _ = Expand(SHA384, out104, secret, transcript) },
		"ExpandLabel":    func() { _ = ExpandLabel(SHA256, out12, secret, "iv", nil) },
		"DeriveSecret":   func() { _ = DeriveSecret(SHA384, out48, secret, "c hs traffic", transcript) },
		"PRF":            func() { _ = PRF(SHA256, out104, secret, "key expansion", seedA, seedB) },
		"MAC":            func() { _ = MAC(SHA384, mac, secret, transcript) },
		"TrafficKey":     func() { _ = TrafficKey(SHA256, out32, out12, secret) },
		"NextTraffic":    func() { _ = NextTrafficSecret(SHA384, out48, secret) },
		"PRF-SHA384-EMS": func() { _ = PRF(SHA384, out48, secret, "extended master secret", transcript) },
	}
	for name, f := range cases {
		f() // warm the state cache
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %.1f allocations per call, want 0", name, n)
		}
	}
}

// The benchmarks run the same derivation through this package and through
// the standard library (crypto/hkdf, crypto/hmac), which crypto/tls uses.

func BenchmarkExpandLabel(b *testing.B) {
	secret := secretOf(b, make([]byte, 32))
	out := newSecret(b, 32)
	th := make([]byte, 32)
	b.Run("holdfast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := ExpandLabel(SHA256, out, secret, "c hs traffic", th); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		key := make([]byte, 32)
		info := []byte("\x00\x20\x12tls13 c hs traffic\x20")
		info = append(info, th...)
		for b.Loop() {
			if _, err := stdhkdf.Expand(sha256.New, key, string(info), 32); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkExtract(b *testing.B) {
	salt, ikm := secretOf(b, make([]byte, 48)), secretOf(b, make([]byte, 48))
	out := newSecret(b, 48)
	b.Run("holdfast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Extract(SHA384, out, salt, ikm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		s, k := make([]byte, 48), make([]byte, 48)
		for b.Loop() {
			if _, err := stdhkdf.Extract(sha512.New384, k, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPRF derives a TLS 1.2 key block for AES-128-CBC-SHA (104 bytes).
func BenchmarkPRF(b *testing.B) {
	master := secretOf(b, make([]byte, 48))
	out := newSecret(b, 104)
	seed := make([]byte, 32)
	b.Run("holdfast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := PRF(SHA256, out, master, "key expansion", seed, seed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib-hmac", func(b *testing.B) {
		b.ReportAllocs()
		key := make([]byte, 48)
		dst := make([]byte, 104)
		full := append([]byte("key expansion"), append(seed, seed...)...)
		for b.Loop() {
			stdPHash(sha256.New, dst, key, full)
		}
	})
}

// stdPHash is P_hash written on crypto/hmac the way crypto/tls computes it,
// as the point of comparison.
func stdPHash(h func() hash.Hash, out, secret, seed []byte) {
	m := hmac.New(h, secret)
	m.Write(seed)
	a := m.Sum(nil)
	for off := 0; off < len(out); {
		m.Reset()
		m.Write(a)
		m.Write(seed)
		off += copy(out[off:], m.Sum(nil))
		m.Reset()
		m.Write(a)
		a = m.Sum(nil)
	}
}

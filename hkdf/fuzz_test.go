package hkdf

import (
	stdhkdf "crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
)

// FuzzExpandLabel checks HKDF-Expand-Label, over any secret, label, context
// and length, against crypto/hkdf given the same HkdfLabel encoding, and
// checks that bad lengths are errors, not panics.
func FuzzExpandLabel(f *testing.F) {
	f.Add(true, []byte("secret-secret-secret-secret-1234"), "c hs traffic", []byte("context"), uint16(32))
	f.Add(false, make([]byte, 48), "key", []byte{}, uint16(32))
	f.Add(true, []byte{1}, "", make([]byte, 255), uint16(8160))
	f.Fuzz(func(t *testing.T, sha384 bool, secret []byte, label string, context []byte, n uint16) {
		h, newHash := SHA256, func() hash.Hash { return sha256.New() }
		if sha384 {
			h, newHash = SHA384, func() hash.Hash { return sha512.New384() }
		}
		if len(secret) == 0 || n == 0 {
			return
		}
		out := newSecret(t, int(n))
		err := ExpandLabel(h, out, secretOf(t, secret), label, context)
		valid := len(label) <= 249 && len(context) <= 255 && int(n) <= 255*h.Size()
		if !valid {
			if err == nil {
				t.Fatalf("label %d, context %d, length %d: no error", len(label), len(context), n)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		info := []byte{byte(n >> 8), byte(n), byte(6 + len(label))}
		info = append(info, "tls13 "...)
		info = append(info, label...)
		info = append(info, byte(len(context)))
		info = append(info, context...)
		want, err := stdhkdf.Expand(newHash, secret, string(info), int(n))
		if err != nil {
			t.Fatal(err)
		}
		if !out.EqualBytes(want) {
			t.Fatal("HKDF-Expand-Label differs from crypto/hkdf")
		}
	})
}

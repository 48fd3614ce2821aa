package record

import (
	"testing"
)

// BenchmarkCBCPadding opens a full-size MAC-then-encrypt record that is
// valid, and the same record spoiled so that its padding is wrong (the
// last plaintext byte, the padding length, flipped through the previous
// ciphertext block), its padding length is far off, or its MAC is
// wrong. Lucky13 needs a timing difference between these; the ns/op
// should agree within noise. Run:
//
//	go test -run '^$' -bench CBCPadding -count 5 ./internal/record
func BenchmarkCBCPadding(b *testing.B) {
	k := kinds12[3] // AES-128-CBC-SHA1, MAC-then-encrypt: the seed's suite
	if k.name != "AES-128-CBC-SHA1" {
		b.Fatalf("kinds12[3] is %s", k.name)
	}
	ks := k.randKeys()
	rec, err := k.newProt12(b, ks, nil).Seal(nil, TypeApplicationData, randBytes(MaxPlaintext), 0)
	if err != nil {
		b.Fatal(err)
	}
	// In CBC, flipping a byte of ciphertext block n-1 flips the same byte
	// of plaintext block n: the last block carries the padding.
	lastPrev := len(rec) - 2*16
	spoil := func(off int, x byte) []byte {
		r := append([]byte(nil), rec...)
		r[off] ^= x
		return r
	}
	for _, c := range []struct {
		name string
		rec  []byte
	}{
		{"valid", rec},
		{"bad-padding", spoil(lastPrev+15, 0x01)},
		{"padding-length-flipped", spoil(lastPrev+15, 0xf0)},
		{"bad-mac", spoil(lastPrev-16, 0x01)},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := k.newProt12(b, ks, nil)
			buf := make([]byte, len(c.rec))
			for b.Loop() {
				copy(buf, c.rec)
				setSeq12(o, 0)
				_, _, err := o.Open(buf)
				if (err == nil) != (c.name == "valid") {
					b.Fatalf("%s: Open error %v", c.name, err)
				}
			}
		})
	}
}

package record

import (
	"bytes"
	"testing"
)

// fuzzKeys12 are fixed keys, so seeds sealed with them stay valid for the
// openers each fuzz run builds.
func fuzzKeys12(k kind12) keys12 {
	if k.isCBC() {
		return keys12{key: bytes.Repeat([]byte{7}, k.cbc.KeyLen()), mac: bytes.Repeat([]byte{8}, k.cbc.MACKeyLen())}
	}
	return keys12{key: bytes.Repeat([]byte{7}, k.aead.KeyLen()), iv: bytes.Repeat([]byte{9}, k.aead.FixedIVLen12())}
}

// FuzzOpen12 feeds arbitrary records to every TLS 1.2 opener, directly and
// through In: never a panic, never a plaintext over 2^14, and an accepted
// record's plaintext lies inside the record and carries the header's type.
// Seeds are real records of several lengths for each protection, and
// MAC-then-encrypt records with each kind of bad padding.
func FuzzOpen12(f *testing.F) {
	for i, k := range kinds12 {
		ks := fuzzKeys12(k)
		seal := k.newProt12(f, ks, nil)
		for _, n := range []int{0, 1, 100, 1000, MaxPlaintext} {
			setSeq12(seal, 0)
			rec, err := seal.Seal(nil, TypeApplicationData, make([]byte, n), 0)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(rec, uint8(i))
		}
		if isMtE(k) {
			size := k.cbc.MACKeyLen()
			f.Add(mteRecord(f, k, ks, 0, TypeHandshake, make([]byte, 256-size), nil, tlsPadding(255)), uint8(i))
			f.Add(mteRecord(f, k, ks, 0, TypeHandshake, make([]byte, 64-size-3), nil, []byte{9, 9, 9}), uint8(i))
			f.Add(cbcEncryptRecord(f, ks.key, TypeAlert, bytes.Repeat([]byte{255}, 64)), uint8(i))
		}
	}
	f.Add([]byte{23, 3, 3, 0, 0}, uint8(0))
	f.Add([]byte{23, 3}, uint8(3))
	f.Fuzz(func(t *testing.T, orig []byte, which uint8) {
		k := kinds12[int(which)%len(kinds12)]
		ks := fuzzKeys12(k)

		o := k.newProt12(t, ks, nil)
		rec := bytes.Clone(orig) // Open decrypts in place
		typ, p, err := o.Open(rec)
		if err == nil {
			if len(p) > MaxPlaintext {
				t.Fatalf("%s: plaintext of %d bytes", k.name, len(p))
			}
			if typ != ContentType(orig[0]) {
				t.Fatalf("%s: type %v from a record of type %d", k.name, typ, orig[0])
			}
			if !inside(p, rec) {
				t.Fatalf("%s: plaintext does not alias the record", k.name)
			}
		}

		in := NewIn(bytes.NewReader(orig))
		in.sawFirst = true
		in.SetOpener(k.newProt12(t, ks, nil), MaxBody12)
		defer in.Close()
		for range 8 {
			_, p, err := in.Next()
			if err != nil {
				return
			}
			if len(p) > MaxPlaintext {
				t.Fatalf("%s: In returned %d bytes", k.name, len(p))
			}
		}
	})
}

// inside reports whether p lies within b's backing array.
func inside(p, b []byte) bool {
	if len(p) == 0 {
		return true
	}
	for i := range b {
		if &b[i] == &p[0] {
			return i+len(p) <= len(b)
		}
	}
	return false
}

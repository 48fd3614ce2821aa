package record

import (
	"crypto/rand"
	"encoding/binary"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// A CBC protection used both ways and freed leaves no copy of its MAC key
// or of anything HMAC derives from it (the ipad and opad blocks, and their
// chaining values, in either byte order) anywhere in the process.
func TestCBCLeavesNoMACKeyResidue(t *testing.T) {
	var needles [][]byte
	var held []*mem.Secret
	defer func() {
		for _, n := range held {
			n.Free()
		}
	}()
	keep := func(b []byte) {
		n, err := residue.NewNeedle(nil, b)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, n)
		needles = append(needles, n.Bytes())
	}
	for _, k := range kinds12 {
		if !k.isCBC() {
			continue
		}
		key, err := mem.New(k.cbc.KeyLen())
		if err != nil {
			t.Fatal(err)
		}
		macKey, err := mem.New(k.cbc.MACKeyLen())
		if err != nil {
			t.Fatal(err)
		}
		rand.Read(key.Bytes())
		rand.Read(macKey.Bytes())
		seal, err := NewProtection12CBC(k.cbc, k.mode, key, macKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		open, err := NewProtection12CBC(k.cbc, k.mode, key, macKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		keep(macKey.Bytes())
		m := seal.mac
		// The padded keys, built byte by byte in locked needles (the
		// MAC itself keeps them only while it derives its chaining
		// values).
		for _, x := range []byte{0x36, 0x5c} {
			pad, err := residue.NewNeedle(nil, make([]byte, hashBlock))
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, pad)
			b, k := pad.Bytes(), macKey.Bytes()
			for i := range b {
				b[i] = x
				if i < len(k) {
					b[i] ^= k[i]
				}
			}
			needles = append(needles, b)
		}
		for _, cv := range [][]byte{m.istate[:m.size], m.ostate[:m.size]} {
			keep(cv)
			little := make([]byte, len(cv))
			for i := 0; i < len(cv); i += 4 {
				binary.LittleEndian.PutUint32(little[i:], binary.BigEndian.Uint32(cv[i:]))
			}
			keep(little)
			clear(little)
		}
		key.Free()
		macKey.Free()
		for _, n := range []int{0, 100, 1000, MaxPlaintext} {
			rec, err := seal.Seal(nil, TypeApplicationData, make([]byte, n), 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := open.Open(rec); err != nil {
				t.Fatal(err)
			}
		}
		seal.Free()
		open.Free()
	}
	residue.AssertNone(t, needles, mem.Default())
}

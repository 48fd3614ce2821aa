package record

import (
	"bytes"
	"testing"
)

// FuzzIn feeds arbitrary bytes to the record reader, plaintext and
// protected: every input ends in a record or an error, never a panic, and
// a payload never exceeds the plaintext limit.
func FuzzIn(f *testing.F) {
	key, iv := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, IVLen)
	seal := newProt(f, AES128GCM, key, iv)
	var seed []byte
	for _, n := range []int{0, 1, 100, MaxPlaintext} {
		seed, _ = seal.Seal(seed, TypeApplicationData, make([]byte, n), n%3)
	}
	f.Add(seed, true)
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0, 21, 3, 3, 0, 2, 2, 40}, false)
	f.Add([]byte{20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 0}, true)
	f.Fuzz(func(t *testing.T, wire []byte, protected bool) {
		in := NewIn(bytes.NewReader(wire))
		if protected {
			in.sawFirst = true
			in.SetOpener(newProt(t, AES128GCM, key, iv), MaxBody13)
		}
		defer in.Close()
		for range 64 {
			_, p, err := in.Next()
			if err != nil {
				return
			}
			if len(p) > MaxPlaintext {
				t.Fatalf("payload of %d bytes", len(p))
			}
		}
	})
}

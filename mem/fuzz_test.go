package mem

import (
	"bytes"
	"testing"
)

// FuzzPool drives a pool with a program of allocations, writes and frees
// read from the input, and checks after every step that fresh secrets read
// as zeros, that no secret sees another's writes, and that the counters
// agree with what is live.
func FuzzPool(f *testing.F) {
	// One pool for every input: mapping and locking fresh arenas per input
	// makes minimization crawl. Each input frees all it made, so the pool
	// starts every input empty.
	p := NewPool(Options{})
	f.Add([]byte{0, 48, 0, 16, 1, 0, 0, 200, 2, 1})
	f.Add(bytes.Repeat([]byte{0, 255, 0, 1}, 40))
	f.Fuzz(func(t *testing.T, prog []byte) {
		type held struct {
			s   *Secret
			tag byte
		}
		var live []held
		var liveBytes int64
		defer func() {
			for _, h := range live {
				h.s.Free()
			}
		}()
		for i := 0; i+1 < len(prog) && i < 200; i += 2 {
			op, arg := prog[i]%3, int(prog[i+1])
			switch op {
			case 0: // allocate; sizes up to 5 KiB reach the large path
				n := 1 + arg*20
				s, err := p.New(n)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(s.Bytes(), make([]byte, n)) {
					t.Fatalf("fresh %d-byte secret is not zero", n)
				}
				tag := byte(i) | 1
				for j := range s.Bytes() {
					s.Bytes()[j] = tag
				}
				live = append(live, held{s, tag})
				liveBytes += int64(n)
			case 1: // free one
				if len(live) == 0 {
					continue
				}
				k := arg % len(live)
				liveBytes -= int64(live[k].s.Len())
				live[k].s.Free()
				live = append(live[:k], live[k+1:]...)
			case 2: // check every live secret
				for _, h := range live {
					for _, c := range h.s.Bytes() {
						if c != h.tag {
							t.Fatal("a live secret was changed by another's writes or a free")
						}
					}
				}
			}
			if st := p.Stats(); st.LiveSecrets != int64(len(live)) || st.LiveBytes != liveBytes {
				t.Fatalf("stats %+v, want %d live secrets of %d bytes", st, len(live), liveBytes)
			}
		}
	})
}

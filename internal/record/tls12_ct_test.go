package record

import (
	"bytes"
	"encoding"
	"fmt"
	"hash"
	"strings"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// tracingHash wraps the hash a recordMAC runs on and logs every call
// (Write lengths, Sum, state exports), and counts the compression-function
// calls those imply: a whole block per 64 bytes written since Reset, and
// one or two for Sum's padding.
type tracingHash struct {
	hash.Hash
	exp    encoding.BinaryAppender
	log    strings.Builder
	length int // bytes written since Reset
	blocks int // compression-function calls implied
}

func (h *tracingHash) Reset() {
	h.log.WriteString("reset ")
	h.length = 0
	h.Hash.Reset()
}

func (h *tracingHash) Write(p []byte) (int, error) {
	fmt.Fprintf(&h.log, "write(%d) ", len(p))
	h.blocks += (h.length+len(p))/hashBlock - h.length/hashBlock
	h.length += len(p)
	return h.Hash.Write(p)
}

func (h *tracingHash) Sum(b []byte) []byte {
	h.log.WriteString("sum ")
	h.blocks++
	if h.length%hashBlock >= hashBlock-8 {
		h.blocks++
	}
	return h.Hash.Sum(b)
}

func (h *tracingHash) AppendBinary(b []byte) ([]byte, error) {
	h.log.WriteString("export ")
	return h.exp.AppendBinary(b)
}

// trace installs a tracingHash in a CBC opener.
func trace(p *Protection12CBC) *tracingHash {
	th := &tracingHash{Hash: p.mac.d, exp: p.mac.export}
	p.mac.d, p.mac.export = th, th
	return th
}

// Lucky13, structurally: opening a MAC-then-encrypt record does the same
// hash work, call for call, whatever its padding says. For records of
// several lengths, and every padding length 0..255, three records are
// opened (good padding and MAC; one padding byte wrong, MAC right; MAC
// wrong), plus records whose padding length byte is too large for the
// record. (The longest length also holds authentic payloads over 2^14,
// which must fail as record_overflow after the same work.) Within one record length all of them must produce the same trace
// of hash calls and the same number of compression-function calls, the
// good ones must open to their payload, and every other must fail with
// the identical error value.
func TestCBCOpenWorkIsIndependentOfPadding(t *testing.T) {
	for _, k := range kinds12 {
		if !isMtE(k) || k.cbc.KeyLen() != 16 {
			continue
		}
		size := k.cbc.MACKeyLen()
		t.Run(k.name, func(t *testing.T) {
			ks := k.randKeys()
			o := k.newProt12(t, ks, nil).(*Protection12CBC)
			th := trace(o)
			// Decrypted lengths (payload + MAC + padding): the shortest
			// possible, ones around the 256-byte window and hash blocks,
			// and the longest.
			for _, plen := range []int{48, 64, 272, 288, 304, 1040, 16384 + 48} {
				if plen < size+1 {
					continue
				}
				var want string
				wantBlocks := -1
				opens := 0
				open := func(rec []byte, good bool, payload []byte) {
					t.Helper()
					o.seq = 0
					th.log.Reset()
					th.blocks, o.mac.ctBlocks = 0, 0
					_, p, err := o.Open(rec)
					opens++
					got, blocks := th.log.String(), th.blocks+o.mac.ctBlocks
					if wantBlocks < 0 {
						want, wantBlocks = got, blocks
						t.Logf("decrypted length %d: %d compression-function calls per record (%d block by block)", plen, blocks, o.mac.ctBlocks)
					}
					if got != want || blocks != wantBlocks {
						t.Fatalf("decrypted length %d: hash work\n%s (%d blocks)\ndiffers from\n%s (%d blocks)", plen, got, blocks, want, wantBlocks)
					}
					switch {
					case good && len(payload) > MaxPlaintext:
						if alert.For(err) != alert.RecordOverflow {
							t.Fatalf("decrypted length %d: authentic %d-byte payload: %v", plen, len(payload), err)
						}
					case good && (err != nil || !bytes.Equal(p, payload)):
						t.Fatalf("decrypted length %d: good record with %d-byte payload: %v", plen, len(payload), err)
					case !good && err != alert.ErrBadRecordMAC:
						t.Fatalf("decrypted length %d: bad record gave %#v", plen, err)
					}
				}
				for pl := range 256 {
					n := plen - size - 1 - pl
					if n < 0 {
						// The padding length byte claims more than the
						// record holds.
						inner := randBytes(plen)
						inner[plen-1] = byte(pl)
						open(cbcEncryptRecord(t, ks.key, TypeApplicationData, inner), false, nil)
						continue
					}
					payload := randBytes(n)
					open(mteRecord(t, k, ks, 0, TypeApplicationData, payload, nil, tlsPadding(pl)), true, payload)
					if pl > 0 {
						bad := tlsPadding(pl)
						bad[randInt(pl)] ^= byte(1 + randInt(255))
						open(mteRecord(t, k, ks, 0, TypeApplicationData, payload, nil, bad), false, nil)
					}
					mac := refMAC(k.macHash(), ks.mac, 0, TypeApplicationData, payload)
					mac[randInt(size)] ^= 0x40
					open(mteRecord(t, k, ks, 0, TypeApplicationData, payload, mac, tlsPadding(pl)), false, nil)
				}
				if opens < 256 {
					t.Fatalf("only %d records opened", opens)
				}
			}
		})
	}
}

func randInt(n int) int {
	b := randBytes(2)
	return (int(b[0])<<8 | int(b[1])) % n
}

// The padding check reads the same bytes for every padding length and
// agrees with a plain reading of RFC 5246 §6.2.3.2.
func TestCBCPaddingMatchesTheRFC(t *testing.T) {
	for _, plen := range []int{1, 16, 32, 255, 256, 257, 300} {
		for _, reserve := range []int{0, 20, 32} {
			for pl := range 256 {
				for _, spoil := range []int{-1, 0, pl / 2, pl} {
					p := randBytes(plen)
					for i := 0; i <= pl && i < plen; i++ {
						p[plen-1-i] = byte(pl)
					}
					if spoil >= 0 && spoil < pl && spoil < plen-1 {
						p[plen-2-spoil] ^= 0x81
					}
					wantGood := pl+1+reserve <= plen
					for i := 0; wantGood && i <= pl; i++ {
						wantGood = p[plen-1-i] == byte(pl)
					}
					gotLen, good := cbcPadding(p, reserve)
					if (good == 1) != wantGood || good == 1 && gotLen != pl || good == 0 && gotLen != 0 {
						t.Fatalf("len %d reserve %d padding %d spoil %d: got (%d, %d), want good %v", plen, reserve, pl, spoil, gotLen, good, wantGood)
					}
				}
			}
		}
	}
}

func TestExtractMAC(t *testing.T) {
	for _, plen := range []int{33, 48, 100, 300, 301, 1000} {
		p := randBytes(plen)
		for _, size := range []int{20, 32} {
			hi := len(p) - size - 1
			lo := max(hi-maxPadding, 0)
			for n := lo; n <= hi; n++ {
				got := make([]byte, size)
				extractMAC(got, p, n, lo, hi)
				if !bytes.Equal(got, p[n:n+size]) {
					t.Fatalf("length %d, size %d, offset %d in [%d, %d]: got %x", plen, size, n, lo, hi, got)
				}
			}
		}
	}
}

// BenchmarkOpenShort12 opens a short record, where the constant-time
// tail (about 256 bytes hashed block by block, the MAC read from 256
// positions) is most of the work; encrypt_then_mac beside it shows the
// cost.
func BenchmarkOpenShort12(b *testing.B) {
	for _, k := range kinds12 {
		if !k.isCBC() {
			continue
		}
		b.Run(k.name, func(b *testing.B) {
			ks := k.randKeys()
			rec, err := k.newProt12(b, ks, nil).Seal(nil, TypeApplicationData, randBytes(200), 0)
			if err != nil {
				b.Fatal(err)
			}
			o := k.newProt12(b, ks, nil)
			buf := make([]byte, len(rec))
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, rec)
				setSeq12(o, 0)
				if _, _, err := o.Open(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

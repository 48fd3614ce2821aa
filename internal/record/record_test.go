package record

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/mem"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func secretOf(t testing.TB, b []byte) *mem.Secret {
	t.Helper()
	s, err := mem.New(len(b))
	if err != nil {
		t.Fatal(err)
	}
	copy(s.Bytes(), b)
	t.Cleanup(s.Free)
	return s
}

func newProt(t testing.TB, a AEAD, key, iv []byte) *Protection13 {
	t.Helper()
	p, err := NewProtection13(a, secretOf(t, key), secretOf(t, iv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Free)
	return p
}

// RFC 8448 §3: the client's Finished record (handshake key, sequence 0)
// and its first application data record (application key, sequence 0).
func TestRFC8448Records(t *testing.T) {
	cases := []struct {
		name, key, iv string
		typ           ContentType
		payload, rec  []byte
	}{
		{
			name: "client Finished", key: "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01", iv: "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f",
			typ:     TypeHandshake,
			payload: unhex(t, "14 00 00 20 a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76 94 fa c6 e9 85 27 b6 42 f2 ed d5 ce 61"),
			rec: unhex(t, `17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0
				51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c
				ae ac ab 68 67 d7 26 c4 05 46`),
		},
		{
			name: "client application data", key: "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51", iv: "5b 78 92 3d ee 08 57 90 33 e5 23 d9",
			typ: TypeApplicationData,
			payload: func() []byte {
				b := make([]byte, 50)
				for i := range b {
					b[i] = byte(i)
				}
				return b
			}(),
			rec: unhex(t, `17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea
				42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b
				62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4`),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seal := newProt(t, AES128GCM, unhex(t, c.key), unhex(t, c.iv))
			got, err := seal.Seal(nil, c.typ, c.payload, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.rec) {
				t.Fatalf("sealed record\n got %x\nwant %x", got, c.rec)
			}
			open := newProt(t, AES128GCM, unhex(t, c.key), unhex(t, c.iv))
			typ, plain, err := open.Open(append([]byte(nil), c.rec...))
			if err != nil || typ != c.typ || !bytes.Equal(plain, c.payload) {
				t.Fatalf("Open = %v, %x, %v", typ, plain, err)
			}
		})
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// pipe connects an Out to an In through a buffer.
func pipe(t testing.TB, a AEAD) (*Out, *In, *bytes.Buffer) {
	t.Helper()
	key, iv := randBytes(a.KeyLen()), randBytes(IVLen)
	var wire bytes.Buffer
	out, in := NewOut(&wire), NewIn(&wire)
	out.SetSealer(newProt(t, a, key, iv))
	in.SetOpener(newProt(t, a, key, iv), MaxBody13)
	in.sawFirst = true
	return out, in, &wire
}

func TestRoundTripAllAEADs(t *testing.T) {
	for _, a := range []AEAD{AES128GCM, AES256GCM, ChaCha20Poly1305} {
		t.Run(a.String(), func(t *testing.T) {
			out, in, _ := pipe(t, a)
			msg := randBytes(3*MaxPlaintext + 123)
			if err := out.Append(TypeApplicationData, msg); err != nil {
				t.Fatal(err)
			}
			if err := out.Flush(); err != nil {
				t.Fatal(err)
			}
			var got []byte
			for records := 0; len(got) < len(msg); records++ {
				typ, p, err := in.Next()
				if err != nil || typ != TypeApplicationData {
					t.Fatalf("record %d: %v %v", records, typ, err)
				}
				if len(p) > MaxPlaintext {
					t.Fatalf("record of %d bytes", len(p))
				}
				got = append(got, p...)
			}
			if !bytes.Equal(got, msg) {
				t.Fatal("payload changed in transit")
			}
			if _, _, err := in.Next(); err != io.EOF {
				t.Fatalf("after the last record: %v, want io.EOF", err)
			}
		})
	}
}

func TestPaddingIsStripped(t *testing.T) {
	key, iv := randBytes(16), randBytes(IVLen)
	seal, open := newProt(t, AES128GCM, key, iv), newProt(t, AES128GCM, key, iv)
	rec, err := seal.Seal(nil, TypeHandshake, []byte("hello"), 300)
	if err != nil {
		t.Fatal(err)
	}
	typ, p, err := open.Open(rec)
	if err != nil || typ != TypeHandshake || string(p) != "hello" {
		t.Fatalf("Open = %v %q %v", typ, p, err)
	}
}

// Malformed records get the alert RFC 8446 names.
func TestBadRecordsGetTheRightAlert(t *testing.T) {
	key, iv := randBytes(16), randBytes(IVLen)
	valid := func() []byte {
		rec, err := newProt(t, AES128GCM, key, iv).Seal(nil, TypeApplicationData, []byte("data"), 0)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	allPadding := func() []byte {
		p := newProt(t, AES128GCM, key, iv)
		hdr := []byte{23, 3, 3, 0, 4 + 16}
		return append(hdr, p.aead.Seal(nil, p.nonce(), make([]byte, 4), hdr)...)
	}
	cases := []struct {
		name   string
		wire   func() []byte
		plain  bool
		want   alert.Alert
		wantIO error
	}{
		{"flipped ciphertext bit", func() []byte { r := valid(); r[7] ^= 1; return r }, false, alert.BadRecordMAC, nil},
		{"flipped tag bit", func() []byte { r := valid(); r[len(r)-1] ^= 0x80; return r }, false, alert.BadRecordMAC, nil},
		{"header changed (AAD)", func() []byte { r := valid(); r[2] = 1; return r }, false, alert.BadRecordMAC, nil},
		{"only padding", allPadding, false, alert.UnexpectedMessage, nil},
		{"protected record of type handshake", func() []byte { r := valid(); r[0] = 22; return r }, false, alert.UnexpectedMessage, nil},
		{"unknown content type", func() []byte { return []byte{99, 3, 3, 0, 1, 0} }, false, alert.UnexpectedMessage, nil},
		{"ciphertext over 2^14+256", func() []byte { return append([]byte{23, 3, 3, 0x41, 0x01}, make([]byte, 0x4101)...) }, false, alert.RecordOverflow, nil},
		{"plaintext record over 2^14", func() []byte { return append([]byte{22, 3, 3, 0x40, 0x01}, make([]byte, 0x4001)...) }, true, alert.RecordOverflow, nil},
		{"record version 0x0200", func() []byte { return []byte{22, 2, 0, 0, 1, 0} }, true, alert.DecodeError, nil},
		{"truncated body", func() []byte { return valid()[:10] }, false, 0, io.ErrUnexpectedEOF},
		{"truncated header", func() []byte { return []byte{23, 3} }, false, 0, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := NewIn(bytes.NewReader(c.wire()))
			in.sawFirst = true
			if !c.plain {
				in.SetOpener(newProt(t, AES128GCM, key, iv), MaxBody13)
			}
			_, _, err := in.Next()
			if c.wantIO != nil {
				if !errors.Is(err, c.wantIO) {
					t.Fatalf("err = %v, want %v", err, c.wantIO)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := alert.For(err); got != c.want {
				t.Fatalf("alert %v (%v), want %v", got, err, c.want)
			}
			// Errors are sticky.
			if _, _, err2 := in.Next(); err2 != err {
				t.Fatalf("second Next = %v, want the same error", err2)
			}
		})
	}
}

func TestFirstRecordMustBeHandshake(t *testing.T) {
	in := NewIn(strings.NewReader("GET / HTTP/1.1\r\n\r\n"))
	_, _, err := in.Next()
	if alert.For(err) != alert.UnexpectedMessage || !strings.Contains(err.Error(), "not a TLS handshake") {
		t.Fatalf("err = %v", err)
	}
}

func TestSealLimit(t *testing.T) {
	p := newProt(t, AES128GCM, randBytes(16), randBytes(IVLen))
	p.seq = p.limit - updateMargin - 1
	if p.NeedsKeyUpdate() {
		t.Fatal("asks for a key update too early")
	}
	p.seq++
	if !p.NeedsKeyUpdate() {
		t.Fatal("does not ask for a key update near the limit")
	}
	p.seq = p.limit
	if _, err := p.Seal(nil, TypeApplicationData, []byte("x"), 0); !errors.Is(err, ErrSealLimit) {
		t.Fatalf("Seal at the limit: %v", err)
	}
	c := newProt(t, ChaCha20Poly1305, randBytes(32), randBytes(IVLen))
	c.seq = 1 << 40
	if c.NeedsKeyUpdate() {
		t.Fatal("ChaCha20-Poly1305 asks for a key update long before its limit")
	}
}

// Steady state: sealing, writing, reading and opening a record allocates
// nothing.
func TestRecordsDoNotAllocate(t *testing.T) {
	for _, a := range []AEAD{AES128GCM, AES256GCM, ChaCha20Poly1305} {
		out, in, _ := pipe(t, a)
		msg := randBytes(MaxPlaintext)
		step := func() {
			if err := out.Append(TypeApplicationData, msg); err != nil {
				t.Fatal(err)
			}
			if err := out.Flush(); err != nil {
				t.Fatal(err)
			}
			if _, _, err := in.Next(); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if n := testing.AllocsPerRun(100, step); n != 0 {
			t.Errorf("%v: %.1f allocations per record, want 0", a, n)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	for _, a := range []AEAD{AES128GCM, ChaCha20Poly1305} {
		b.Run(a.String(), func(b *testing.B) {
			out, in, _ := pipe(b, a)
			msg := randBytes(MaxPlaintext)
			b.SetBytes(MaxPlaintext)
			b.ReportAllocs()
			for b.Loop() {
				out.Append(TypeApplicationData, msg)
				out.Flush()
				if _, _, err := in.Next(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

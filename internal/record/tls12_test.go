package record

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// protection12 is what both TLS 1.2 protections are.
type protection12 interface {
	Sealer
	Opener
}

// kind12 is one TLS 1.2 record protection under test.
type kind12 struct {
	name string
	aead AEAD // an AEAD suite, or
	cbc  CBC12
	mode CBCMode
}

var kinds12 = []kind12{
	{name: "AES-128-GCM", aead: AES128GCM},
	{name: "AES-256-GCM", aead: AES256GCM},
	{name: "ChaCha20-Poly1305", aead: ChaCha20Poly1305},
	{name: "AES-128-CBC-SHA1", cbc: AES128CBCSHA1},
	{name: "AES-256-CBC-SHA1", cbc: AES256CBCSHA1},
	{name: "AES-128-CBC-SHA256", cbc: AES128CBCSHA256},
	{name: "AES-256-CBC-SHA256", cbc: AES256CBCSHA256},
	{name: "AES-128-CBC-SHA1-EtM", cbc: AES128CBCSHA1, mode: EncryptThenMAC},
	{name: "AES-256-CBC-SHA256-EtM", cbc: AES256CBCSHA256, mode: EncryptThenMAC},
}

func (k kind12) isCBC() bool { return k.cbc != 0 }

// keys12 is one direction's share of a key block.
type keys12 struct{ key, iv, mac []byte }

func (k kind12) randKeys() keys12 {
	if k.isCBC() {
		return keys12{key: randBytes(k.cbc.KeyLen()), mac: randBytes(k.cbc.MACKeyLen())}
	}
	return keys12{key: randBytes(k.aead.KeyLen()), iv: randBytes(k.aead.FixedIVLen12())}
}

// newProt12 builds a protection; random is the CBC IV source (nil:
// crypto/rand).
func (k kind12) newProt12(t testing.TB, ks keys12, random io.Reader) protection12 {
	t.Helper()
	var p protection12
	var err error
	if k.isCBC() {
		p, err = NewProtection12CBC(k.cbc, k.mode, secretOf(t, ks.key), secretOf(t, ks.mac), random)
	} else {
		p, err = NewProtection12AEAD(k.aead, secretOf(t, ks.key), secretOf(t, ks.iv))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Free)
	return p
}

// pipe12 connects an Out to an In through a buffer with one key.
func pipe12(t testing.TB, k kind12) (*Out, *In) {
	t.Helper()
	ks := k.randKeys()
	var wire bytes.Buffer
	out, in := NewOut(&wire), NewIn(&wire)
	out.SetSealer(k.newProt12(t, ks, nil))
	in.SetOpener(k.newProt12(t, ks, nil), MaxBody12)
	in.sawFirst = true
	return out, in
}

func TestRoundTrip12(t *testing.T) {
	for _, k := range kinds12 {
		t.Run(k.name, func(t *testing.T) {
			out, in := pipe12(t, k)
			// Every short length crosses each block and padding boundary;
			// then a stream that fills whole records.
			var sent [][]byte
			for n := range 100 {
				sent = append(sent, randBytes(n))
			}
			sent = append(sent, randBytes(3*MaxPlaintext+123))
			for i, msg := range sent {
				typ := TypeApplicationData
				if i%7 == 3 {
					typ = TypeHandshake
				}
				if err := out.Append(typ, msg); err != nil {
					t.Fatal(err)
				}
				if err := out.Flush(); err != nil {
					t.Fatal(err)
				}
				var got []byte
				for first := true; first || len(got) < len(msg); first = false {
					gtyp, p, err := in.Next()
					if err != nil || gtyp != typ {
						t.Fatalf("message %d: %v %v", i, gtyp, err)
					}
					if len(p) > MaxPlaintext {
						t.Fatalf("record of %d bytes", len(p))
					}
					got = append(got, p...)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("message %d (%d bytes) changed in transit", i, len(msg))
				}
			}
			if _, _, err := in.Next(); err != io.EOF {
				t.Fatalf("after the last record: %v, want io.EOF", err)
			}
		})
	}
}

func TestSealPadding12(t *testing.T) {
	for _, k := range kinds12 {
		t.Run(k.name, func(t *testing.T) {
			ks := k.randKeys()
			seal, open := k.newProt12(t, ks, nil), k.newProt12(t, ks, nil)
			rec0, err := seal.Seal(nil, TypeApplicationData, []byte("hello"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, max := len(rec0)-HeaderLen-5, seal.Overhead(); got > max {
				t.Fatalf("sealing added %d bytes, Overhead says at most %d", got, max)
			}
			if _, _, err := open.Open(rec0); err != nil {
				t.Fatal(err)
			}
			rec, err := seal.Seal(nil, TypeAlert, []byte("hello"), 100)
			if !k.isCBC() {
				if err == nil {
					t.Fatal("an AEAD record took padding")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rec) != len(rec0)+112 {
				t.Fatalf("padded record is %d bytes, want %d", len(rec), len(rec0)+112)
			}
			typ, p, err := open.Open(rec)
			if err != nil || typ != TypeAlert || string(p) != "hello" {
				t.Fatalf("Open = %v %q %v", typ, p, err)
			}
			if _, err := seal.Seal(nil, TypeAlert, nil, 250); err == nil {
				t.Fatal("padding over 255 bytes accepted")
			}
		})
	}
}

// Steady state: sealing, writing, reading and opening a TLS 1.2 record
// allocates nothing.
func TestRecords12DoNotAllocate(t *testing.T) {
	for _, k := range kinds12 {
		out, in := pipe12(t, k)
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
		limit := 0.0
		if raceBuild && isMtE(k) {
			// Under -race, crypto/sha1's and crypto/sha256's AppendBinary
			// (recordMAC.chain) allocate the zero block they append: the
			// instrumentation defeats the compiler's append(make) rewrite.
			// It holds zeros only; a normal build allocates nothing.
			limit = 1
		}
		if n := testing.AllocsPerRun(50, step); n > limit {
			t.Errorf("%s: %.1f allocations per record, want %v", k.name, n, limit)
		}
	}
}

func TestSealLimit12(t *testing.T) {
	for _, k := range kinds12 {
		t.Run(k.name, func(t *testing.T) {
			ks := k.randKeys()
			p := k.newProt12(t, ks, nil)
			if p.NeedsKeyUpdate() {
				t.Fatal("TLS 1.2 protection asks for a key update")
			}
			setSeq12(p, seqLimit-1)
			if _, err := p.Seal(nil, TypeApplicationData, []byte("x"), 0); err != nil {
				t.Fatalf("last sequence number: %v", err)
			}
			if _, err := p.Seal(nil, TypeApplicationData, []byte("x"), 0); !errors.Is(err, ErrSealLimit12) || !errors.Is(err, ErrSealLimit) {
				t.Fatalf("Seal past the sequence limit: %v", err)
			}
			o := k.newProt12(t, ks, nil)
			setSeq12(o, seqLimit)
			rec := validRecord12(t, k, ks, 0)
			if _, _, err := o.Open(rec); alert.For(err) != alert.UnexpectedMessage {
				t.Fatalf("Open past the sequence limit: %v", err)
			}
		})
	}
	ks := kind12{aead: AES128GCM}.randKeys()
	p, err := NewProtection12AEAD(AES128GCM, secretOf(t, ks.key), secretOf(t, ks.iv))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	p.used = gcmSealLimit - (MaxPlaintext/16 + 1)
	if _, err := p.Seal(nil, TypeApplicationData, make([]byte, MaxPlaintext), 0); err != nil {
		t.Fatalf("AES-GCM up to its limit: %v", err)
	}
	if _, err := p.Seal(nil, TypeApplicationData, []byte("x"), 0); !errors.Is(err, ErrSealLimit12) {
		t.Fatalf("AES-GCM past its limit: %v", err)
	}
	c, err := NewProtection12AEAD(ChaCha20Poly1305, secretOf(t, randBytes(32)), secretOf(t, randBytes(12)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Free()
	c.used = gcmSealLimit
	if _, err := c.Seal(nil, TypeApplicationData, []byte("x"), 0); err != nil {
		t.Fatalf("ChaCha20-Poly1305 held to the AES-GCM limit: %v", err)
	}
}

func setSeq12(p protection12, seq uint64) {
	switch p := p.(type) {
	case *Protection12AEAD:
		p.seq = seq
	case *Protection12CBC:
		p.seq = seq
	}
}

func TestConstructorsRejectBadKeys12(t *testing.T) {
	s := func(n int) []byte { return randBytes(n) }
	if _, err := NewProtection12AEAD(AES128GCM, secretOf(t, s(16)), secretOf(t, s(12))); err == nil {
		t.Error("AES-GCM took a 12-byte salt")
	}
	if _, err := NewProtection12AEAD(ChaCha20Poly1305, secretOf(t, s(32)), secretOf(t, s(4))); err == nil {
		t.Error("ChaCha20-Poly1305 took a 4-byte IV")
	}
	if _, err := NewProtection12AEAD(AES256GCM, secretOf(t, s(16)), secretOf(t, s(4))); err == nil {
		t.Error("AES-256-GCM took a 16-byte key")
	}
	if _, err := NewProtection12CBC(AES128CBCSHA1, MACThenEncrypt, secretOf(t, s(16)), secretOf(t, s(32)), nil); err == nil {
		t.Error("HMAC-SHA1 took a 32-byte key")
	}
	if _, err := NewProtection12CBC(AES256CBCSHA256, MACThenEncrypt, secretOf(t, s(16)), secretOf(t, s(32)), nil); err == nil {
		t.Error("AES-256-CBC took a 16-byte key")
	}
	if _, err := NewProtection12CBC(AES128CBCSHA1, CBCMode(7), secretOf(t, s(16)), secretOf(t, s(20)), nil); err == nil {
		t.Error("unknown CBC mode accepted")
	}
	if _, err := NewProtection12CBC(CBC12(0), MACThenEncrypt, secretOf(t, s(16)), secretOf(t, s(20)), nil); err == nil {
		t.Error("unknown CBC suite accepted")
	}
}

func TestFreeIsIdempotent12(t *testing.T) {
	for _, k := range kinds12 {
		ks := k.randKeys()
		p := k.newProt12(t, ks, nil)
		p.Free()
		p.Free()
	}
}

// The MAC that recordMAC computes, both ways, is HMAC as crypto/hmac
// computes it, for every secret length in every window: across block
// boundaries, with and without a public prefix.
func TestRecordMACMatchesHMAC(t *testing.T) {
	for _, is256 := range []bool{false, true} {
		size, newHash := sha1.Size, sha1.New
		if is256 {
			size, newHash = sha256.Size, sha256.New
		}
		key := randBytes(size)
		m, err := newRecordMAC(is256, secretOf(t, key))
		if err != nil {
			t.Fatal(err)
		}
		defer m.free()
		lengths := []int{300, 400, 511, 1000, 4097, MaxPlaintext + 300}
		for n := 0; n < 160; n++ {
			lengths = append(lengths, n)
		}
		for _, l := range lengths {
			data := randBytes(l)
			hi := l
			lo := max(hi-maxPadding, 0)
			for n := lo; n <= hi; n++ {
				version := []byte{3, 3}
				m.setHeader(uint64(l)<<20|uint64(n), TypeApplicationData, version, n)
				want := refMAC(newHash, key, uint64(l)<<20|uint64(n), TypeApplicationData, data[:n])
				got := make([]byte, size)
				if err := m.sumSecretLen(got, data, n, lo, hi); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("SHA-256 %v, len %d, n %d: constant-time MAC %x, want %x", is256, l, n, got, want)
				}
				m.sum(got, data[:n/2], data[n/2:n])
				if !bytes.Equal(got, want) {
					t.Fatalf("SHA-256 %v, n %d: MAC %x, want %x", is256, n, got, want)
				}
			}
		}
	}
}

// refMAC is the TLS 1.2 record MAC by crypto/hmac.
func refMAC(newHash func() hash.Hash, key []byte, seq uint64, typ ContentType, data []byte) []byte {
	h := hmac.New(newHash, key)
	var hdr [13]byte
	binary.BigEndian.PutUint64(hdr[:], seq)
	hdr[8], hdr[9], hdr[10] = byte(typ), 3, 3
	binary.BigEndian.PutUint16(hdr[11:], uint16(len(data)))
	h.Write(hdr[:])
	h.Write(data)
	return h.Sum(nil)
}

func (k kind12) macHash() func() hash.Hash {
	if k.cbc.MACKeyLen() == 32 {
		return sha256.New
	}
	return sha1.New
}

// mteRecord builds a MAC-then-encrypt record independently of
// Protection12CBC: crypto/hmac and crypto/cipher over the plaintext
// payload + mac + padding, where the caller may spoil any part. mac nil
// means the right MAC.
func mteRecord(t testing.TB, k kind12, ks keys12, seq uint64, typ ContentType, payload, mac, padding []byte) []byte {
	t.Helper()
	if mac == nil {
		mac = refMAC(k.macHash(), ks.mac, seq, typ, payload)
	}
	inner := append(append(append([]byte{}, payload...), mac...), padding...)
	return cbcEncryptRecord(t, ks.key, typ, inner)
}

func cbcEncryptRecord(t testing.TB, key []byte, typ ContentType, inner []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	iv := randBytes(aes.BlockSize)
	body := append(iv, inner...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(body[aes.BlockSize:], body[aes.BlockSize:])
	hdr := []byte{byte(typ), 3, 3, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(body)))
	return append(hdr, body...)
}

// tlsPadding is good padding of length n: n+1 bytes of value n.
func tlsPadding(n int) []byte { return bytes.Repeat([]byte{byte(n)}, n+1) }

// validRecord12 seals a short record at sequence number seq.
func validRecord12(t testing.TB, k kind12, ks keys12, seq uint64) []byte {
	t.Helper()
	p := k.newProt12(t, ks, nil)
	setSeq12(p, seq)
	rec, err := p.Seal(nil, TypeApplicationData, []byte("attack at dawn"), 0)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func BenchmarkRecord12(b *testing.B) {
	for _, k := range kinds12 {
		b.Run(k.name, func(b *testing.B) {
			out, in := pipe12(b, k)
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

// BenchmarkOpen12 times Open alone on a full record (decrypting in place
// a copy of one sealed record each time).
func BenchmarkOpen12(b *testing.B) {
	for _, k := range kinds12 {
		b.Run(k.name, func(b *testing.B) {
			ks := k.randKeys()
			rec, err := k.newProt12(b, ks, nil).Seal(nil, TypeApplicationData, randBytes(MaxPlaintext), 0)
			if err != nil {
				b.Fatal(err)
			}
			o := k.newProt12(b, ks, nil)
			buf := make([]byte, len(rec))
			b.SetBytes(MaxPlaintext)
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

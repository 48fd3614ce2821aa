package wire

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// randTrustedAuthorities is a random list for the round-trip codecs:
// every identifier type, empty lists included.
func randTrustedAuthorities(r *rand.Rand) []TrustedAuthority {
	var out []TrustedAuthority
	for range r.IntN(5) {
		a := TrustedAuthority{Type: uint8(r.IntN(4))}
		switch a.Type {
		case CAKeySHA1, CACertSHA1:
			a.ID = randBytes(r, SHA1Len, SHA1Len)
		case CAX509Name:
			a.ID = randBytes(r, 1, 60)
		}
		out = append(out, a)
	}
	return out
}

var (
	tckName = []byte{0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04, 'R', 'o', 'o', 't'}
	tckHash = bytes.Repeat([]byte{0xab}, SHA1Len)
	// tckBody is a client's list: a root by name and key hash, another
	// by certificate hash, then pre_agreed.
	tckBody = v16(u8(2), v16(tckName), u8(1), tckHash, u8(3), tckHash, u8(0))
)

// The encoding is the RFC's, byte for byte, and reads back into the
// same entries.
func TestTrustedCAKeysEncoding(t *testing.T) {
	m := &ClientHello{
		Vers: 0x0303, CipherSuites: []uint16{0x1301}, CompressionMethods: []byte{0},
		HasTrustedCAKeys: true,
		TrustedCAKeys: []TrustedAuthority{
			{CAX509Name, tckName}, {CAKeySHA1, tckHash}, {CACertSHA1, tckHash}, {CAPreAgreed, nil},
		},
		ExtensionOrder: []uint16{},
	}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := clientHello(nil, ext(int(ExtTrustedCAKeys), tckBody)); !bytes.Equal(raw, want) {
		t.Fatalf("encoding\n got %x\nwant %x", raw, want)
	}
	back, err := ParseClientHello(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !back.HasTrustedCAKeys || !reflect.DeepEqual(back.TrustedCAKeys, m.TrustedCAKeys) {
		t.Fatalf("read back %+v", back.TrustedCAKeys)
	}

	// An empty list is legal (<0..2^16-1>) and differs from no extension.
	empty, err := ParseClientHello(clientHello(nil, ext(int(ExtTrustedCAKeys), v16())))
	if err != nil || !empty.HasTrustedCAKeys || empty.TrustedCAKeys != nil {
		t.Fatalf("empty list: %+v, %v", empty, err)
	}
	none, err := ParseClientHello(clientHello(nil))
	if err != nil || none.HasTrustedCAKeys {
		t.Fatalf("no extension: %+v, %v", none, err)
	}

	sh := &ServerHello{Vers: 0x0303, CipherSuite: 0x1301, TrustedCAKeysAck: true, ExtensionOrder: []uint16{}}
	raw, err = sh.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := serverHello(zeros32, nil, 0, ext(int(ExtTrustedCAKeys))); !bytes.Equal(raw, want) {
		t.Fatalf("ServerHello ack\n got %x\nwant %x", raw, want)
	}
}

func TestTrustedCAKeysRejections(t *testing.T) {
	tck := func(body ...[]byte) []byte { return clientHello(nil, ext(int(ExtTrustedCAKeys), body...)) }
	ch := func(b []byte) error { _, err := ParseClientHello(b); return err }
	sh := func(b []byte) error { _, err := ParseServerHello(b); return err }
	for _, tc := range []struct {
		name  string
		parse func([]byte) error
		in    []byte
	}{
		{"empty body", ch, tck()},
		{"list length past the body", ch, tck(u16(3), u8(0))},
		{"bytes after the list", ch, tck(v16(u8(0)), u8(0))},
		{"key_sha1_hash of 19 bytes", ch, tck(v16(u8(1), tckHash[:19]))},
		{"cert_sha1_hash of 19 bytes", ch, tck(v16(u8(3), tckHash[:19]))},
		{"x509_name empty", ch, tck(v16(u8(2), v16()))},
		{"x509_name truncated", ch, tck(v16(u8(2), u16(40), tckName))},
		{"identifier type missing", ch, tck(u16(1))},
		{"unknown identifier type 4", ch, tck(v16(u8(4), tckHash))},
		{"unknown identifier type 255 after good ones", ch, tck(v16(u8(0), u8(1), tckHash, u8(255)))},
		{"twice", ch, clientHello(nil, ext(int(ExtTrustedCAKeys), v16()), ext(int(ExtTrustedCAKeys), v16()))},
		{"ServerHello ack not empty", sh, serverHello(zeros32, nil, 0, ext(int(ExtTrustedCAKeys), v16()))},
		{"ServerHello ack echoing a list", sh, serverHello(zeros32, nil, 0, ext(int(ExtTrustedCAKeys), tckBody))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse(tc.in)
			if !errors.Is(err, alert.ErrDecode) {
				t.Fatalf("got %v; want decode_error", err)
			}
		})
	}
}

// Marshal refuses what the parser would refuse.
func TestTrustedCAKeysMarshalRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    ClientHello
	}{
		{"list without HasTrustedCAKeys", ClientHello{TrustedCAKeys: []TrustedAuthority{{CAPreAgreed, nil}}}},
		{"pre_agreed with an identifier", ClientHello{HasTrustedCAKeys: true, TrustedCAKeys: []TrustedAuthority{{CAPreAgreed, tckHash}}}},
		{"short key hash", ClientHello{HasTrustedCAKeys: true, TrustedCAKeys: []TrustedAuthority{{CAKeySHA1, tckHash[:8]}}}},
		{"long certificate hash", ClientHello{HasTrustedCAKeys: true, TrustedCAKeys: []TrustedAuthority{{CACertSHA1, append(tckHash, 0)}}}},
		{"empty name", ClientHello{HasTrustedCAKeys: true, TrustedCAKeys: []TrustedAuthority{{CAX509Name, nil}}}},
		{"undefined type", ClientHello{HasTrustedCAKeys: true, TrustedCAKeys: []TrustedAuthority{{4, nil}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.m.Vers, tc.m.CipherSuites, tc.m.CompressionMethods = 0x0303, []uint16{0x1301}, []byte{0}
			if raw, err := tc.m.Marshal(); err == nil {
				t.Fatalf("marshalled %x", raw)
			}
		})
	}
}

// FuzzTrustedCAKeys feeds arbitrary extension bodies to the ClientHello
// parser (which must keep its properties and fail only with
// decode_error, the hello around the body being well formed) and to the
// ServerHello parser (which must take exactly the empty body).
func FuzzTrustedCAKeys(f *testing.F) {
	f.Add(tckBody)
	f.Add(v16())
	f.Add([]byte{})
	f.Add(v16(u8(0)))
	f.Add(v16(u8(4), tckHash))
	f.Add(v16(u8(2), v16(tckName)))
	sum := sha1.Sum(tckName)
	f.Add(v16(u8(1), sum[:], u8(3), sum[:19]))
	r := rand.New(rand.NewPCG(6066, 6))
	for range 8 {
		m := &ClientHello{Vers: 0x0303, CipherSuites: []uint16{0x1301}, CompressionMethods: []byte{0},
			HasTrustedCAKeys: true, TrustedCAKeys: randTrustedAuthorities(r)}
		raw, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		// The body is the hello's tail after the extension header.
		f.Add(raw[len(clientHello(nil))+4:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 0xfff0 {
			return
		}
		in := clientHello(nil, ext(int(ExtTrustedCAKeys), body))
		checkParse(t, in, ParseClientHello)
		if _, err := ParseClientHello(in); err != nil && !errors.Is(err, alert.ErrDecode) {
			t.Fatalf("ClientHello failure is not decode_error: %v", err)
		}
		sh, err := ParseServerHello(serverHello(zeros32, nil, 0, ext(int(ExtTrustedCAKeys), body)))
		if len(body) == 0 && (err != nil || !sh.TrustedCAKeysAck) {
			t.Fatalf("empty ack refused: %v", err)
		}
		if len(body) > 0 && !errors.Is(err, alert.ErrDecode) {
			t.Fatalf("non-empty ack: %v; want decode_error", err)
		}
	})
}

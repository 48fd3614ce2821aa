package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

func TestServerPremaster(t *testing.T) {
	m := &ServerPremaster{EncryptedPremaster: bytes.Repeat([]byte{7}, 256), Algorithm: 0x0804, Signature: []byte{1, 2, 3}}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseServerPremaster(raw)
	if err != nil || !bytes.Equal(back.EncryptedPremaster, m.EncryptedPremaster) || back.Algorithm != 0x0804 || !bytes.Equal(back.Signature, m.Signature) {
		t.Fatalf("round trip: %v", err)
	}
	signed := m.SignedContent(make([]byte, 32), make([]byte, 32))
	if len(signed) != 64+2+256 {
		t.Fatalf("signed content is %d bytes", len(signed))
	}
	for name, body := range map[string][]byte{
		"no ciphertext":  {0, 0, 8, 4, 0, 1, 1},
		"no signature":   {0, 1, 9, 8, 4, 0, 0},
		"trailing bytes": append(append([]byte{}, raw[HeaderLen:]...), 0),
		"truncated":      raw[HeaderLen : len(raw)-1],
	} {
		if _, err := ParseServerPremaster(msg(TypeServerKeyExchange, body)); !errors.Is(err, alert.ErrDecode) {
			t.Errorf("%s: %v, want decode_error", name, err)
		}
	}
}

func FuzzServerPremaster(f *testing.F) {
	m := &ServerPremaster{EncryptedPremaster: []byte{1, 2}, Algorithm: 0x0401, Signature: []byte{3}}
	raw, _ := m.Marshal()
	f.Add(raw)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseServerPremaster(in)
		if err != nil {
			return
		}
		again, err := m.Marshal()
		if err != nil || !bytes.Equal(again, in) {
			t.Fatalf("ServerPremaster does not round-trip: %v", err)
		}
	})
}

package wire

import (
	"bytes"
	"testing"
)

func TestCompressedCertificateRoundTrip(t *testing.T) {
	m := &CompressedCertificate{Algorithm: CertCompressionZlib, UncompressedLength: 1234, Compressed: []byte("deflated")}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCompressedCertificate(raw)
	if err != nil || got.Algorithm != 1 || got.UncompressedLength != 1234 || !bytes.Equal(got.Compressed, m.Compressed) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for i := HeaderLen; i < len(raw); i++ {
		short := append([]byte{raw[0], 0, byte((i - HeaderLen) >> 8), byte(i - HeaderLen)}, raw[HeaderLen:i]...)
		if _, err := ParseCompressedCertificate(short); err == nil {
			t.Fatalf("truncated to %d body bytes: parsed", i-HeaderLen)
		}
	}
	for _, bad := range []*CompressedCertificate{{Algorithm: 1, UncompressedLength: 0, Compressed: []byte{1}}, {Algorithm: 1, UncompressedLength: 5}} {
		if _, err := bad.Marshal(); err == nil {
			t.Fatalf("%+v marshalled", bad)
		}
	}
	ch := &ClientHello{Vers: 0x0303, SessionID: []byte{}, CipherSuites: []uint16{0x1301}, CompressionMethods: []byte{0}, CertCompression: []uint16{1, 2}}
	raw, err = ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseClientHello(raw)
	if err != nil || len(back.CertCompression) != 2 || back.CertCompression[1] != 2 {
		t.Fatalf("compress_certificate round trip: %+v, %v", back.CertCompression, err)
	}
}

func FuzzCompressedCertificate(f *testing.F) {
	m := &CompressedCertificate{Algorithm: CertCompressionZlib, UncompressedLength: 99, Compressed: []byte{0x78, 0x9c, 1, 2, 3}}
	raw, _ := m.Marshal()
	f.Add(raw)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) < HeaderLen {
			return
		}
		msg := append([]byte{TypeCompressedCert}, raw[1:]...)
		got, err := ParseCompressedCertificate(msg)
		if err != nil {
			return
		}
		again, err := got.Marshal()
		if err != nil || !bytes.Equal(again, msg) {
			t.Fatalf("parsed but does not re-marshal to the same bytes: %v", err)
		}
	})
}

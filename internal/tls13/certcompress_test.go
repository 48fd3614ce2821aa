package tls13

import (
	"bytes"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/wire"
)

func TestCertificateCompressionRoundTrip(t *testing.T) {
	msg := &wire.Certificate{Entries: []wire.CertificateEntry{{Data: bytes.Repeat([]byte("a certificate "), 200)}, {Data: []byte("another")}}}
	raw, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := compressCertificate(wire.CertCompressionZlib, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(cc.Compressed) >= len(raw)/4 {
		t.Fatalf("compressed %d bytes to %d", len(raw), len(cc.Compressed))
	}
	back, err := decompressCertificate(cc, SupportedCertCompression)
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("round trip: %v", err)
	}
}

// FuzzDecompressCertificate feeds arbitrary compressed bodies and
// announced lengths: the result is an error or a Certificate message of
// exactly the announced length, never more memory than the limit.
func FuzzDecompressCertificate(f *testing.F) {
	msg := &wire.Certificate{Entries: []wire.CertificateEntry{{Data: []byte("seed certificate")}}}
	raw, _ := msg.Marshal()
	cc, _ := compressCertificate(wire.CertCompressionZlib, raw)
	f.Add(cc.Compressed, cc.UncompressedLength)
	f.Fuzz(func(t *testing.T, compressed []byte, n uint32) {
		cc := &wire.CompressedCertificate{Algorithm: wire.CertCompressionZlib, UncompressedLength: n & (1<<24 - 1), Compressed: compressed}
		out, err := decompressCertificate(cc, SupportedCertCompression)
		if err == nil && len(out) != wire.HeaderLen+int(cc.UncompressedLength) {
			t.Fatalf("inflated to %d bytes for an announced %d", len(out)-wire.HeaderLen, cc.UncompressedLength)
		}
	})
}

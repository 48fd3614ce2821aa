package tls13

import (
	"bytes"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

func compressingParams() *params.Params {
	return &params.Params{CertCompressors: []certcompress.Compressor{certcompress.Zlib()}, Compressed: &params.CompressedCache{}}
}

func TestCertificateCompressionRoundTrip(t *testing.T) {
	p := compressingParams()
	msg := &wire.Certificate{Entries: []wire.CertificateEntry{{Data: bytes.Repeat([]byte("a certificate "), 200)}, {Data: []byte("another")}}}
	raw, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	offered := []uint16{certcompress.AlgorithmZlib}
	sent, err := certificateMessage(p, offered, raw)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0] != wire.TypeCompressedCert || len(sent) >= len(raw)/4 {
		t.Fatalf("sent type %d, %d bytes for %d", sent[0], len(sent), len(raw))
	}
	// The second compression of the same chain comes from the cache.
	if again, _ := certificateMessage(p, offered, raw); !bytes.Equal(again, sent) {
		t.Fatal("a cached compression differs")
	}
	back, err := readCertificateMessage(p, offered, sent, "server")
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("round trip: %v", err)
	}
	// Not offered: a CompressedCertificate is an unexpected message, and
	// an algorithm outside the offer is illegal_parameter.
	if _, err := readCertificateMessage(p, nil, sent, "server"); !errors.Is(err, alert.ErrUnexpectedMessage) {
		t.Errorf("unsolicited compression: %v", err)
	}
	if _, err := readCertificateMessage(p, []uint16{certcompress.AlgorithmBrotli}, sent, "server"); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("unoffered algorithm: %v", err)
	}
	// A peer that offered nothing Holdfast has gets the plain message.
	plain, _ := certificateMessage(p, []uint16{certcompress.AlgorithmZstd}, raw)
	if !bytes.Equal(plain, raw) {
		t.Error("compressed with an algorithm the peer did not offer")
	}
}

func TestCompressedCertificateBombAndLies(t *testing.T) {
	p := compressingParams()
	offered := []uint16{certcompress.AlgorithmZlib}
	bomb, _ := certcompress.Zlib().Compress(make([]byte, 1<<20))
	for name, cc := range map[string]*wire.CompressedCertificate{
		"over the limit":   {Algorithm: certcompress.AlgorithmZlib, UncompressedLength: 1 << 20, Compressed: bomb},
		"lying length":     {Algorithm: certcompress.AlgorithmZlib, UncompressedLength: 1000, Compressed: bomb},
		"not zlib at all":  {Algorithm: certcompress.AlgorithmZlib, UncompressedLength: 10, Compressed: []byte("plain text")},
		"short of its len": {Algorithm: certcompress.AlgorithmZlib, UncompressedLength: 1 << 15, Compressed: mustZlib(t, []byte("tiny"))},
	} {
		msg, err := cc.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readCertificateMessage(p, offered, msg, "server"); !errors.Is(err, alert.ErrBadCertificate) {
			t.Errorf("%s: %v, want bad_certificate", name, err)
		}
	}
}

func mustZlib(t *testing.T, b []byte) []byte {
	out, err := certcompress.Zlib().Compress(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzDecompressCertificate feeds arbitrary compressed bodies and
// announced lengths: the result is an error or a Certificate message of
// exactly the announced length, never more memory than the limit.
func FuzzDecompressCertificate(f *testing.F) {
	p := compressingParams()
	offered := []uint16{certcompress.AlgorithmZlib}
	f.Add(mustZlibF(f, []byte("seed certificate")), uint32(16))
	f.Fuzz(func(t *testing.T, compressed []byte, n uint32) {
		cc := &wire.CompressedCertificate{Algorithm: certcompress.AlgorithmZlib, UncompressedLength: n & (1<<24 - 1), Compressed: compressed}
		msg, err := cc.Marshal()
		if err != nil {
			return
		}
		out, err := readCertificateMessage(p, offered, msg, "server")
		if err == nil && len(out) != wire.HeaderLen+int(cc.UncompressedLength) {
			t.Fatalf("inflated to %d bytes for an announced %d", len(out)-wire.HeaderLen, cc.UncompressedLength)
		}
	})
}

func mustZlibF(f *testing.F, b []byte) []byte {
	out, err := certcompress.Zlib().Compress(b)
	if err != nil {
		f.Fatal(err)
	}
	return out
}

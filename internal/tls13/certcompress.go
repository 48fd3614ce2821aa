package tls13

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Certificate compression (RFC 8879). Certificates are public, so
// compressing them leaks nothing; what needs care is the receiving side,
// which must never inflate more than it is willing to hold.

// SupportedCertCompression is what Holdfast compresses and decompresses
// with: zlib, from the standard library.
var SupportedCertCompression = []uint16{wire.CertCompressionZlib}

// maxCertificateBody bounds an announced uncompressed length: the same
// limit as any other handshake message, checked before inflating, so a
// compression bomb costs nothing.
const maxCertificateBody = wire.DefaultMaxMessage

// compressCertificate returns the CompressedCertificate for a marshalled
// Certificate message (header included) with algorithm alg.
func compressCertificate(alg uint16, certMsg []byte) (*wire.CompressedCertificate, error) {
	if alg != wire.CertCompressionZlib {
		return nil, fmt.Errorf("tls13: certificate compression %d is not supported", alg)
	}
	body := certMsg[wire.HeaderLen:]
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &wire.CompressedCertificate{Algorithm: alg, UncompressedLength: uint32(len(body)), Compressed: buf.Bytes()}, nil
}

// decompressCertificate inflates a CompressedCertificate into the
// Certificate message it stands for (header included). An algorithm the
// receiver did not offer is illegal_parameter; a length over the limit,
// data that does not inflate, or inflates to another length, is
// bad_certificate (RFC 8879 §4).
func decompressCertificate(cc *wire.CompressedCertificate, offered []uint16) ([]byte, error) {
	if !slices.Contains(offered, cc.Algorithm) {
		return nil, fmt.Errorf("CompressedCertificate with algorithm %d, which was not offered: %w", cc.Algorithm, alert.ErrIllegalParameter)
	}
	n := int(cc.UncompressedLength)
	if n > maxCertificateBody {
		return nil, fmt.Errorf("CompressedCertificate announces %d bytes, limit %d: %w", n, maxCertificateBody, alert.ErrBadCertificate)
	}
	r, err := zlib.NewReader(bytes.NewReader(cc.Compressed))
	if err != nil {
		return nil, fmt.Errorf("CompressedCertificate does not inflate: %v: %w", err, alert.ErrBadCertificate)
	}
	out := make([]byte, wire.HeaderLen+n)
	out[0] = wire.TypeCertificate
	out[1], out[2], out[3] = byte(n>>16), byte(n>>8), byte(n)
	if _, err := io.ReadFull(r, out[wire.HeaderLen:]); err != nil {
		return nil, fmt.Errorf("CompressedCertificate inflates short of its %d bytes: %v: %w", n, err, alert.ErrBadCertificate)
	}
	// One byte more would mean the announced length was a lie.
	var extra [1]byte
	if m, err := r.Read(extra[:]); m != 0 || err != io.EOF {
		return nil, fmt.Errorf("CompressedCertificate inflates past its %d bytes or is corrupt: %w", n, alert.ErrBadCertificate)
	}
	return out, nil
}

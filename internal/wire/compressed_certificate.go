package wire

import "golang.org/x/crypto/cryptobyte"

// Certificate compression algorithms (RFC 8879 §7.3).
const (
	CertCompressionZlib   uint16 = 1
	CertCompressionBrotli uint16 = 2
	CertCompressionZstd   uint16 = 3
)

// CompressedCertificate carries a compressed Certificate message (RFC
// 8879 §4): the algorithm, the length of the Certificate message body
// before compression, and the compressed body. Decompression is the
// engine's, which must check the length against its limit first.
type CompressedCertificate struct {
	Raw []byte

	Algorithm          uint16
	UncompressedLength uint32 // <1..2^24-1>
	Compressed         []byte // <1..2^24-1>
}

// ParseCompressedCertificate parses a whole CompressedCertificate message.
func ParseCompressedCertificate(msg []byte) (*CompressedCertificate, error) {
	const name = "CompressedCertificate"
	raw, s, err := open(msg, TypeCompressedCert, name)
	if err != nil {
		return nil, err
	}
	m := &CompressedCertificate{Raw: raw}
	var body cryptobyte.String
	if !s.ReadUint16(&m.Algorithm) || !s.ReadUint24(&m.UncompressedLength) || m.UncompressedLength == 0 ||
		!s.ReadUint24LengthPrefixed(&body) || body.Empty() || !s.Empty() {
		return nil, malformed(name, "bad fields")
	}
	m.Compressed = own(body)
	return m, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *CompressedCertificate) Marshal() ([]byte, error) {
	raw, err := seal(TypeCompressedCert, "CompressedCertificate", func(b *cryptobyte.Builder) {
		if m.UncompressedLength == 0 || m.UncompressedLength >= 1<<24 || len(m.Compressed) == 0 {
			refuse(b, "CompressedCertificate lengths out of range")
			return
		}
		b.AddUint16(m.Algorithm)
		b.AddUint24(m.UncompressedLength)
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.Compressed) })
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

// readCompressionAlgs reads CertificateCompressionAlgorithm
// algorithms<2..2^8-2> (RFC 8879 §3).
func readCompressionAlgs(s *cryptobyte.String) ([]uint16, bool) {
	v, ok := readVec8(s, 2)
	if !ok {
		return nil, false
	}
	return readUint16s(v)
}

func addCompressionAlgs(b *cryptobyte.Builder, algs []uint16) {
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, algs, "compress_certificate") })
}

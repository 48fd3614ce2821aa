package wire

import "golang.org/x/crypto/cryptobyte"

// CertificateVerify is the CertificateVerify message (RFC 8446 §4.4.3);
// TLS 1.2's (RFC 5246 §7.4.8) has the same encoding.
type CertificateVerify struct {
	Raw []byte

	Algorithm uint16 // SignatureScheme
	Signature []byte
}

// ParseCertificateVerify parses a whole CertificateVerify message, header
// included.
func ParseCertificateVerify(msg []byte) (*CertificateVerify, error) {
	const name = "CertificateVerify"
	raw, s, err := open(msg, TypeCertificateVerify, name)
	if err != nil {
		return nil, err
	}
	m := &CertificateVerify{Raw: raw}
	var ok bool
	if !s.ReadUint16(&m.Algorithm) {
		return nil, malformed(name, "truncated")
	}
	if m.Signature, ok = readVec16(&s, 0); !ok || !s.Empty() {
		return nil, malformed(name, "signature")
	}
	return m, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *CertificateVerify) Marshal() ([]byte, error) {
	raw, err := seal(TypeCertificateVerify, "CertificateVerify", func(b *cryptobyte.Builder) {
		b.AddUint16(m.Algorithm)
		addVec16(b, m.Signature, 0, "signature")
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

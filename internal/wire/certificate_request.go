package wire

import (
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"golang.org/x/crypto/cryptobyte"
)

// CertificateRequest is the TLS 1.3 CertificateRequest message (RFC 8446
// §4.3.2).
type CertificateRequest struct {
	Raw []byte

	Context                 []byte   // certificate_request_context
	SignatureAlgorithms     []uint16 // required
	SignatureAlgorithmsCert []uint16
	CertificateAuthorities  [][]byte // DER distinguished names
	// CertCompression lists the algorithms the server can decompress a
	// client Certificate with (RFC 8879 §3).
	CertCompression []uint16

	// Unknown holds, in received order, the extensions no field
	// describes (oid_filters among them); a client ignores those it does
	// not know (RFC 8446 §4.3.2).
	Unknown []Extension

	// ExtensionOrder lists every extension type in the order received;
	// Marshal follows it as ClientHello.Marshal does.
	ExtensionOrder []uint16
}

// ParseCertificateRequest parses a whole TLS 1.3 CertificateRequest
// message, header included. A message without signature_algorithms is an
// error wrapping alert.ErrMissingExtension (RFC 8446 §4.3.2, §9.2).
func ParseCertificateRequest(msg []byte) (*CertificateRequest, error) {
	const name = "CertificateRequest"
	raw, s, err := open(msg, TypeCertificateRequest, name)
	if err != nil {
		return nil, err
	}
	m := &CertificateRequest{Raw: raw}
	var ok bool
	if m.Context, ok = readVec8(&s, 0); !ok {
		return nil, malformed(name, "certificate_request_context")
	}
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) || !s.Empty() {
		return nil, malformed(name, "extension block")
	}
	order, err := readExtensions(block, name, m.readExtension)
	if err != nil {
		return nil, err
	}
	if len(order) > 0 {
		m.ExtensionOrder = order
	}
	if len(m.SignatureAlgorithms) == 0 {
		return nil, fmt.Errorf("wire: %s: no signature_algorithms: %w", name, alert.ErrMissingExtension)
	}
	return m, nil
}

func (m *CertificateRequest) readExtension(typ uint16, body *cryptobyte.String) error {
	const name = "CertificateRequest"
	var ok bool
	switch typ {
	case ExtSignatureAlgorithms:
		if m.SignatureAlgorithms, ok = readList16(body); !ok {
			return malformed(name, "signature_algorithms")
		}
	case ExtSignatureAlgorithmsCert:
		if m.SignatureAlgorithmsCert, ok = readList16(body); !ok {
			return malformed(name, "signature_algorithms_cert")
		}
	case ExtCertificateAuthorities:
		if m.CertificateAuthorities, ok = readNames(body); !ok {
			return malformed(name, "certificate_authorities")
		}
	case ExtCompressCertificate:
		if m.CertCompression, ok = readCompressionAlgs(body); !ok {
			return malformed(name, "compress_certificate")
		}
	default:
		keepUnknown(&m.Unknown, typ, body)
	}
	return nil
}

func certificateRequestField(t uint16) bool {
	switch t {
	case ExtSignatureAlgorithms, ExtSignatureAlgorithmsCert, ExtCertificateAuthorities, ExtCompressCertificate:
		return true
	}
	return false
}

// Marshal encodes m, sets m.Raw to the result and returns it. It refuses a
// message without SignatureAlgorithms.
func (m *CertificateRequest) Marshal() ([]byte, error) {
	raw, err := seal(TypeCertificateRequest, "CertificateRequest", func(b *cryptobyte.Builder) {
		addVec8(b, m.Context, 0, "certificate_request_context")
		var s extSet
		s.add(ExtSignatureAlgorithms, func(b *cryptobyte.Builder) {
			addList16(b, m.SignatureAlgorithms, "signature_algorithms")
		})
		if len(m.SignatureAlgorithmsCert) > 0 {
			s.add(ExtSignatureAlgorithmsCert, func(b *cryptobyte.Builder) {
				addList16(b, m.SignatureAlgorithmsCert, "signature_algorithms_cert")
			})
		}
		if len(m.CertificateAuthorities) > 0 {
			s.add(ExtCertificateAuthorities, func(b *cryptobyte.Builder) { addNames(b, m.CertificateAuthorities) })
		}
		if len(m.CertCompression) > 0 {
			s.add(ExtCompressCertificate, func(b *cryptobyte.Builder) { addCompressionAlgs(b, m.CertCompression) })
		}
		s.addUnknown(b, m.Unknown, certificateRequestField)
		s.write(b, m.ExtensionOrder, nil, true)
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

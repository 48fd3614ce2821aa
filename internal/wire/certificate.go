package wire

import (
	"golang.org/x/crypto/cryptobyte"
)

// A CertificateEntry is one certificate of a TLS 1.3 Certificate message
// and its extensions (RFC 8446 §4.4.2).
type CertificateEntry struct {
	Data       []byte   // cert_data: DER X.509, or a raw public key
	OCSPStaple []byte   // status_request: the OCSPResponse, if any
	SCTs       [][]byte // signed_certificate_timestamp: serialized SCTs

	// Unknown holds, in received order, the entry's extensions no field
	// describes; the engine refuses those the ClientHello or
	// CertificateRequest did not ask for (RFC 8446 §4.4.2).
	Unknown []Extension

	// ExtensionOrder lists the entry's extension types in the order
	// received; Marshal follows it as ClientHello.Marshal does.
	ExtensionOrder []uint16
}

// Certificate is the TLS 1.3 Certificate message (RFC 8446 §4.4.2).
type Certificate struct {
	Raw []byte

	RequestContext []byte // certificate_request_context
	Entries        []CertificateEntry
}

// ParseCertificate parses a whole TLS 1.3 Certificate message, header
// included.
func ParseCertificate(msg []byte) (*Certificate, error) {
	const name = "Certificate"
	raw, s, err := open(msg, TypeCertificate, name)
	if err != nil {
		return nil, err
	}
	m := &Certificate{Raw: raw}
	var list cryptobyte.String
	var ok bool
	if m.RequestContext, ok = readVec8(&s, 0); !ok {
		return nil, malformed(name, "certificate_request_context")
	}
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, malformed(name, "certificate_list")
	}
	for !list.Empty() {
		var e CertificateEntry
		if e.Data, ok = readVec24(&list, 1); !ok {
			return nil, malformed(name, "cert_data") // <1..2^24-1>: never empty
		}
		var block cryptobyte.String
		if !list.ReadUint16LengthPrefixed(&block) {
			return nil, malformed(name, "entry extensions")
		}
		order, err := readExtensions(block, name, e.readExtension)
		if err != nil {
			return nil, err
		}
		if len(order) > 0 {
			e.ExtensionOrder = order
		}
		m.Entries = append(m.Entries, e)
	}
	return m, nil
}

func (e *CertificateEntry) readExtension(typ uint16, body *cryptobyte.String) error {
	const name = "Certificate"
	switch typ {
	case ExtStatusRequest:
		// CertificateStatus (RFC 6066 §8): status_type ocsp is the only
		// one with a body we can read; anything else cannot be decoded.
		var ok bool
		if e.OCSPStaple, ok = readOCSPStatus(body); !ok {
			return malformed(name, "status_request")
		}
	case ExtSCT:
		var list cryptobyte.String
		if !body.ReadUint16LengthPrefixed(&list) || list.Empty() {
			return malformed(name, "SignedCertificateTimestampList")
		}
		for !list.Empty() {
			sct, ok := readVec16(&list, 1)
			if !ok {
				return malformed(name, "SerializedSCT")
			}
			e.SCTs = append(e.SCTs, sct)
		}
	default:
		keepUnknown(&e.Unknown, typ, body)
	}
	return nil
}

func certificateEntryField(t uint16) bool {
	return t == ExtStatusRequest || t == ExtSCT
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *Certificate) Marshal() ([]byte, error) {
	raw, err := seal(TypeCertificate, "Certificate", func(b *cryptobyte.Builder) {
		addVec8(b, m.RequestContext, 0, "certificate_request_context")
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for i := range m.Entries {
				m.Entries[i].build(b)
			}
		})
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

func (e *CertificateEntry) build(b *cryptobyte.Builder) {
	addVec24(b, e.Data, 1, "cert_data")
	var s extSet
	if len(e.OCSPStaple) > 0 {
		s.add(ExtStatusRequest, func(b *cryptobyte.Builder) { addOCSPStatus(b, e.OCSPStaple) })
	}
	if len(e.SCTs) > 0 {
		s.add(ExtSCT, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, sct := range e.SCTs {
					addVec16(b, sct, 1, "SerializedSCT")
				}
			})
		})
	}
	s.addUnknown(b, e.Unknown, certificateEntryField)
	s.write(b, e.ExtensionOrder, nil, true)
}

// Certificate12 is the TLS 1.2 Certificate message (RFC 5246 §7.4.2): a
// chain of DER certificates, sender's first, with no extensions. An empty
// chain is a client declining to authenticate.
type Certificate12 struct {
	Raw []byte

	Certificates [][]byte
}

// ParseCertificate12 parses a whole TLS 1.2 Certificate message, header
// included.
func ParseCertificate12(msg []byte) (*Certificate12, error) {
	const name = "Certificate"
	raw, s, err := open(msg, TypeCertificate, name)
	if err != nil {
		return nil, err
	}
	m := &Certificate12{Raw: raw}
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, malformed(name, "certificate_list")
	}
	for !list.Empty() {
		c, ok := readVec24(&list, 1)
		if !ok {
			return nil, malformed(name, "ASN.1Cert") // <1..2^24-1>
		}
		m.Certificates = append(m.Certificates, c)
	}
	return m, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *Certificate12) Marshal() ([]byte, error) {
	raw, err := seal(TypeCertificate, "Certificate", func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, c := range m.Certificates {
				addVec24(b, c, 1, "ASN.1Cert")
			}
		})
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

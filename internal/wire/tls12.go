package wire

import "golang.org/x/crypto/cryptobyte"

// The TLS 1.2 messages that TLS 1.3 dropped (RFC 5246 §7.4, RFC 8422 §5).
// ClientHello, ServerHello, Certificate12, CertificateVerify and Finished
// are shared with their own files.

// ServerKeyExchange carries the server's ECDHE parameters and its
// signature over them (RFC 8422 §5.4). Only named curves are accepted.
type ServerKeyExchange struct {
	Raw []byte

	Group     uint16
	PublicKey []byte
	// Params is the ServerECDHParams encoding, the part the signature
	// covers (after client_random and server_random).
	Params    []byte
	Algorithm uint16 // SignatureAndHashAlgorithm (RFC 5246 §7.4.1.4.1)
	Signature []byte
}

// namedCurve is ECCurveType named_curve (RFC 8422 §5.4).
const namedCurve = 3

// ParseServerKeyExchange parses a whole ECDHE ServerKeyExchange message.
func ParseServerKeyExchange(msg []byte) (*ServerKeyExchange, error) {
	const name = "ServerKeyExchange"
	raw, s, err := open(msg, TypeServerKeyExchange, name)
	if err != nil {
		return nil, err
	}
	m := &ServerKeyExchange{Raw: raw}
	params := s
	var curveType uint8
	if !s.ReadUint8(&curveType) {
		return nil, malformed(name, "truncated")
	}
	if curveType != namedCurve {
		return nil, illegal(name, "curve type is not named_curve")
	}
	var ok bool
	if !s.ReadUint16(&m.Group) {
		return nil, malformed(name, "truncated")
	}
	if m.PublicKey, ok = readVec8(&s, 1); !ok {
		return nil, malformed(name, "bad public key")
	}
	m.Params = own(params[:len(params)-len(s)])
	if !s.ReadUint16(&m.Algorithm) {
		return nil, malformed(name, "missing signature algorithm")
	}
	if m.Signature, ok = readVec16(&s, 1); !ok || !s.Empty() {
		return nil, malformed(name, "bad signature")
	}
	return m, nil
}

// Marshal encodes m (from Group, PublicKey, Algorithm and Signature), sets
// m.Raw and m.Params and returns the message.
func (m *ServerKeyExchange) Marshal() ([]byte, error) {
	params, err := m.MarshalParams()
	if err != nil {
		return nil, err
	}
	raw, err := seal(TypeServerKeyExchange, "ServerKeyExchange", func(b *cryptobyte.Builder) {
		b.AddBytes(params)
		b.AddUint16(m.Algorithm)
		addVec16(b, m.Signature, 1, "ServerKeyExchange signature")
	})
	if err != nil {
		return nil, err
	}
	m.Raw, m.Params = raw, params
	return raw, nil
}

// MarshalParams encodes the ServerECDHParams the server signs.
func (m *ServerKeyExchange) MarshalParams() ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(namedCurve)
	b.AddUint16(m.Group)
	addVec8(b, m.PublicKey, 1, "ServerKeyExchange public key")
	return b.Bytes()
}

// CertificateRequest12 is the TLS 1.2 CertificateRequest (RFC 5246
// §7.4.4).
type CertificateRequest12 struct {
	Raw []byte

	CertificateTypes       []byte
	SignatureAlgorithms    []uint16
	CertificateAuthorities [][]byte // DER distinguished names, may be empty
}

// ParseCertificateRequest12 parses a whole TLS 1.2 CertificateRequest.
func ParseCertificateRequest12(msg []byte) (*CertificateRequest12, error) {
	const name = "CertificateRequest"
	raw, s, err := open(msg, TypeCertificateRequest, name)
	if err != nil {
		return nil, err
	}
	m := &CertificateRequest12{Raw: raw}
	var ok bool
	if m.CertificateTypes, ok = readVec8(&s, 1); !ok {
		return nil, malformed(name, "bad certificate_types")
	}
	if m.SignatureAlgorithms, ok = readList16(&s); !ok {
		return nil, malformed(name, "bad supported_signature_algorithms")
	}
	var cas cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&cas) || !s.Empty() {
		return nil, malformed(name, "bad certificate_authorities")
	}
	for !cas.Empty() {
		dn, ok := readVec16(&cas, 1)
		if !ok {
			return nil, malformed(name, "bad distinguished name")
		}
		m.CertificateAuthorities = append(m.CertificateAuthorities, dn)
	}
	return m, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *CertificateRequest12) Marshal() ([]byte, error) {
	raw, err := seal(TypeCertificateRequest, "CertificateRequest", func(b *cryptobyte.Builder) {
		addVec8(b, m.CertificateTypes, 1, "certificate_types")
		addList16(b, m.SignatureAlgorithms, "supported_signature_algorithms")
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, dn := range m.CertificateAuthorities {
				addVec16(b, dn, 1, "distinguished name")
			}
		})
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

// ServerHelloDone ends the server's first TLS 1.2 flight (RFC 5246
// §7.4.5).
type ServerHelloDone struct {
	Raw []byte
}

// ParseServerHelloDone parses a whole ServerHelloDone.
func ParseServerHelloDone(msg []byte) (*ServerHelloDone, error) {
	raw, s, err := open(msg, TypeServerHelloDone, "ServerHelloDone")
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, malformed("ServerHelloDone", "non-empty body")
	}
	return &ServerHelloDone{Raw: raw}, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *ServerHelloDone) Marshal() ([]byte, error) {
	m.Raw = []byte{TypeServerHelloDone, 0, 0, 0}
	return m.Raw, nil
}

// ClientKeyExchange carries the client's ECDHE public key (RFC 8422 §5.7)
// or its RSA-encrypted premaster secret (RFC 5246 §7.4.7.1). The body's
// form depends on the negotiated key exchange, so the engine picks the
// reading: ECDHPublic or EncryptedPremaster.
type ClientKeyExchange struct {
	Raw []byte

	Body []byte
}

// ParseClientKeyExchange parses a whole ClientKeyExchange.
func ParseClientKeyExchange(msg []byte) (*ClientKeyExchange, error) {
	raw, s, err := open(msg, TypeClientKeyExchange, "ClientKeyExchange")
	if err != nil {
		return nil, err
	}
	return &ClientKeyExchange{Raw: raw, Body: own(s)}, nil
}

// ECDHPublic reads the body as an ECDHE public key <1..2^8-1>.
func (m *ClientKeyExchange) ECDHPublic() ([]byte, error) {
	s := cryptobyte.String(m.Body)
	pub, ok := readVec8(&s, 1)
	if !ok || !s.Empty() {
		return nil, malformed("ClientKeyExchange", "bad ECDH public key")
	}
	return pub, nil
}

// EncryptedPremaster reads the body as an RSA-encrypted premaster secret
// <0..2^16-1>.
func (m *ClientKeyExchange) EncryptedPremaster() ([]byte, error) {
	s := cryptobyte.String(m.Body)
	ct, ok := readVec16(&s, 1)
	if !ok || !s.Empty() {
		return nil, malformed("ClientKeyExchange", "bad encrypted premaster secret")
	}
	return ct, nil
}

// NewClientKeyExchangeECDH builds a ClientKeyExchange carrying an ECDHE
// public key.
func NewClientKeyExchangeECDH(pub []byte) *ClientKeyExchange {
	return &ClientKeyExchange{Body: append([]byte{byte(len(pub))}, pub...)}
}

// NewClientKeyExchangeRSA builds a ClientKeyExchange carrying an
// RSA-encrypted premaster secret.
func NewClientKeyExchangeRSA(ct []byte) *ClientKeyExchange {
	return &ClientKeyExchange{Body: append([]byte{byte(len(ct) >> 8), byte(len(ct))}, ct...)}
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *ClientKeyExchange) Marshal() ([]byte, error) {
	raw, err := seal(TypeClientKeyExchange, "ClientKeyExchange", func(b *cryptobyte.Builder) { b.AddBytes(m.Body) })
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

// NewSessionTicket12 is the TLS 1.2 NewSessionTicket of RFC 5077 §3.3,
// sent before the server's change_cipher_spec. The ticket is opaque.
type NewSessionTicket12 struct {
	Raw []byte

	LifetimeHint uint32 // seconds; 0 means unspecified
	Ticket       []byte // <0..2^16-1>; empty means the server issued none
}

// ParseNewSessionTicket12 parses a whole TLS 1.2 NewSessionTicket.
func ParseNewSessionTicket12(msg []byte) (*NewSessionTicket12, error) {
	const name = "NewSessionTicket"
	raw, s, err := open(msg, TypeNewSessionTicket, name)
	if err != nil {
		return nil, err
	}
	m := &NewSessionTicket12{Raw: raw}
	var ok bool
	if !s.ReadUint32(&m.LifetimeHint) {
		return nil, malformed(name, "truncated")
	}
	if m.Ticket, ok = readVec16(&s, 0); !ok || !s.Empty() {
		return nil, malformed(name, "ticket")
	}
	return m, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *NewSessionTicket12) Marshal() ([]byte, error) {
	raw, err := seal(TypeNewSessionTicket, "NewSessionTicket", func(b *cryptobyte.Builder) {
		b.AddUint32(m.LifetimeHint)
		addVec16(b, m.Ticket, 0, "ticket")
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

package wire

import (
	"golang.org/x/crypto/cryptobyte"
)

// HelloRetryRequestRandom is the Random of a ServerHello that is a
// HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 §4.1.3).
var HelloRetryRequestRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
	0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// ServerHello is the ServerHello message (RFC 8446 §4.1.3, RFC 5246
// §7.4.1.3), and the HelloRetryRequest, which shares its encoding and is
// told apart by its Random. A field for an extension is its zero value
// when the extension is absent.
type ServerHello struct {
	Raw []byte

	Vers              uint16 // legacy_version
	Random            [32]byte
	SessionID         []byte // legacy_session_id_echo, at most 32 bytes
	CipherSuite       uint16
	CompressionMethod uint8 // legacy_compression_method, always 0

	SupportedVersion uint16 // supported_versions: the selected version
	// KeyShare is the server's share in a ServerHello (present when Data
	// is not empty); a HelloRetryRequest carries only HRRSelectedGroup.
	KeyShare         KeyShare
	HRRSelectedGroup uint16
	Cookie           []byte // HelloRetryRequest only

	PSKSelected         bool // pre_shared_key present
	SelectedPSKIdentity uint16

	SecureRenegotiationSupported bool   // renegotiation_info present
	SecureRenegotiation          []byte // renegotiated_connection
	ExtendedMasterSecret         bool
	EncryptThenMAC               bool
	TicketSupported              bool   // empty session_ticket: a NewSessionTicket follows
	ServerNameAck                bool   // empty server_name
	StatusRequest                bool   // empty status_request: a CertificateStatus follows
	ALPN                         string // the selected protocol
	ECPointFormats               []byte
	TrustedCAKeysAck             bool // empty trusted_ca_keys: the chain was chosen from the client's list (RFC 6066 §6)

	// Unknown holds, in received order, the extensions no field
	// describes.
	Unknown []Extension

	// ExtensionOrder lists every extension type in the order received; see
	// ClientHello.ExtensionOrder for how Marshal uses it.
	ExtensionOrder []uint16
}

// IsHelloRetryRequest reports whether m is a HelloRetryRequest.
func (m *ServerHello) IsHelloRetryRequest() bool {
	return m.Random == HelloRetryRequestRandom
}

// ParseServerHello parses a whole ServerHello or HelloRetryRequest
// message, header included.
func ParseServerHello(msg []byte) (*ServerHello, error) {
	const name = "ServerHello"
	raw, s, err := open(msg, TypeServerHello, name)
	if err != nil {
		return nil, err
	}
	m := &ServerHello{Raw: raw}
	var random []byte
	if !s.ReadUint16(&m.Vers) || !s.ReadBytes(&random, 32) {
		return nil, malformed(name, "truncated")
	}
	copy(m.Random[:], random)
	var ok bool
	if m.SessionID, ok = readVec8(&s, 0); !ok || len(m.SessionID) > MaxSessionIDLen {
		return nil, malformed(name, "legacy_session_id_echo") // out of range: RFC 8446 §6.2
	}
	if !s.ReadUint16(&m.CipherSuite) || !s.ReadUint8(&m.CompressionMethod) {
		return nil, malformed(name, "truncated")
	}
	if m.CompressionMethod != 0 {
		// RFC 8446 §4.1.3: a TLS 1.3 client MUST abort with
		// illegal_parameter; RFC 5246 clients never offered another.
		return nil, illegal(name, "legacy_compression_method is not null")
	}
	if s.Empty() {
		return m, nil // no extension block (RFC 5246 §7.4.1.3)
	}
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) || !s.Empty() {
		return nil, malformed(name, "extension block")
	}
	m.ExtensionOrder, err = readExtensions(block, name, m.readExtension)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *ServerHello) readExtension(typ uint16, body *cryptobyte.String) error {
	const name = "ServerHello"
	bad := func(what string) error { return malformed(name, what) }
	var ok bool
	switch typ {
	case ExtSupportedVersions:
		if !body.ReadUint16(&m.SupportedVersion) {
			return bad("supported_versions")
		}
		if m.SupportedVersion == 0 {
			// RFC 8446 §4.2.1: a version prior to TLS 1.3 here is
			// illegal_parameter.
			return illegal(name, "supported_versions selects version 0")
		}
	case ExtKeyShare:
		if m.IsHelloRetryRequest() {
			if !body.ReadUint16(&m.HRRSelectedGroup) {
				return bad("key_share")
			}
			if m.HRRSelectedGroup == 0 {
				// RFC 8446 §4.2.8: a group the client did not offer is
				// illegal_parameter, and no client offers group 0.
				return illegal(name, "key_share selects group 0")
			}
			return nil
		}
		if !body.ReadUint16(&m.KeyShare.Group) {
			return bad("key_share")
		}
		if m.KeyShare.Data, ok = readVec16(body, 1); !ok {
			return bad("key_share")
		}
	case ExtCookie:
		if m.Cookie, ok = readVec16(body, 1); !ok {
			return bad("cookie")
		}
	case ExtPreSharedKey:
		m.PSKSelected = true
		if !body.ReadUint16(&m.SelectedPSKIdentity) {
			return bad("pre_shared_key")
		}
	case ExtRenegotiationInfo:
		m.SecureRenegotiationSupported = true
		if m.SecureRenegotiation, ok = readVec8(body, 0); !ok {
			return bad("renegotiation_info")
		}
	case ExtExtendedMasterSecret:
		return needEmpty(name, "extended_master_secret", body, &m.ExtendedMasterSecret)
	case ExtEncryptThenMAC:
		return needEmpty(name, "encrypt_then_mac", body, &m.EncryptThenMAC)
	case ExtSessionTicket:
		return needEmpty(name, "session_ticket", body, &m.TicketSupported)
	case ExtServerName:
		return needEmpty(name, "server_name", body, &m.ServerNameAck)
	case ExtStatusRequest:
		return needEmpty(name, "status_request", body, &m.StatusRequest)
	case ExtTrustedCAKeys:
		return needEmpty(name, "trusted_ca_keys", body, &m.TrustedCAKeysAck)
	case ExtALPN:
		if m.ALPN, ok = readOneProtocol(body); !ok {
			return bad("application_layer_protocol_negotiation")
		}
	case ExtECPointFormats:
		if m.ECPointFormats, ok = readVec8(body, 1); !ok {
			return bad("ec_point_formats")
		}
	default:
		keepUnknown(&m.Unknown, typ, body)
	}
	return nil
}

// readOneProtocol reads a server's ALPN answer: a ProtocolNameList of
// exactly one name (RFC 7301 §3.1). The RFC names no alert for more;
// it cannot be decoded as an answer, so it is decode_error.
func readOneProtocol(s *cryptobyte.String) (string, bool) {
	protos, ok := readProtocols(s)
	if !ok || len(protos) != 1 {
		return "", false
	}
	return protos[0], true
}

func addOneProtocol(b *cryptobyte.Builder, p string) {
	addProtocols(b, []string{p})
}

func serverHelloField(t uint16) bool {
	switch t {
	case ExtSupportedVersions, ExtKeyShare, ExtCookie, ExtPreSharedKey,
		ExtRenegotiationInfo, ExtExtendedMasterSecret, ExtEncryptThenMAC,
		ExtSessionTicket, ExtServerName, ExtStatusRequest, ExtALPN,
		ExtECPointFormats, ExtTrustedCAKeys:
		return true
	}
	return false
}

// Marshal encodes m, sets m.Raw to the result and returns it. It refuses
// a message ParseServerHello would refuse.
func (m *ServerHello) Marshal() ([]byte, error) {
	raw, err := seal(TypeServerHello, "ServerHello", m.build)
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

func (m *ServerHello) build(b *cryptobyte.Builder) {
	b.AddUint16(m.Vers)
	b.AddBytes(m.Random[:])
	if len(m.SessionID) > MaxSessionIDLen {
		refuse(b, "legacy_session_id_echo longer than %d bytes", MaxSessionIDLen)
		return
	}
	addVec8(b, m.SessionID, 0, "legacy_session_id_echo")
	b.AddUint16(m.CipherSuite)
	if m.CompressionMethod != 0 {
		refuse(b, "legacy_compression_method %d", m.CompressionMethod)
		return
	}
	b.AddUint8(0)

	var s extSet
	if m.SupportedVersion != 0 {
		s.add(ExtSupportedVersions, func(b *cryptobyte.Builder) { b.AddUint16(m.SupportedVersion) })
	}
	hrr := m.IsHelloRetryRequest()
	switch {
	case hrr && len(m.KeyShare.Data) > 0, hrr && m.KeyShare.Group != 0:
		refuse(b, "a HelloRetryRequest carries HRRSelectedGroup, not KeyShare")
		return
	case !hrr && m.HRRSelectedGroup != 0:
		refuse(b, "HRRSelectedGroup set in a ServerHello that is not a HelloRetryRequest")
		return
	case hrr && m.HRRSelectedGroup != 0:
		s.add(ExtKeyShare, func(b *cryptobyte.Builder) { b.AddUint16(m.HRRSelectedGroup) })
	case len(m.KeyShare.Data) > 0:
		s.add(ExtKeyShare, func(b *cryptobyte.Builder) {
			b.AddUint16(m.KeyShare.Group)
			addVec16(b, m.KeyShare.Data, 1, "key_exchange")
		})
	case m.KeyShare.Group != 0:
		refuse(b, "KeyShare group %d without a key_exchange", m.KeyShare.Group)
		return
	}
	if len(m.Cookie) > 0 {
		s.add(ExtCookie, func(b *cryptobyte.Builder) { addVec16(b, m.Cookie, 1, "cookie") })
	}
	if m.PSKSelected {
		s.add(ExtPreSharedKey, func(b *cryptobyte.Builder) { b.AddUint16(m.SelectedPSKIdentity) })
	} else if m.SelectedPSKIdentity != 0 {
		refuse(b, "SelectedPSKIdentity set without PSKSelected")
		return
	}
	if m.SecureRenegotiationSupported {
		s.add(ExtRenegotiationInfo, func(b *cryptobyte.Builder) {
			addVec8(b, m.SecureRenegotiation, 0, "renegotiated_connection")
		})
	} else if len(m.SecureRenegotiation) > 0 {
		refuse(b, "SecureRenegotiation set without SecureRenegotiationSupported")
		return
	}
	s.flag(ExtExtendedMasterSecret, m.ExtendedMasterSecret)
	s.flag(ExtEncryptThenMAC, m.EncryptThenMAC)
	s.flag(ExtSessionTicket, m.TicketSupported)
	s.flag(ExtServerName, m.ServerNameAck)
	s.flag(ExtStatusRequest, m.StatusRequest)
	s.flag(ExtTrustedCAKeys, m.TrustedCAKeysAck)
	if m.ALPN != "" {
		s.add(ExtALPN, func(b *cryptobyte.Builder) { addOneProtocol(b, m.ALPN) })
	}
	if len(m.ECPointFormats) > 0 {
		s.add(ExtECPointFormats, func(b *cryptobyte.Builder) { addVec8(b, m.ECPointFormats, 1, "ec_point_formats") })
	}
	s.addUnknown(b, m.Unknown, serverHelloField)
	s.write(b, m.ExtensionOrder, nil, m.ExtensionOrder != nil)
}

// MessageHash returns the synthetic message_hash message that replaces
// ClientHello1 in the transcript after a HelloRetryRequest (RFC 8446
// §4.4.1): type 254, a 24-bit length, then hash, the transcript hash of
// ClientHello1.
func MessageHash(hash []byte) []byte {
	out := make([]byte, HeaderLen, HeaderLen+len(hash))
	out[0] = TypeMessageHash
	out[1], out[2], out[3] = byte(len(hash)>>16), byte(len(hash)>>8), byte(len(hash))
	return append(out, hash...)
}

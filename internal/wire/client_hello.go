package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// MaxSessionIDLen is the ceiling of legacy_session_id <0..32>.
const MaxSessionIDLen = 32

// A KeyShare is one KeyShareEntry (RFC 8446 §4.2.8): a group and the
// public value for it.
type KeyShare struct {
	Group uint16
	Data  []byte
}

// A PSKIdentity is one offered PSK (RFC 8446 §4.2.11).
type PSKIdentity struct {
	Identity      []byte
	ObfuscatedAge uint32
}

// ClientHello is the ClientHello message (RFC 8446 §4.1.2, RFC 5246
// §7.4.1.2). A field for an extension is its zero value when the
// extension is absent.
type ClientHello struct {
	Raw []byte

	Vers               uint16 // legacy_version
	Random             [32]byte
	SessionID          []byte // legacy_session_id, at most 32 bytes
	CipherSuites       []uint16
	CompressionMethods []byte

	ServerName              string // server_name: the one host_name
	StatusRequest           bool   // status_request: OCSP, no responder ids or request extensions
	SupportedGroups         []uint16
	ECPointFormats          []byte
	SignatureAlgorithms     []uint16
	SignatureAlgorithmsCert []uint16
	ALPN                    []string
	SCT                     bool // signed_certificate_timestamp
	EncryptThenMAC          bool
	ExtendedMasterSecret    bool

	TicketSupported bool   // session_ticket present
	SessionTicket   []byte // its body, empty for a new-ticket request

	SupportedVersions      []uint16
	Cookie                 []byte
	PSKModes               []uint8 // psk_key_exchange_modes
	CertificateAuthorities [][]byte
	// TrustedCAKeys lists the CA root keys a TLS 1.2 client holds
	// (trusted_ca_keys, RFC 6066 §6); HasTrustedCAKeys tells an empty
	// list from an absent extension.
	HasTrustedCAKeys bool
	TrustedCAKeys    []TrustedAuthority
	// CertCompression lists the certificate compression algorithms the
	// client accepts (compress_certificate, RFC 8879 §3).
	CertCompression []uint16

	HasKeyShare bool // key_share present, even with no shares (asking for a HelloRetryRequest)
	KeyShares   []KeyShare

	EarlyData bool

	SecureRenegotiationSupported bool   // renegotiation_info present
	SecureRenegotiation          []byte // renegotiated_connection

	// pre_shared_key: always the last extension. Identities and binders
	// pair up by index.
	PSKIdentities []PSKIdentity
	PSKBinders    [][]byte

	// Unknown holds, in received order, the extensions a ClientHello field
	// does not describe, among them a status_request of another form than
	// StatusRequest's.
	Unknown []Extension

	// ExtensionOrder lists every extension type in the order received.
	// Marshal writes extensions in this order (types listed but absent are
	// skipped, present but unlisted ones follow, pre_shared_key is last
	// whatever the list says). A non-nil empty ExtensionOrder means an
	// empty extension block; nil with no extensions means none at all, as
	// a client of SSL 3.0 sends.
	ExtensionOrder []uint16
}

// ocspRequest is the status_request body every client sends:
// status_type ocsp, no responder ids, no request extensions.
var ocspRequest = []byte{1, 0, 0, 0, 0}

// ParseClientHello parses a whole ClientHello message, header included.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	const name = "ClientHello"
	raw, s, err := open(msg, TypeClientHello, name)
	if err != nil {
		return nil, err
	}
	m := &ClientHello{Raw: raw}
	var random []byte
	if !s.ReadUint16(&m.Vers) || !s.ReadBytes(&random, 32) {
		return nil, malformed(name, "truncated")
	}
	copy(m.Random[:], random)
	var ok bool
	if m.SessionID, ok = readVec8(&s, 0); !ok || len(m.SessionID) > MaxSessionIDLen {
		// RFC 8446 §6.2: a field out of its specified range is
		// decode_error; illegal_parameter is for a well-formed value
		// that is wrong.
		return nil, malformed(name, "legacy_session_id")
	}
	if m.CipherSuites, ok = readList16(&s); !ok {
		return nil, malformed(name, "cipher_suites")
	}
	if m.CompressionMethods, ok = readVec8(&s, 1); !ok {
		return nil, malformed(name, "legacy_compression_methods")
	}
	if s.Empty() {
		return m, nil // no extension block (RFC 5246 §7.4.1.2)
	}
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) || !s.Empty() {
		return nil, malformed(name, "extension block")
	}
	m.ExtensionOrder, err = readExtensions(block, name, m.readExtension)
	if err != nil {
		return nil, err
	}
	if n := len(m.ExtensionOrder); len(m.PSKIdentities) > 0 && m.ExtensionOrder[n-1] != ExtPreSharedKey {
		return nil, illegal(name, "pre_shared_key is not the last extension") // RFC 8446 §4.2.11
	}
	return m, nil
}

func (m *ClientHello) readExtension(typ uint16, body *cryptobyte.String) error {
	const name = "ClientHello"
	bad := func(what string) error { return malformed(name, what) }
	var ok bool
	switch typ {
	case ExtServerName:
		var why string
		if m.ServerName, why = readServerName(body); why != "" {
			return bad(why)
		}
	case ExtStatusRequest:
		if bytes.Equal(*body, ocspRequest) {
			m.StatusRequest = true
			body.Skip(len(*body))
			return nil
		}
		if !validStatusRequest(*body) {
			return bad("status_request")
		}
		keepUnknown(&m.Unknown, typ, body)
	case ExtSupportedGroups:
		if m.SupportedGroups, ok = readList16(body); !ok {
			return bad("supported_groups")
		}
	case ExtECPointFormats:
		if m.ECPointFormats, ok = readVec8(body, 1); !ok {
			return bad("ec_point_formats")
		}
	case ExtSignatureAlgorithms:
		if m.SignatureAlgorithms, ok = readList16(body); !ok {
			return bad("signature_algorithms")
		}
	case ExtSignatureAlgorithmsCert:
		if m.SignatureAlgorithmsCert, ok = readList16(body); !ok {
			return bad("signature_algorithms_cert")
		}
	case ExtALPN:
		if m.ALPN, ok = readProtocols(body); !ok {
			return bad("application_layer_protocol_negotiation")
		}
	case ExtSCT:
		return needEmpty(name, "signed_certificate_timestamp", body, &m.SCT)
	case ExtEncryptThenMAC:
		return needEmpty(name, "encrypt_then_mac", body, &m.EncryptThenMAC)
	case ExtExtendedMasterSecret:
		return needEmpty(name, "extended_master_secret", body, &m.ExtendedMasterSecret)
	case ExtEarlyData:
		return needEmpty(name, "early_data", body, &m.EarlyData)
	case ExtSessionTicket:
		m.TicketSupported = true
		m.SessionTicket = own(*body)
		body.Skip(len(*body))
	case ExtSupportedVersions:
		var v []byte
		if v, ok = readVec8(body, 2); !ok {
			return bad("supported_versions")
		}
		if m.SupportedVersions, ok = readUint16s(v); !ok {
			return bad("supported_versions")
		}
	case ExtCookie:
		if m.Cookie, ok = readVec16(body, 1); !ok {
			return bad("cookie")
		}
	case ExtPSKKeyExchangeModes:
		if m.PSKModes, ok = readVec8(body, 1); !ok {
			return bad("psk_key_exchange_modes")
		}
	case ExtCertificateAuthorities:
		if m.CertificateAuthorities, ok = readNames(body); !ok {
			return bad("certificate_authorities")
		}
	case ExtCompressCertificate:
		if m.CertCompression, ok = readCompressionAlgs(body); !ok {
			return bad("compress_certificate")
		}
	case ExtTrustedCAKeys:
		m.HasTrustedCAKeys = true
		if m.TrustedCAKeys, ok = readTrustedAuthorities(body); !ok {
			return bad("trusted_ca_keys")
		}
	case ExtKeyShare:
		m.HasKeyShare = true
		if m.KeyShares, ok = readKeyShares(body); !ok {
			return bad("key_share")
		}
	case ExtRenegotiationInfo:
		m.SecureRenegotiationSupported = true
		if m.SecureRenegotiation, ok = readVec8(body, 0); !ok {
			return bad("renegotiation_info")
		}
	case ExtPreSharedKey:
		return m.readPreSharedKey(body)
	default:
		keepUnknown(&m.Unknown, typ, body)
	}
	return nil
}

// readServerName reads a ServerNameList (RFC 6066 §3) that must hold one
// host_name. On failure it says what was wrong.
//
// Like OpenSSL, and unlike crypto/tls (which skips entries of other
// types), a list with another name_type or more than one entry is
// refused: RFC 6066 defines only host_name and gives other types no
// length, so what follows one cannot be read with certainty, and one
// host_name is all a server can act on.
func readServerName(s *cryptobyte.String) (string, string) {
	var list cryptobyte.String
	var nameType uint8
	if !s.ReadUint16LengthPrefixed(&list) || !list.ReadUint8(&nameType) {
		return "", "server_name: truncated"
	}
	if nameType != 0 {
		return "", "server_name: a name_type other than host_name"
	}
	host, ok := readVec16(&list, 1)
	switch {
	case !ok:
		return "", "server_name: empty or truncated host_name"
	case !list.Empty():
		return "", "server_name: more than one name"
	case strings.HasSuffix(string(host), "."):
		return "", "server_name: host_name with a trailing dot"
	case !validHostName(string(host)):
		return "", "server_name: host_name is not printable ASCII"
	}
	return string(host), ""
}

// validHostName is a light check of a HostName: "ASCII encoding without
// a trailing dot" (RFC 6066 §3). Control bytes, spaces and bytes past
// ASCII are refused; whether it is a good DNS name is the engine's call.
func validHostName(h string) bool {
	if h == "" || len(h) > 0xffff || strings.HasSuffix(h, ".") {
		return false
	}
	for i := 0; i < len(h); i++ {
		if h[i] <= ' ' || h[i] >= 0x7f {
			return false
		}
	}
	return true
}

// validStatusRequest checks a CertificateStatusRequest (RFC 6066 §8).
// RFC 6066 defines one status_type, ocsp, and no layout for others; every
// type is held to ocsp's OCSPStatusRequest layout, two vectors, as
// crypto/tls does (FuzzClientHelloDifferential found the two disagreeing
// when an unknown type's body was taken on trust). No client sends
// another type in status_request: RFC 6961's ocsp_multi has its own
// extension.
func validStatusRequest(v cryptobyte.String) bool {
	var statusType uint8
	if !v.ReadUint8(&statusType) {
		return false
	}
	_, ok1 := readVec16(&v, 0) // responder_id_list
	_, ok2 := readVec16(&v, 0) // request_extensions
	return ok1 && ok2 && v.Empty()
}

func readKeyShares(s *cryptobyte.String) ([]KeyShare, bool) {
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) {
		return nil, false
	}
	var out []KeyShare
	for !list.Empty() {
		var ks KeyShare
		var ok bool
		if !list.ReadUint16(&ks.Group) {
			return nil, false
		}
		if ks.Data, ok = readVec16(&list, 1); !ok {
			return nil, false
		}
		out = append(out, ks)
	}
	return out, true
}

// readPreSharedKey reads an OfferedPsks (RFC 8446 §4.2.11).
func (m *ClientHello) readPreSharedKey(s *cryptobyte.String) error {
	const name = "ClientHello"
	var ids, binders cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&ids) || ids.Empty() {
		return malformed(name, "pre_shared_key identities")
	}
	for !ids.Empty() {
		var id PSKIdentity
		var ok bool
		if id.Identity, ok = readVec16(&ids, 1); !ok || !ids.ReadUint32(&id.ObfuscatedAge) {
			return malformed(name, "pre_shared_key identity")
		}
		m.PSKIdentities = append(m.PSKIdentities, id)
	}
	if !s.ReadUint16LengthPrefixed(&binders) || binders.Empty() {
		return malformed(name, "pre_shared_key binders")
	}
	for !binders.Empty() {
		b, ok := readVec8(&binders, 32)
		if !ok {
			return malformed(name, "pre_shared_key binder")
		}
		m.PSKBinders = append(m.PSKBinders, b)
	}
	if len(m.PSKBinders) != len(m.PSKIdentities) {
		return illegal(name, "pre_shared_key has as many binders as identities")
	}
	return nil
}

// clientHelloField reports the extension types a ClientHello field
// describes. status_request is not among them: a body other than
// StatusRequest's form lives in Unknown.
func clientHelloField(t uint16) bool {
	switch t {
	case ExtServerName, ExtSupportedGroups, ExtECPointFormats,
		ExtSignatureAlgorithms, ExtSignatureAlgorithmsCert, ExtALPN, ExtSCT,
		ExtEncryptThenMAC, ExtExtendedMasterSecret, ExtSessionTicket,
		ExtSupportedVersions, ExtCookie, ExtPSKKeyExchangeModes,
		ExtCertificateAuthorities, ExtKeyShare, ExtEarlyData,
		ExtRenegotiationInfo, ExtPreSharedKey, ExtCompressCertificate,
		ExtTrustedCAKeys:
		return true
	}
	return false
}

// Marshal encodes m, sets m.Raw to the result and returns it. It refuses
// a message ParseClientHello would refuse.
func (m *ClientHello) Marshal() ([]byte, error) {
	raw, err := seal(TypeClientHello, "ClientHello", m.build)
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

func (m *ClientHello) build(b *cryptobyte.Builder) {
	b.AddUint16(m.Vers)
	b.AddBytes(m.Random[:])
	if len(m.SessionID) > MaxSessionIDLen {
		refuse(b, "legacy_session_id longer than %d bytes", MaxSessionIDLen)
		return
	}
	addVec8(b, m.SessionID, 0, "legacy_session_id")
	addList16(b, m.CipherSuites, "cipher_suites")
	addVec8(b, m.CompressionMethods, 1, "legacy_compression_methods")

	var s extSet
	if m.ServerName != "" {
		if !validHostName(m.ServerName) {
			refuse(b, "server_name %q is not an ASCII host name", m.ServerName)
			return
		}
		s.add(ExtServerName, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0) // host_name
				addVec16(b, []byte(m.ServerName), 1, "host_name")
			})
		})
	}
	if m.StatusRequest {
		s.add(ExtStatusRequest, func(b *cryptobyte.Builder) { b.AddBytes(ocspRequest) })
	}
	if len(m.SupportedGroups) > 0 {
		s.add(ExtSupportedGroups, func(b *cryptobyte.Builder) { addList16(b, m.SupportedGroups, "supported_groups") })
	}
	if len(m.ECPointFormats) > 0 {
		s.add(ExtECPointFormats, func(b *cryptobyte.Builder) { addVec8(b, m.ECPointFormats, 1, "ec_point_formats") })
	}
	if len(m.SignatureAlgorithms) > 0 {
		s.add(ExtSignatureAlgorithms, func(b *cryptobyte.Builder) {
			addList16(b, m.SignatureAlgorithms, "signature_algorithms")
		})
	}
	if len(m.SignatureAlgorithmsCert) > 0 {
		s.add(ExtSignatureAlgorithmsCert, func(b *cryptobyte.Builder) {
			addList16(b, m.SignatureAlgorithmsCert, "signature_algorithms_cert")
		})
	}
	if len(m.ALPN) > 0 {
		s.add(ExtALPN, func(b *cryptobyte.Builder) { addProtocols(b, m.ALPN) })
	}
	s.flag(ExtSCT, m.SCT)
	s.flag(ExtEncryptThenMAC, m.EncryptThenMAC)
	s.flag(ExtExtendedMasterSecret, m.ExtendedMasterSecret)
	if m.TicketSupported {
		s.add(ExtSessionTicket, func(b *cryptobyte.Builder) { b.AddBytes(m.SessionTicket) })
	} else if len(m.SessionTicket) > 0 {
		refuse(b, "SessionTicket set without TicketSupported")
		return
	}
	if len(m.SupportedVersions) > 0 {
		s.add(ExtSupportedVersions, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
				addUint16s(b, m.SupportedVersions, "supported_versions")
			})
		})
	}
	if len(m.Cookie) > 0 {
		s.add(ExtCookie, func(b *cryptobyte.Builder) { addVec16(b, m.Cookie, 1, "cookie") })
	}
	if len(m.PSKModes) > 0 {
		s.add(ExtPSKKeyExchangeModes, func(b *cryptobyte.Builder) { addVec8(b, m.PSKModes, 1, "psk_key_exchange_modes") })
	}
	if len(m.CertificateAuthorities) > 0 {
		s.add(ExtCertificateAuthorities, func(b *cryptobyte.Builder) { addNames(b, m.CertificateAuthorities) })
	}
	if len(m.CertCompression) > 0 {
		s.add(ExtCompressCertificate, func(b *cryptobyte.Builder) { addCompressionAlgs(b, m.CertCompression) })
	}
	if m.HasTrustedCAKeys {
		s.add(ExtTrustedCAKeys, func(b *cryptobyte.Builder) { addTrustedAuthorities(b, m.TrustedCAKeys) })
	} else if len(m.TrustedCAKeys) > 0 {
		refuse(b, "TrustedCAKeys set without HasTrustedCAKeys")
		return
	}
	if m.HasKeyShare || len(m.KeyShares) > 0 {
		s.add(ExtKeyShare, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, ks := range m.KeyShares {
					b.AddUint16(ks.Group)
					addVec16(b, ks.Data, 1, "key_exchange")
				}
			})
		})
	}
	s.flag(ExtEarlyData, m.EarlyData)
	if m.SecureRenegotiationSupported {
		s.add(ExtRenegotiationInfo, func(b *cryptobyte.Builder) {
			addVec8(b, m.SecureRenegotiation, 0, "renegotiated_connection")
		})
	} else if len(m.SecureRenegotiation) > 0 {
		refuse(b, "SecureRenegotiation set without SecureRenegotiationSupported")
		return
	}
	for _, e := range m.Unknown {
		if e.Type == ExtStatusRequest && (bytes.Equal(e.Data, ocspRequest) || !validStatusRequest(e.Data)) {
			refuse(b, "status_request in Unknown must be one StatusRequest cannot describe")
			return
		}
	}
	s.addUnknown(b, m.Unknown, clientHelloField)

	var last *outExt
	if len(m.PSKIdentities) > 0 || len(m.PSKBinders) > 0 {
		if len(m.PSKIdentities) != len(m.PSKBinders) {
			refuse(b, "%d PSK identities but %d binders", len(m.PSKIdentities), len(m.PSKBinders))
			return
		}
		last = &outExt{ExtPreSharedKey, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, id := range m.PSKIdentities {
					addVec16(b, id.Identity, 1, "PSK identity")
					b.AddUint32(id.ObfuscatedAge)
				}
			})
			addBinders(b, m.PSKBinders)
		}}
	}
	s.write(b, m.ExtensionOrder, last, m.ExtensionOrder != nil)
}

func addBinders(b *cryptobyte.Builder, binders [][]byte) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, x := range binders {
			addVec8(b, x, 32, "PSK binder")
		}
	})
}

// errNoBinders is returned by the binder helpers for a ClientHello whose
// Raw does not end in the binders of PSKBinders.
var errNoBinders = errors.New("wire: ClientHello: Raw does not end in the PSKBinders list")

// bindersLen returns the length of the binders list, prefix included, at
// the end of m.Raw, after checking it encodes m.PSKBinders.
func (m *ClientHello) bindersLen() (int, error) {
	if len(m.PSKBinders) == 0 {
		return 0, errNoBinders
	}
	b := cryptobyte.NewBuilder(nil)
	addBinders(b, m.PSKBinders)
	list, err := b.Bytes()
	if err != nil {
		return 0, fmt.Errorf("wire: ClientHello: %w", err)
	}
	if len(list) > len(m.Raw)-HeaderLen || !bytes.HasSuffix(m.Raw, list) {
		return 0, errNoBinders
	}
	return len(list), nil
}

// TruncatedForBinders returns the prefix of Raw that PSK binders are
// computed over: the whole ClientHello up to, not including, the binders
// list (RFC 8446 §4.2.11.2). It is a subslice of Raw, not a copy. It
// fails unless Raw ends in the binders list of PSKBinders, as it does
// after Parse or Marshal.
func (m *ClientHello) TruncatedForBinders() ([]byte, error) {
	n, err := m.bindersLen()
	if err != nil {
		return nil, err
	}
	return m.Raw[:len(m.Raw)-n], nil
}

// UpdateBinders writes binders over the binders in Raw, in place, and
// points PSKBinders at them. There must be as many as before, each of the
// same length: a client marshals with placeholder binders of the right
// lengths, hashes TruncatedForBinders, then fills them in (RFC 8446
// §4.2.11.2).
func (m *ClientHello) UpdateBinders(binders [][]byte) error {
	n, err := m.bindersLen()
	if err != nil {
		return err
	}
	if len(binders) != len(m.PSKBinders) {
		return fmt.Errorf("wire: ClientHello: %d binders given for %d identities", len(binders), len(m.PSKBinders))
	}
	for i, x := range binders {
		if len(x) != len(m.PSKBinders[i]) {
			return fmt.Errorf("wire: ClientHello: binder %d is %d bytes, not %d", i, len(x), len(m.PSKBinders[i]))
		}
	}
	updated := make([][]byte, len(binders))
	pos := len(m.Raw) - n + 2
	for i, x := range binders {
		pos++ // the binder's length byte
		dst := m.Raw[pos : pos+len(x) : pos+len(x)]
		copy(dst, x)
		updated[i] = dst
		pos += len(x)
	}
	m.PSKBinders = updated
	return nil
}

package wire

import (
	"golang.org/x/crypto/cryptobyte"
)

// trusted_ca_keys (RFC 6066 §6): a TLS 1.2 client lists the CA root keys
// it holds, so that a server with several chains can send one the client
// can verify. A server that let the list guide its choice answers with
// the extension, empty, in its ServerHello.
//
//	struct {
//	    TrustedAuthority trusted_authorities_list<0..2^16-1>;
//	} TrustedAuthorities;
//
//	struct {
//	    IdentifierType identifier_type;
//	    select (identifier_type) {
//	        case pre_agreed: struct {};
//	        case key_sha1_hash: SHA1Hash;
//	        case x509_name: DistinguishedName;
//	        case cert_sha1_hash: SHA1Hash;
//	    } identifier;
//	} TrustedAuthority;
//
// An identifier's length follows from its type, so an entry of a type
// the RFC does not define cannot be stepped over: the list cannot be
// read past it. The RFC's list of types is closed, and no later RFC adds
// one, so such an entry makes the whole ClientHello a decode_error rather
// than an ignored extension.

// Identifier types of a TrustedAuthority (RFC 6066 §6).
const (
	// CAPreAgreed names no CA: client and server agreed on one out of
	// band. It carries no identifier.
	CAPreAgreed uint8 = 0
	// CAKeySHA1 is the SHA-1 hash of the CA root's key: for an RSA key,
	// of its modulus, big-endian without leading zero bytes; for any
	// other key, of the contents of the certificate's subjectPublicKey
	// BIT STRING.
	CAKeySHA1 uint8 = 1
	// CAX509Name is the DER DistinguishedName of the CA.
	CAX509Name uint8 = 2
	// CACertSHA1 is the SHA-1 hash of the DER certificate holding the CA
	// root key.
	CACertSHA1 uint8 = 3
)

// SHA1Len is the length of the SHA1Hash identifiers.
const SHA1Len = 20

// TrustedAuthority is one entry of a trusted_ca_keys list.
type TrustedAuthority struct {
	Type uint8
	// ID is the identifier: 20 bytes for CAKeySHA1 and CACertSHA1, a
	// non-empty DER name for CAX509Name, nil for CAPreAgreed.
	ID []byte
}

// readTrustedAuthorities reads a TrustedAuthorities body. ok is false for
// a malformed list, including one holding a type it cannot step over.
func readTrustedAuthorities(s *cryptobyte.String) (list []TrustedAuthority, ok bool) {
	var v cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&v) {
		return nil, false
	}
	for !v.Empty() {
		var a TrustedAuthority
		if !v.ReadUint8(&a.Type) {
			return nil, false
		}
		switch a.Type {
		case CAPreAgreed:
		case CAKeySHA1, CACertSHA1:
			var h []byte
			if !v.ReadBytes(&h, SHA1Len) {
				return nil, false
			}
			a.ID = own(h)
		case CAX509Name:
			if a.ID, ok = readVec16(&v, 1); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		list = append(list, a)
	}
	return list, true
}

// addTrustedAuthorities writes a TrustedAuthorities body, refusing what
// readTrustedAuthorities would refuse.
func addTrustedAuthorities(b *cryptobyte.Builder, list []TrustedAuthority) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, a := range list {
			switch a.Type {
			case CAPreAgreed:
				if len(a.ID) != 0 {
					refuse(b, "trusted_ca_keys: pre_agreed with an identifier")
					return
				}
				b.AddUint8(a.Type)
			case CAKeySHA1, CACertSHA1:
				if len(a.ID) != SHA1Len {
					refuse(b, "trusted_ca_keys: identifier type %d with a %d-byte hash, not %d", a.Type, len(a.ID), SHA1Len)
					return
				}
				b.AddUint8(a.Type)
				b.AddBytes(a.ID)
			case CAX509Name:
				b.AddUint8(a.Type)
				addVec16(b, a.ID, 1, "trusted_ca_keys x509_name")
			default:
				refuse(b, "trusted_ca_keys: identifier type %d is not defined (RFC 6066 §6)", a.Type)
				return
			}
		}
	})
}

package wire

import (
	"crypto/sha1"

	"golang.org/x/crypto/cryptobyte"
)

// ExtClientCertificateURL is RFC 6066 §5's client_certificate_url
// extension: empty in both hellos.
const ExtClientCertificateURL uint16 = 2

// CertChainType values of a CertificateURL (RFC 6066 §5). Holdfast sends
// and accepts individual_certs; pkipath is parsed and refused by the
// engine.
const (
	CertChainIndividual uint8 = 0
	CertChainPKIPath    uint8 = 1
)

// URLAndHash names one certificate: where to fetch it and the SHA-1 of
// its DER encoding, which the fetched bytes must match.
type URLAndHash struct {
	URL  string // <1..2^16-1>
	Hash [sha1.Size]byte
}

// CertificateURL is the TLS 1.2 message a client sends in place of its
// Certificate when both ends agreed to client_certificate_url (RFC 6066
// §5).
type CertificateURL struct {
	Raw []byte

	Type    uint8
	Entries []URLAndHash // <1..2^16-1>, leaf first
}

// ParseCertificateURL parses a whole CertificateURL message. The padding
// byte before each hash must be 1 (RFC 6066 §5).
func ParseCertificateURL(msg []byte) (*CertificateURL, error) {
	const name = "CertificateURL"
	raw, s, err := open(msg, TypeCertificateURL, name)
	if err != nil {
		return nil, err
	}
	m := &CertificateURL{Raw: raw}
	var list cryptobyte.String
	if !s.ReadUint8(&m.Type) || !s.ReadUint16LengthPrefixed(&list) || !s.Empty() || list.Empty() {
		return nil, malformed(name, "url_and_hash_list")
	}
	for !list.Empty() {
		var url cryptobyte.String
		var padding uint8
		var e URLAndHash
		var hash []byte
		if !list.ReadUint16LengthPrefixed(&url) || url.Empty() || !list.ReadUint8(&padding) || !list.ReadBytes(&hash, sha1.Size) {
			return nil, malformed(name, "url_and_hash")
		}
		if padding != 1 {
			return nil, illegal(name, "padding byte is not 1")
		}
		e.URL = string(url)
		copy(e.Hash[:], hash)
		m.Entries = append(m.Entries, e)
	}
	return m, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *CertificateURL) Marshal() ([]byte, error) {
	raw, err := seal(TypeCertificateURL, "CertificateURL", func(b *cryptobyte.Builder) {
		b.AddUint8(m.Type)
		if len(m.Entries) == 0 {
			refuse(b, "CertificateURL without URLs")
			return
		}
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range m.Entries {
				if e.URL == "" {
					refuse(b, "empty URL")
					return
				}
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(e.URL)) })
				b.AddUint8(1)
				b.AddBytes(e.Hash[:])
			}
		})
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

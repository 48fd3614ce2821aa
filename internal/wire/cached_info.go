package wire

import (
	"golang.org/x/crypto/cryptobyte"
)

// Cached information (RFC 7924): a client names, by SHA-256 digest,
// handshake messages it holds from an earlier connection, and a server
// that still sends exactly those replaces each with its digest. TLS 1.2
// uses the cached_info extension (25) in ClientHello and ServerHello; in
// TLS 1.3 Holdfast carries the same structures under a private-use code
// point, in ClientHello and EncryptedExtensions.

// ExtCachedInfo is RFC 7924's extension type.
const ExtCachedInfo uint16 = 25

// CachedInformationType values (RFC 7924 §3).
const (
	CachedCert    uint8 = 1 // the server's Certificate message
	CachedCertReq uint8 = 2 // the server's CertificateRequest message
)

// CachedObject is one entry of a client's cached_info: a message type and
// the SHA-256 of that message as the server sent it, header included.
type CachedObject struct {
	Type uint8
	Hash []byte // <1..255>
}

// ParseClientCachedInfo parses the client's extension body,
// CachedObject cached_info<1..2^16-1>. Unknown types are kept: the server
// ignores them (RFC 7924 §4 lets it answer only types it supports).
func ParseClientCachedInfo(data []byte) ([]CachedObject, error) {
	const name = "cached_info"
	s := cryptobyte.String(data)
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() || list.Empty() {
		return nil, malformed(name, "list")
	}
	var out []CachedObject
	for !list.Empty() {
		var o CachedObject
		var ok bool
		if !list.ReadUint8(&o.Type) {
			return nil, malformed(name, "type")
		}
		if o.Hash, ok = readVec8(&list, 1); !ok {
			return nil, malformed(name, "hash_value")
		}
		out = append(out, o)
	}
	return out, nil
}

// MarshalClientCachedInfo encodes a client's cached_info body.
func MarshalClientCachedInfo(objs []CachedObject) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	if len(objs) == 0 {
		refuse(b, "cached_info without objects")
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, o := range objs {
			b.AddUint8(o.Type)
			addVec8(b, o.Hash, 1, "hash_value")
		}
	})
	return b.Bytes()
}

// ParseServerCachedInfo parses a server's answer: the same list, with
// only the type of each object the server will replace by its digest.
func ParseServerCachedInfo(data []byte) ([]uint8, error) {
	const name = "server cached_info"
	s := cryptobyte.String(data)
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() || list.Empty() {
		return nil, malformed(name, "list")
	}
	return []uint8(own(list)), nil
}

// MarshalServerCachedInfo encodes a server's answer.
func MarshalServerCachedInfo(types []uint8) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	if len(types) == 0 {
		refuse(b, "server cached_info without types")
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(types) })
	return b.Bytes()
}

// ParseCachedMessage parses a message of type typ that the server
// replaced by the digest of its original (RFC 7924 §4.1, §4.2):
// struct { opaque hash_value<1..255>; }.
func ParseCachedMessage(msg []byte, typ uint8) ([]byte, error) {
	const name = "cached-info digest message"
	_, s, err := open(msg, typ, name)
	if err != nil {
		return nil, err
	}
	h, ok := readVec8(&s, 1)
	if !ok || !s.Empty() {
		return nil, malformed(name, "hash_value")
	}
	return h, nil
}

// MarshalCachedMessage encodes the digest form of a message of type typ.
func MarshalCachedMessage(typ uint8, hash []byte) ([]byte, error) {
	return seal(typ, "cached-info digest message", func(b *cryptobyte.Builder) { addVec8(b, hash, 1, "hash_value") })
}

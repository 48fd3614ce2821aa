package wire

import "golang.org/x/crypto/cryptobyte"

// ServerPremaster is the ServerKeyExchange a TLS 1.2 server sends when
// both ends agreed to a server-generated premaster (a Holdfast extension;
// docs/PREMASTER.md): the premaster encrypted to the client's certificate
// key, and the server's signature over both randoms and the ciphertext,
// which the client checks before it decrypts.
//
//	struct {
//	    opaque encrypted_premaster<1..2^16-1>;
//	    SignatureScheme algorithm;
//	    opaque signature<1..2^16-1>;
//	} ServerPremaster;
type ServerPremaster struct {
	Raw []byte

	EncryptedPremaster []byte
	Algorithm          uint16
	Signature          []byte
}

// ParseServerPremaster parses a whole ServerKeyExchange message carrying a
// ServerPremaster.
func ParseServerPremaster(msg []byte) (*ServerPremaster, error) {
	const name = "ServerKeyExchange (server premaster)"
	raw, s, err := open(msg, TypeServerKeyExchange, name)
	if err != nil {
		return nil, err
	}
	m := &ServerPremaster{Raw: raw}
	var ct, sig cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&ct) || ct.Empty() || !s.ReadUint16(&m.Algorithm) ||
		!s.ReadUint16LengthPrefixed(&sig) || sig.Empty() || !s.Empty() {
		return nil, malformed(name, "body")
	}
	m.EncryptedPremaster, m.Signature = own(ct), own(sig)
	return m, nil
}

// SignedContent is what the server signs: client_random, server_random
// and the ciphertext with its length.
func (m *ServerPremaster) SignedContent(clientRandom, serverRandom []byte) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddBytes(clientRandom)
	b.AddBytes(serverRandom)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.EncryptedPremaster) })
	out, _ := b.Bytes()
	return out
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *ServerPremaster) Marshal() ([]byte, error) {
	raw, err := seal(TypeServerKeyExchange, "ServerKeyExchange (server premaster)", func(b *cryptobyte.Builder) {
		if len(m.EncryptedPremaster) == 0 || len(m.Signature) == 0 {
			refuse(b, "server premaster without ciphertext or signature")
			return
		}
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.EncryptedPremaster) })
		b.AddUint16(m.Algorithm)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.Signature) })
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

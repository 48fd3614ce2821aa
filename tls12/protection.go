package tls12

import (
	"fmt"
	"io"

	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/mem"
)

// newProtections builds the record protection for both directions from
// the key block: the side's read (the peer's write keys) and write.
func newProtections(s Suite, kb *keyBlock, isClient, etm bool, rnd io.Reader) (record.Opener, record.Sealer, error) {
	cw, sw := kb.clientKey, kb.serverKey
	civ, siv := kb.clientIV, kb.serverIV
	cmac, smac := kb.clientMAC, kb.serverMAC
	readKey, readIV, readMAC, writeKey, writeIV, writeMAC := cw, civ, cmac, sw, siv, smac
	if isClient {
		readKey, readIV, readMAC, writeKey, writeIV, writeMAC = sw, siv, smac, cw, civ, cmac
	}
	r, err := newProtection(s, readKey, readIV, readMAC, etm, rnd)
	if err != nil {
		return nil, nil, err
	}
	w, err := newProtection(s, writeKey, writeIV, writeMAC, etm, rnd)
	if err != nil {
		r.Free()
		return nil, nil, err
	}
	return r, w, nil
}

// newProtection makes one direction's record protection: an AEAD, or
// CBC with HMAC, MAC-then-encrypt unless encrypt_then_mac (RFC 7366) was
// negotiated.
func newProtection(s Suite, key, iv, mac *mem.Secret, etm bool, rnd io.Reader) (protection, error) {
	if s.AEAD != 0 {
		return record.NewProtection12AEAD(s.AEAD, key, iv)
	}
	var c record.CBC12
	switch {
	case s.CBCKeyLen == 16 && s.MACLen == 20:
		c = record.AES128CBCSHA1
	case s.CBCKeyLen == 32 && s.MACLen == 20:
		c = record.AES256CBCSHA1
	case s.CBCKeyLen == 16 && s.MACLen == 32:
		c = record.AES128CBCSHA256
	case s.CBCKeyLen == 32 && s.MACLen == 32:
		c = record.AES256CBCSHA256
	default:
		return nil, fmt.Errorf("tls12: %v has no CBC protection", s)
	}
	mode := record.MACThenEncrypt
	if etm {
		mode = record.EncryptThenMAC
	}
	return record.NewProtection12CBC(c, mode, key, mac, rnd)
}

// protection is a record protection for both roles.
type protection interface {
	record.Opener
	record.Sealer
}

// pendingKeys holds the next read and write protection between the key
// block and each side's change_cipher_spec; whatever was never installed
// is freed with the handshake.
type pendingKeys struct {
	read  record.Opener
	write record.Sealer
}

// takeRead and takeWrite hand a protection to the transport, which owns
// it from then on.
func (pk *pendingKeys) takeRead() record.Opener {
	r := pk.read
	pk.read = nil
	return r
}

func (pk *pendingKeys) takeWrite() record.Sealer {
	w := pk.write
	pk.write = nil
	return w
}

func (pk *pendingKeys) free() {
	if pk.read != nil {
		pk.read.Free()
	}
	if pk.write != nil {
		pk.write.Free()
	}
	*pk = pendingKeys{}
}

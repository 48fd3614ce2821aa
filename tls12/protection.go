package tls12

import (
	"fmt"
	"io"

	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/mem"
)

// newProtections builds the record protection for both directions from
// the key block: the side's read (the peer's write keys) and write.
func newProtections(s Suite, kb *keyBlock, isClient bool, rnd io.Reader) (record.Opener, record.Sealer, error) {
	cw, sw := kb.clientKey, kb.serverKey
	civ, siv := kb.clientIV, kb.serverIV
	cmac, smac := kb.clientMAC, kb.serverMAC
	readKey, readIV, readMAC, writeKey, writeIV, writeMAC := cw, civ, cmac, sw, siv, smac
	if isClient {
		readKey, readIV, readMAC, writeKey, writeIV, writeMAC = sw, siv, smac, cw, civ, cmac
	}
	r, err := newProtection(s, readKey, readIV, readMAC, rnd)
	if err != nil {
		return nil, nil, err
	}
	w, err := newProtection(s, writeKey, writeIV, writeMAC, rnd)
	if err != nil {
		r.Free()
		return nil, nil, err
	}
	return r, w, nil
}

// newProtection makes one direction's record protection.
func newProtection(s Suite, key, iv, mac *mem.Secret, rnd io.Reader) (protection, error) {
	if s.AEAD != 0 {
		return record.NewAEAD12(s.AEAD, key, iv)
	}
	return nil, fmt.Errorf("tls12: %v: CBC record protection is not built yet", s)
}

// protection is a record protection for both roles.
type protection interface {
	record.Opener
	record.Sealer
}

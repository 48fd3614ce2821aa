package tls13

import (
	"fmt"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/record"
)

// Suite is a TLS 1.3 cipher suite (RFC 8446 §B.4): an AEAD and a hash.
type Suite struct {
	ID   uint16
	AEAD record.AEAD
	Hash hkdf.Hash
}

// TLS 1.3 cipher suite identifiers.
const (
	TLS_AES_128_GCM_SHA256       uint16 = 0x1301
	TLS_AES_256_GCM_SHA384       uint16 = 0x1302
	TLS_CHACHA20_POLY1305_SHA256 uint16 = 0x1303
)

var suites = []Suite{
	{TLS_AES_128_GCM_SHA256, record.AES128GCM, hkdf.SHA256},
	{TLS_AES_256_GCM_SHA384, record.AES256GCM, hkdf.SHA384},
	{TLS_CHACHA20_POLY1305_SHA256, record.ChaCha20Poly1305, hkdf.SHA256},
}

// SuiteByID returns the suite with the given identifier.
func SuiteByID(id uint16) (Suite, bool) {
	for _, s := range suites {
		if s.ID == id {
			return s, true
		}
	}
	return Suite{}, false
}

// DefaultSuites is the preference order when the configuration names none.
var DefaultSuites = []uint16{TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_256_GCM_SHA384}

func (s Suite) String() string {
	switch s.ID {
	case TLS_AES_128_GCM_SHA256:
		return "TLS_AES_128_GCM_SHA256"
	case TLS_AES_256_GCM_SHA384:
		return "TLS_AES_256_GCM_SHA384"
	case TLS_CHACHA20_POLY1305_SHA256:
		return "TLS_CHACHA20_POLY1305_SHA256"
	}
	return fmt.Sprintf("suite(%#04x)", s.ID)
}

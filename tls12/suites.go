package tls12

import (
	"fmt"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/record"
)

// KeyExchange is how a suite agrees on the premaster secret.
type KeyExchange uint8

const (
	ECDHE_ECDSA KeyExchange = iota + 1
	ECDHE_RSA
	RSA // RSA key transport: off by default
)

// Suite is a TLS 1.2 cipher suite.
type Suite struct {
	ID   uint16
	Name string
	KX   KeyExchange
	// AEAD suites set AEAD; CBC suites set CBCKeyLen and MACLen.
	AEAD      record.AEAD
	CBCKeyLen int
	MACLen    int
	// Hash is the PRF hash (RFC 5246 §5, RFC 5288 §3).
	Hash hkdf.Hash
}

// Legacy reports a suite that is off unless the configuration enables it:
// RSA key transport (no forward secrecy) or CBC (MAC-then-encrypt).
func (s Suite) Legacy() bool { return s.KX == RSA || s.AEAD == 0 }

var suites = []Suite{
	{0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", ECDHE_ECDSA, record.AES128GCM, 0, 0, hkdf.SHA256},
	{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ECDHE_RSA, record.AES128GCM, 0, 0, hkdf.SHA256},
	{0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", ECDHE_ECDSA, record.AES256GCM, 0, 0, hkdf.SHA384},
	{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", ECDHE_RSA, record.AES256GCM, 0, 0, hkdf.SHA384},
	{0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", ECDHE_ECDSA, record.ChaCha20Poly1305, 0, 0, hkdf.SHA256},
	{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ECDHE_RSA, record.ChaCha20Poly1305, 0, 0, hkdf.SHA256},
	{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", RSA, record.AES128GCM, 0, 0, hkdf.SHA256},
	{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", RSA, 0, 16, 20, hkdf.SHA256},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", RSA, 0, 32, 20, hkdf.SHA256},
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

// DefaultSuites are the forward-secret AEAD suites, in preference order.
var DefaultSuites = []uint16{0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030}

// AllSuites lists every implemented suite, legacy ones last.
var AllSuites = []uint16{0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0x009c, 0x002f, 0x0035}

func (s Suite) String() string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("suite(%#04x)", s.ID)
}

// ivLen is the key block's per-direction IV length: the implicit GCM salt,
// the ChaCha20-Poly1305 IV, nothing for CBC (explicit IVs).
func (s Suite) ivLen() int {
	switch s.AEAD {
	case record.AES128GCM, record.AES256GCM:
		return 4
	case record.ChaCha20Poly1305:
		return 12
	}
	return 0
}

func (s Suite) keyLen() int {
	if s.AEAD != 0 {
		return s.AEAD.KeyLen()
	}
	return s.CBCKeyLen
}

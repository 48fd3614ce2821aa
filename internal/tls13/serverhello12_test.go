package tls13

import (
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// A TLS 1.3 ServerHello carrying an extension only TLS 1.2 answers in a
// ServerHello is unsupported_extension (RFC 8446 §4.2).
func TestServerHello13RefusesTLS12Extensions(t *testing.T) {
	hs := &clientHandshake{p: &params.Params{MinVersion: 0x0303, MaxVersion: 0x0304, Suites: []uint16{0x1301}}, hello: &wire.ClientHello{SessionID: []byte{1, 2}, CipherSuites: []uint16{0x1301}}}
	base := func() *wire.ServerHello {
		return &wire.ServerHello{Vers: 0x0303, SupportedVersion: 0x0304, SessionID: []byte{1, 2}, CipherSuite: 0x1301}
	}
	if err := hs.checkServerHello(base()); err != nil {
		t.Fatalf("plain TLS 1.3 ServerHello: %v", err)
	}
	for name, spoil := range map[string]func(*wire.ServerHello){
		"extended_master_secret": func(sh *wire.ServerHello) { sh.ExtendedMasterSecret = true },
		"renegotiation_info":     func(sh *wire.ServerHello) { sh.SecureRenegotiationSupported = true },
		"encrypt_then_mac":       func(sh *wire.ServerHello) { sh.EncryptThenMAC = true },
		"session_ticket":         func(sh *wire.ServerHello) { sh.TicketSupported = true },
		"server_name":            func(sh *wire.ServerHello) { sh.ServerNameAck = true },
		"status_request":         func(sh *wire.ServerHello) { sh.StatusRequest = true },
		"alpn":                   func(sh *wire.ServerHello) { sh.ALPN = "h2" },
		"ec_point_formats":       func(sh *wire.ServerHello) { sh.ECPointFormats = []byte{0} },
		"trusted_ca_keys":        func(sh *wire.ServerHello) { sh.TrustedCAKeysAck = true },
	} {
		sh := base()
		spoil(sh)
		if err := hs.checkServerHello(sh); !errors.Is(err, alert.ErrUnsupportedExtension) {
			t.Errorf("%s: %v, want unsupported_extension", name, err)
		}
	}
}

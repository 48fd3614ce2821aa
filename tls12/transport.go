package tls12

import (
	"context"
	"crypto/x509"

	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/mem"
)

// Transport is what the handshake needs from the connection.
type Transport interface {
	// ReadHandshake returns the next complete handshake message, header
	// included.
	ReadHandshake(ctx context.Context) ([]byte, error)
	// ReadChangeCipherSpec waits for the peer's change_cipher_spec. It
	// fails with unexpected_message if handshake data comes first or is
	// buffered: the Finished must start a new record under new keys.
	ReadChangeCipherSpec(ctx context.Context) error
	// WriteHandshake queues a handshake message.
	WriteHandshake(msg []byte) error
	// WriteChangeCipherSpec queues change_cipher_spec under the current
	// write protection.
	WriteChangeCipherSpec() error
	// Flush sends what is queued.
	Flush() error
	// SetReadProtection switches the read direction to new keys.
	SetReadProtection(o record.Opener) error
	// SetWriteProtection switches the write direction to new keys.
	SetWriteProtection(s record.Sealer)
}

// State is what a finished TLS 1.2 handshake hands to the connection,
// which owns MasterSecret and frees it.
type State struct {
	Suite              Suite
	Group              kex.Group
	ALPN               string
	ServerName         string
	PeerCertificates   []*x509.Certificate
	VerifiedChains     [][]*x509.Certificate
	ExtendedMaster     bool
	MasterSecret       *mem.Secret // for RFC 5705 exporters
	ClientRandom       [32]byte
	ServerRandom       [32]byte
	SecureRenegotation bool
	DidResume          bool
	// PeerScheme is the signature scheme the peer signed the handshake
	// with: on a client, the server's ServerKeyExchange (RFC 5246
	// §7.4.3; 0 for RSA key transport, where the server signs nothing);
	// on a server, the client's CertificateVerify (RFC 5246 §7.4.8; 0
	// without a client certificate). A resumed handshake signs nothing
	// and reports the scheme of the handshake that made the session.
	PeerScheme sigscheme.Scheme
	// OCSPResponse is the OCSP response the server stapled in its
	// CertificateStatus (RFC 6066 §8), as received and unjudged; nil on a
	// server. A resumed handshake reports the one of the handshake that
	// made the session.
	OCSPResponse []byte
}

// Free wipes the state's secrets.
func (s *State) Free() {
	if s == nil {
		return
	}
	s.MasterSecret.Free()
	s.MasterSecret = nil
}

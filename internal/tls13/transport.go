package tls13

import (
	"context"
	"crypto/x509"
	"fmt"
	"hash"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/mem"
)

// Transport is what the handshake needs from the connection: whole
// handshake messages in and out, and a way to switch record protection.
// Tests implement it to script a peer.
type Transport interface {
	// ReadHandshake returns the next complete handshake message, header
	// included. The connection fails it with unexpected_message for any
	// other content during the handshake, and with the peer's alert.
	ReadHandshake(ctx context.Context) ([]byte, error)
	// WriteHandshake queues a handshake message.
	WriteHandshake(msg []byte) error
	// WriteChangeCipherSpec queues the middlebox-compatibility record.
	WriteChangeCipherSpec() error
	// Flush sends what is queued.
	Flush() error
	// SetReadProtection switches the read direction to new keys. It fails
	// with unexpected_message if part of a handshake message is still
	// buffered: a message must not span a key change (RFC 8446 §5.1).
	SetReadProtection(o record.Opener) error
	// SetWriteProtection switches the write direction to new keys.
	SetWriteProtection(s record.Sealer)
}

// State is what a finished handshake hands to the connection. The
// connection owns the secrets and frees them.
type State struct {
	Suite            Suite
	Group            kex.Group
	ALPN             string
	ServerName       string
	PeerCertificates []*x509.Certificate
	VerifiedChains   [][]*x509.Certificate
	DidHRR           bool
	DidResume        bool
	// PeerScheme is the signature scheme of the peer's CertificateVerify
	// (RFC 8446 §4.4.3): the server's on a client, the client's on a
	// server that received a client certificate, else 0. A resumed
	// handshake has no CertificateVerify and reports the scheme of the
	// handshake that made the session.
	PeerScheme sigscheme.Scheme
	// OCSPResponse is the OCSP response a server stapled to its leaf
	// (RFC 8446 §4.4.2.1), as received and unjudged; nil on a server. A
	// resumed handshake reports the one of the handshake that made the
	// session.
	OCSPResponse []byte

	// Application traffic secrets, for KeyUpdate (RFC 8446 §7.2).
	ClientTrafficSecret *mem.Secret
	ServerTrafficSecret *mem.Secret
	// ExporterSecret serves RFC 8446 §7.5 exporters.
	ExporterSecret *mem.Secret
	// ResumptionSecret is a client's resumption_master_secret, from
	// which the PSKs of the tickets the server sends are derived; nil on
	// a server and on a client with no session store.
	ResumptionSecret *mem.Secret
}

// Free wipes the state's secrets.
func (s *State) Free() {
	if s == nil {
		return
	}
	s.ClientTrafficSecret.Free()
	s.ServerTrafficSecret.Free()
	s.ExporterSecret.Free()
	s.ResumptionSecret.Free()
	s.ClientTrafficSecret, s.ServerTrafficSecret, s.ExporterSecret, s.ResumptionSecret = nil, nil, nil, nil
}

// NewProtection derives the record key and IV for a traffic secret and
// returns the record protection for it. The key and IV are wiped once the
// AEAD is made.
func NewProtection(s Suite, trafficSecret *mem.Secret) (*record.Protection13, error) {
	key, err := mem.New(s.AEAD.KeyLen())
	if err != nil {
		return nil, err
	}
	defer key.Free()
	iv, err := mem.New(record.IVLen)
	if err != nil {
		return nil, err
	}
	defer iv.Free()
	if err := hkdf.TrafficKey(s.Hash, key, iv, trafficSecret); err != nil {
		return nil, err
	}
	return record.NewProtection13(s.AEAD, key, iv)
}

// transcript is the running hash of the handshake messages (RFC 8446
// §4.4.1). A client does not know the hash until the ServerHello names the
// suite, so it keeps the messages until then.
type transcript struct {
	h       hash.Hash
	pending [][]byte
}

func (t *transcript) add(msg []byte) {
	if t.h == nil {
		t.pending = append(t.pending, msg)
		return
	}
	t.h.Write(msg)
}

// start fixes the hash once the suite is known.
func (t *transcript) start(h hkdf.Hash) {
	t.h = h.New()
	for _, m := range t.pending {
		t.h.Write(m)
	}
	t.pending = nil
}

// sum returns Transcript-Hash of the messages so far.
func (t *transcript) sum() []byte { return t.h.Sum(nil) }

// restartAfterRetry replaces ClientHello1 by the synthetic message_hash
// message (RFC 8446 §4.4.1) before the HelloRetryRequest is added.
func (t *transcript) restartAfterRetry(h hkdf.Hash) {
	ch1 := t.h.Sum(nil)
	t.h = h.New()
	t.h.Write(messageHash(ch1))
}

// messageHash is the synthetic handshake message that stands for
// ClientHello1 after a HelloRetryRequest.
func messageHash(h []byte) []byte {
	return append([]byte{254, 0, 0, byte(len(h))}, h...)
}

// signedContent builds what a CertificateVerify signs (RFC 8446 §4.4.3):
// 64 spaces, a context string, a zero byte, the transcript hash.
func signedContent(server bool, transcriptHash []byte) []byte {
	ctx := "TLS 1.3, client CertificateVerify"
	if server {
		ctx = "TLS 1.3, server CertificateVerify"
	}
	b := make([]byte, 0, 64+len(ctx)+1+len(transcriptHash))
	for range 64 {
		b = append(b, ' ')
	}
	b = append(b, ctx...)
	b = append(b, 0)
	return append(b, transcriptHash...)
}

// finishedMAC computes verify_data = HMAC(finished_key, transcript hash)
// (RFC 8446 §4.4.4) from a handshake traffic secret.
func finishedMAC(s Suite, baseKey *mem.Secret, transcriptHash []byte) ([]byte, error) {
	fk, err := mem.New(s.Hash.Size())
	if err != nil {
		return nil, err
	}
	defer fk.Free()
	if err := hkdf.FinishedKey(s.Hash, fk, baseKey); err != nil {
		return nil, err
	}
	out := make([]byte, s.Hash.Size())
	if err := hkdf.MAC(s.Hash, out, fk, transcriptHash); err != nil {
		return nil, err
	}
	return out, nil
}

// unexpected reports a message of the wrong type for the state.
func unexpected(want string, msg []byte) error {
	typ := -1
	if len(msg) > 0 {
		typ = int(msg[0])
	}
	return fmt.Errorf("expected %s, got handshake message type %d: %w", want, typ, alert.ErrUnexpectedMessage)
}

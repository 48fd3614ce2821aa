package tls12

import (
	"context"
	"fmt"
	"hash"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/alert"
)

// transcript keeps both the running PRF-hash of the handshake messages
// (for Finished and the session hash) and the messages themselves: a TLS
// 1.2 CertificateVerify signs the messages with a hash of the signer's
// choosing, not the PRF hash.
type transcript struct {
	h    hash.Hash
	msgs []byte
}

func (t *transcript) start(h hkdf.Hash) { t.h = h.New() }

func (t *transcript) add(msg []byte) {
	t.h.Write(msg)
	t.msgs = append(t.msgs, msg...)
}

func (t *transcript) sum() []byte { return t.h.Sum(nil) }

// expect reads the next handshake message and parses it as the one the
// state expects; any other type is unexpected_message.
func expect[T any](ctx context.Context, tr Transport, typ uint8, name string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	msg, err := tr.ReadHandshake(ctx)
	if err != nil {
		return zero, err
	}
	if len(msg) == 0 || msg[0] != typ {
		t := -1
		if len(msg) > 0 {
			t = int(msg[0])
		}
		return zero, fmt.Errorf("expected %s, got handshake message type %d: %w", name, t, alert.ErrUnexpectedMessage)
	}
	m, err := parse(msg)
	if err != nil {
		return zero, fmt.Errorf("parsing %s: %w", name, err)
	}
	return m, nil
}

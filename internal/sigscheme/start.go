package sigscheme

import (
	"context"
	"crypto"
)

// Signing is a signature being made in its own goroutine, started by
// StartSign. Exactly one of Wait or Cancel must be called.
type Signing struct {
	done   chan struct{}
	cancel context.CancelFunc
	sig    []byte
	err    error
}

// StartSign begins Sign(ctx, signer, scheme, message) in a goroutine and
// returns at once, so that the handshake can send the messages the
// signature covers while the key signs. With a key in an HSM or a TPM the
// signature takes milliseconds; sending the first half of the flight
// before it lets the peer decrypt, parse and verify the certificate chain
// in that time instead of after it. message must not change until Wait
// or Cancel returns.
func StartSign(ctx context.Context, signer crypto.Signer, scheme Scheme, message []byte) *Signing {
	ctx, cancel := context.WithCancel(ctx)
	s := &Signing{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.done)
		s.sig, s.err = Sign(ctx, signer, scheme, message)
	}()
	return s
}

// Wait returns the signature, or Sign's error, once the signer is done.
func (s *Signing) Wait() ([]byte, error) {
	<-s.done
	s.cancel()
	return s.sig, s.err
}

// Cancel abandons the signature: a ContextSigner sees its context end,
// and Cancel returns when the signer has, so that no goroutine outlives
// the handshake that started it. A plain crypto.Signer cannot be
// interrupted; Cancel then waits for it as Sign would have.
func (s *Signing) Cancel() {
	s.cancel()
	<-s.done
}

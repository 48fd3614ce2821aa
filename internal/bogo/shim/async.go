package main

import (
	"context"
	"crypto"
	"errors"
	"io"
	"net"
	"runtime"
)

// -async is BoringSSL's mode in which every operation that could block
// returns "retry" first: its async BIO lets one byte through at a time and
// its private-key method completes a signature only when called again.
// Holdfast is a blocking Go API, so the same pressure is applied the Go
// way: the transport hands the engine one byte per Read and takes one byte
// per underlying Write (the engine must reassemble records and messages
// from any split), and the private key signs on another goroutine through
// SignContext, as an HSM or TPM backend does, so the handshake waits on an
// operation that completes elsewhere and honours its context.

// trickleConn delivers at most one byte per Read and writes one byte per
// call to the network.
type trickleConn struct{ net.Conn }

func (c trickleConn) Read(b []byte) (int, error) {
	if len(b) > 1 {
		b = b[:1]
	}
	runtime.Gosched()
	return c.Conn.Read(b)
}

func (c trickleConn) Write(b []byte) (int, error) {
	for i := range b {
		runtime.Gosched()
		if _, err := c.Conn.Write(b[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(b), nil
}

// CloseWrite passes a half-close through, so the shim's orderly shutdown
// works the same in both modes.
func (c trickleConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// contextSigner is what the signer package's keys implement.
type contextSigner interface {
	crypto.Signer
	SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// asyncSigner completes each signature on its own goroutine; the caller
// waits for it or for its context, whichever ends first.
type asyncSigner struct{ key contextSigner }

func (s asyncSigner) Public() crypto.PublicKey { return s.key.Public() }

func (s asyncSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.SignContext(context.Background(), rand, digest, opts)
}

func (s asyncSigner) SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	type result struct {
		sig []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.Gosched()
		sig, err := s.key.SignContext(ctx, rand, digest, opts)
		done <- result{sig, err}
	}()
	select {
	case r := <-done:
		return r.sig, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Decrypt serves TLS 1.2 RSA key transport the same way, when the key can
// decrypt.
func (s asyncSigner) Decrypt(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	d, ok := s.key.(crypto.Decrypter)
	if !ok {
		return nil, errors.New("key cannot decrypt")
	}
	type result struct {
		pt  []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.Gosched()
		pt, err := d.Decrypt(rand, msg, opts)
		done <- result{pt, err}
	}()
	r := <-done
	return r.pt, r.err
}

// limitedSigner is a key restricted to the schemes of -signing-prefs,
// which Holdfast's engines honour through the signer package's
// SchemeLimiter interface.
type limitedSigner struct {
	contextSigner
	schemes []uint16
}

func (s limitedSigner) SignatureSchemes() []uint16 { return s.schemes }

// Decrypt passes RSA key transport through to the key.
func (s limitedSigner) Decrypt(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	d, ok := s.contextSigner.(crypto.Decrypter)
	if !ok {
		return nil, errors.New("key cannot decrypt")
	}
	return d.Decrypt(rand, msg, opts)
}

package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"

	"github.com/holdfast-tls/holdfast"
)

// setCallbacks maps BoringSSL's early callback, certificate callbacks and
// the server's OCSP callback onto Holdfast's per-connection hooks:
// GetConfigForClient, GetCertificate and GetClientCertificate. It runs
// after the credential is loaded.
func setCallbacks(f *flags, c *holdfast.Config, server bool) error {
	if f.bools["-use-early-callback"] || f.bools["-fail-early-callback"] {
		if !server {
			return errors.New("-use-early-callback is a server flag")
		}
		fail := f.bools["-fail-early-callback"]
		// The early callback sees the ClientHello before anything is
		// negotiated; it keeps this Config or refuses the connection.
		c.GetConfigForClient = func(*holdfast.ClientHelloInfo) (*holdfast.Config, error) {
			if fail {
				return nil, fmt.Errorf("connection rejected by -fail-early-callback: %w", holdfast.AlertHandshakeFailure)
			}
			return nil, nil
		}
	}
	if f.bools["-reverify-on-resume"] {
		if server {
			return errors.New("-reverify-on-resume is a client flag")
		}
		// A resumed handshake has no Certificate to check; the
		// application checks the session's chain again in
		// VerifyConnection, which runs on resumption too.
		verify := c.VerifyPeerCertificate
		c.VerifyConnection = func(st holdfast.ConnectionState) error {
			if !st.DidResume {
				return nil
			}
			return verify(nil, st.VerifiedChains)
		}
	}
	certs := c.Certificates
	switch {
	case f.bools["-fail-cert-callback"]:
		err := errors.New("certificate callback failed (-fail-cert-callback)")
		if server {
			c.GetCertificate = func(*holdfast.ClientHelloInfo) (*holdfast.Certificate, error) { return nil, err }
		} else {
			c.GetClientCertificate = func(*holdfast.CertificateRequestInfo) (*holdfast.Certificate, error) { return nil, err }
		}
	case f.bools["-use-old-client-cert-callback"]:
		if server {
			return errors.New("-use-old-client-cert-callback is a client flag")
		}
		// The credential is handed out by the callback, not configured.
		c.Certificates = nil
		c.GetClientCertificate = func(*holdfast.CertificateRequestInfo) (*holdfast.Certificate, error) {
			if len(certs) == 0 {
				return nil, nil
			}
			return &certs[0], nil
		}
	case server && f.bools["-use-ocsp-callback"]:
		// The server's OCSP callback staples the configured response
		// (-set-ocsp-in-callback says the callback sets it, which is the
		// same here), declines to staple, or fails the handshake.
		if len(certs) == 0 {
			return errors.New("-use-ocsp-callback without a credential")
		}
		serve := &certs[0]
		if f.bools["-decline-ocsp-callback"] {
			unstapled := certs[0]
			unstapled.OCSPStaple = nil
			serve = &unstapled
		}
		fail := f.bools["-fail-ocsp-callback"]
		c.GetCertificate = func(*holdfast.ClientHelloInfo) (*holdfast.Certificate, error) {
			if fail {
				return nil, errors.New("OCSP callback failed (-fail-ocsp-callback)")
			}
			return serve, nil
		}
	}
	return nil
}

// recordingSigner notes in its test which credential's key signed or
// decrypted, for -expect-selected-credential.
type recordingSigner struct {
	key contextSigner
	idx int
	t   *test
}

func (s recordingSigner) Public() crypto.PublicKey { return s.key.Public() }

func (s recordingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.t.selected.Store(int64(s.idx))
	return s.key.Sign(rand, digest, opts)
}

func (s recordingSigner) SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.t.selected.Store(int64(s.idx))
	return s.key.SignContext(ctx, rand, digest, opts)
}

func (s recordingSigner) Decrypt(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	d, ok := s.key.(crypto.Decrypter)
	if !ok {
		return nil, errors.New("the key cannot decrypt")
	}
	s.t.selected.Store(int64(s.idx))
	return d.Decrypt(rand, msg, opts)
}

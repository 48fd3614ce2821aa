package params

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
)

// ClientCertificateRequest is what a server's CertificateRequest asks of
// a client, as the ClientCertificateFor hook sees it.
type ClientCertificateRequest struct {
	Version uint16             // the negotiated version
	Schemes []sigscheme.Scheme // the signature schemes the server accepts
	CANames [][]byte           // DER names of the CAs the server trusts; may be empty
	// CertTypes is a TLS 1.2 request's certificate_types (RFC 5246
	// §7.4.4); nil in TLS 1.3, which has none.
	CertTypes []byte
}

// PickClientCertificate returns the chain, and the scheme to sign with,
// that a client answers a CertificateRequest with: the hook's choice when
// ClientCertificateFor is set, else ChooseClientCertificate's among
// ClientCertificates. A nil chain with no error means an empty
// Certificate message. A chain the hook chose that cannot sign with any
// scheme the server accepts is an error rather than a silent empty
// answer: the application asked for that chain to be used.
func (p *Params) PickClientCertificate(ctx context.Context, req ClientCertificateRequest) (*Certificate, sigscheme.Scheme, error) {
	vers, peer := req.Version, req.Schemes
	if p.ClientCertificateFor == nil {
		c, s := ChooseClientCertificate(p.ClientCertificates, req)
		return c, s, nil
	}
	c, err := p.ClientCertificateFor(ctx, req)
	if err != nil {
		return nil, 0, fmt.Errorf("choosing the client certificate: %w", err)
	}
	if c == nil {
		return nil, 0, nil
	}
	s, err := sigscheme.Choose(vers, c.CertKey(), peer, c.Schemes(vers))
	if err != nil {
		return nil, 0, fmt.Errorf("the chosen client certificate (%s) cannot sign with a scheme the server accepts: %w: %w", c.Leaf.Subject, err, alert.ErrHandshakeFailure)
	}
	return c, s, nil
}

// ChooseClientCertificate picks the chain a client answers a
// CertificateRequest with: the first of certs of a type the request
// admits (TLS 1.2's certificate_types) that can sign with a scheme the
// server accepts and is issued under a CA the server names (the request's
// certificate_authorities), or, when none is, the first that can sign at
// all, which the server may still accept (RFC 8446 §4.3.2 and RFC 5246
// §7.4.4 make the CA list a hint). It returns nil when no chain can sign
// for this server: the client then sends an empty Certificate (RFC 8446
// §4.4.2, RFC 5246 §7.4.6).
func ChooseClientCertificate(certs []*Certificate, req ClientCertificateRequest) (*Certificate, sigscheme.Scheme) {
	var fallback *Certificate
	var fallbackScheme sigscheme.Scheme
	for _, c := range certs {
		if !certTypeAdmits(req.CertTypes, c.CertKey()) {
			continue
		}
		s, err := sigscheme.Choose(req.Version, c.CertKey(), req.Schemes, c.Schemes(req.Version))
		if err != nil {
			continue
		}
		if len(req.CANames) == 0 || c.IssuedUnder(req.CANames) {
			return c, s
		}
		if fallback == nil {
			fallback, fallbackScheme = c, s
		}
	}
	return fallback, fallbackScheme
}

// certTypeAdmits reports whether a TLS 1.2 CertificateRequest's
// certificate_types admit a certificate with key: rsa_sign (1) for RSA,
// ecdsa_sign (64) for ECDSA and, by RFC 8422 §5.5, EdDSA. Nil types (TLS
// 1.3) admit every key.
func certTypeAdmits(types []byte, key crypto.PublicKey) bool {
	if types == nil {
		return true
	}
	var want byte
	switch key.(type) {
	case *rsa.PublicKey:
		want = 1
	case *ecdsa.PublicKey, ed25519.PublicKey:
		want = 64
	default:
		return false
	}
	return bytes.IndexByte(types, want) >= 0
}

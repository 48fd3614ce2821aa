package params

import (
	"context"
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
}

// PickClientCertificate returns the chain, and the scheme to sign with,
// that a client answers a CertificateRequest with: the hook's choice when
// ClientCertificateFor is set, else ChooseClientCertificate's among
// ClientCertificates. A nil chain with no error means an empty
// Certificate message. A chain the hook chose that cannot sign with any
// scheme the server accepts is an error rather than a silent empty
// answer: the application asked for that chain to be used.
func (p *Params) PickClientCertificate(ctx context.Context, vers uint16, peer []sigscheme.Scheme, caNames [][]byte) (*Certificate, sigscheme.Scheme, error) {
	if p.ClientCertificateFor == nil {
		c, s := ChooseClientCertificate(p.ClientCertificates, vers, peer, caNames)
		return c, s, nil
	}
	c, err := p.ClientCertificateFor(ctx, ClientCertificateRequest{Version: vers, Schemes: peer, CANames: caNames})
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
// CertificateRequest with: the first of certs that can sign with a scheme
// the server accepts (peer) and is issued under a CA the server names
// (caNames, the request's certificate_authorities), or, when none is, the
// first that can sign at all, which the server may still accept (RFC 8446
// §4.3.2 and RFC 5246 §7.4.4 make the list a hint). It returns nil when no
// chain can sign for this server.
func ChooseClientCertificate(certs []*Certificate, vers uint16, peer []sigscheme.Scheme, caNames [][]byte) (*Certificate, sigscheme.Scheme) {
	var fallback *Certificate
	var fallbackScheme sigscheme.Scheme
	for _, c := range certs {
		s, err := sigscheme.Choose(vers, c.CertKey(), peer, c.Schemes(vers))
		if err != nil {
			continue
		}
		if len(caNames) == 0 || c.IssuedUnder(caNames) {
			return c, s
		}
		if fallback == nil {
			fallback, fallbackScheme = c, s
		}
	}
	return fallback, fallbackScheme
}

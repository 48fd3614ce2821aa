package params

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
)

// VerifyChain parses and verifies a peer's certificate chain with
// crypto/x509 and then the configured hook. A server's chain is checked
// against the roots and the server name; a client's against ClientCAs for
// client authentication.
//
// Where verification is off (InsecureSkipVerify on a client, and the
// RequestClientCert and RequireAnyClientCert policies on a server) the
// chain is only parsed and the hook runs with no verified chains, as
// crypto/tls's VerifyPeerCertificate does: an application that moved from
// crypto/tls with its own check in the hook keeps it.
//
// A chain verified before with the same bytes, side and name is taken
// from p.Chains without parsing or verifying it again (see ChainCache);
// the hook still runs.
func VerifyChain(p *Params, raw [][]byte, peerIsServer bool) ([]*x509.Certificate, [][]*x509.Certificate, error) {
	skip := (peerIsServer && p.InsecureSkipVerify) || (!peerIsServer && !p.ClientAuth.Verifies())
	if skip || len(raw) == 0 || p.Chains == nil {
		return verifyChain(p, raw, peerIsServer, skip)
	}
	name := ""
	if peerIsServer {
		name = p.ServerName
	}
	key := chainKey(raw, peerIsServer, name)
	now := p.Time()
	certs, chains, ok := p.Chains.get(key, now)
	if !ok {
		var err error
		if certs, chains, err = verifyChain(p, raw, peerIsServer, false); err != nil {
			return nil, nil, err
		}
		p.Chains.put(key, now, certs, chains)
		return certs, chains, nil
	}
	if p.VerifyPeer != nil {
		if err := p.VerifyPeer(raw, chains); err != nil {
			return nil, nil, fmt.Errorf("peer certificate refused by VerifyPeer: %w: %w", err, alert.ErrBadCertificate)
		}
	}
	return certs, chains, nil
}

func verifyChain(p *Params, raw [][]byte, peerIsServer, skip bool) ([]*x509.Certificate, [][]*x509.Certificate, error) {
	certs := make([]*x509.Certificate, len(raw))
	for i, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("parsing peer certificate %d: %v: %w", i, err, alert.ErrBadCertificate)
		}
		certs[i] = c
	}
	if len(certs) == 0 {
		return nil, nil, nil
	}
	var chains [][]*x509.Certificate
	if !skip {
		opts := x509.VerifyOptions{
			Intermediates: x509.NewCertPool(),
			CurrentTime:   p.Time(),
		}
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
		if peerIsServer {
			opts.Roots = p.Roots
			opts.DNSName = p.ServerName
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		} else {
			opts.Roots = p.ClientCAs
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		var err error
		chains, err = certs[0].Verify(opts)
		if err != nil {
			return nil, nil, fmt.Errorf("verifying peer certificate: %w", chainAlert(err))
		}
	}
	if p.VerifyPeer != nil {
		if err := p.VerifyPeer(raw, chains); err != nil {
			return nil, nil, fmt.Errorf("peer certificate refused by VerifyPeer: %w: %w", err, alert.ErrBadCertificate)
		}
	}
	return certs, chains, nil
}

// chainAlert attaches the alert RFC 8446 §6.2 names for a verification
// failure to the x509 error, keeping the error for errors.As.
func chainAlert(err error) error {
	var reason error = alert.ErrBadCertificate
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		reason = alert.ErrUnknownCA
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		reason = alert.ErrCertificateExpired
	}
	return fmt.Errorf("%w: %w", err, reason)
}

// CertKey is the public key to choose a scheme by: the certificate's, so
// that RSASSA-PSS certificates get rsa_pss_pss schemes.
func (c *Certificate) CertKey() crypto.PublicKey {
	if c.Leaf != nil {
		if pub, err := sigscheme.CertPublicKey(c.Leaf); err == nil {
			return pub
		}
	}
	return c.Signer.Public()
}

// schemeLimiter is the optional interface of keys whose backend makes only
// some of the signatures their type allows (signer.SchemeLimiter: an HSM
// key barred from RSA-PSS, a TPM without PSS at the right salt length).
type schemeLimiter interface{ SignatureSchemes() []uint16 }

// Schemes lists, in our preference order, the schemes this certificate's
// key can sign with in version vers: all of Holdfast's for the version,
// less those the key's backend says it cannot make.
func (c *Certificate) Schemes(vers uint16) []sigscheme.Scheme {
	all := sigscheme.Supported12()
	if vers == sigscheme.VersionTLS13 {
		all = sigscheme.Supported13()
	}
	lim, ok := c.Signer.(schemeLimiter)
	if !ok {
		return all
	}
	can := lim.SignatureSchemes()
	return slices.DeleteFunc(all, func(s sigscheme.Scheme) bool { return !slices.Contains(can, uint16(s)) })
}

// CanSign13 reports whether the key can make at least one signature TLS
// 1.3 allows for it (TLS 1.3 has no RSA PKCS #1 v1.5 handshake signatures).
func (c *Certificate) CanSign13() bool {
	_, err := sigscheme.Choose(sigscheme.VersionTLS13, c.CertKey(), sigscheme.Supported13(), c.Schemes(sigscheme.VersionTLS13))
	return err == nil
}

package tls13

import (
	"crypto/x509"

	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
)

// The engine reads the parameters both engines share.
type (
	Params      = params.Params
	Certificate = params.Certificate
	ClientAuth  = params.ClientAuth
)

// Client certificate policies.
const (
	NoClientCert               = params.NoClientCert
	RequestClientCert          = params.RequestClientCert
	RequireAnyClientCert       = params.RequireAnyClientCert
	VerifyClientCertIfGiven    = params.VerifyClientCertIfGiven
	RequireAndVerifyClientCert = params.RequireAndVerifyClientCert
)

// verifyCertificateVerify checks a peer's CertificateVerify signature with
// the key of its leaf certificate, against the schemes this side offered.
func verifyCertificateVerify(leaf *x509.Certificate, accepted []sigscheme.Scheme, scheme sigscheme.Scheme, content, sig []byte) error {
	pub, err := sigscheme.CertPublicKey(leaf)
	if err != nil {
		return err
	}
	return sigscheme.Verify(sigscheme.VersionTLS13, accepted, pub, scheme, content, sig)
}

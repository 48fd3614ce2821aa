package params

import (
	"crypto/x509"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// CheckOCSP runs VerifyOCSP, when set, on a client that asked for a
// stapled OCSP response, once the server's chain is verified: response is
// what the server stapled (nil for nothing), certs the server's chain,
// leaf first. A refusal fails the handshake with
// bad_certificate_status_response, the alert RFC 6066 §8 names for a
// response the client finds unsatisfactory.
func (p *Params) CheckOCSP(response []byte, certs []*x509.Certificate) error {
	if p.VerifyOCSP == nil || p.OCSPStaplingOff {
		return nil
	}
	if err := p.VerifyOCSP(response, certs); err != nil {
		return fmt.Errorf("stapled OCSP response refused by VerifyOCSPResponse: %w: %w", err, alert.ErrBadCertStatus)
	}
	return nil
}

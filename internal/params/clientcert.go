package params

import "github.com/holdfast-tls/holdfast/internal/sigscheme"

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

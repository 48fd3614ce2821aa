package params

import (
	"slices"

	"github.com/holdfast-tls/holdfast/internal/sigscheme"
)

// Verifiable returns the signature schemes this endpoint offers in
// signature_algorithms (its ClientHello or CertificateRequest) and
// accepts in the peer's handshake signatures of version vers (RFC 8446
// §4.2.3, RFC 5246 §7.4.1.4.1), most preferred first: VerifyPrefs, less
// what Holdfast cannot verify in that version, or by default everything
// it can. A ClientHello that offers both versions sends the TLS 1.2 list;
// sigscheme.Verify still refuses PKCS #1 v1.5 in TLS 1.3.
func (p *Params) Verifiable(vers uint16) []sigscheme.Scheme {
	all := sigscheme.Supported12()
	if vers == sigscheme.VersionTLS13 {
		all = sigscheme.Supported13()
	}
	if len(p.VerifyPrefs) == 0 {
		return all
	}
	return slices.DeleteFunc(slices.Clone(p.VerifyPrefs), func(s sigscheme.Scheme) bool { return !slices.Contains(all, s) })
}

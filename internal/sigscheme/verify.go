package sigscheme

import (
	"crypto"
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// Verify checks the peer's signature sig over message under scheme, the
// scheme the peer named beside it, with pub, the peer's certificate key as
// CertPublicKey returns it. offered is the list we sent in
// signature_algorithms (or that we accept for this message).
//
// Failures and the reasons they wrap:
//   - a key type no scheme can use: ErrUnsupportedKey and
//     alert.ErrUnsupportedCert;
//   - a scheme we did not offer, or one the version forbids (PKCS #1 v1.5
//     or SHA-1 in TLS 1.3, RFC 8446 §4.4.3): alert.ErrIllegalParameter;
//   - a scheme the key cannot make (wrong key type, rsa_pss_rsae_* for an
//     id-RSASSA-PSS key or the reverse, and in TLS 1.3 an ECDSA scheme for
//     another curve): ErrSchemeMismatch and alert.ErrIllegalParameter;
//   - a signature that does not verify: alert.ErrDecryptError.
//
// RSA-PSS signatures must have a salt exactly as long as the hash: RFC 8446
// §4.2.3 requires it of the signer, and checking it here (as crypto/tls,
// BoringSSL and OpenSSL do) rejects a non-conforming peer rather than
// accepting any salt length.
func Verify(vers uint16, offered []Scheme, pub crypto.PublicKey, scheme Scheme, message, sig []byte) error {
	if err := checkVersion(vers); err != nil {
		return err
	}
	k, err := classify(pub)
	if err != nil {
		return fmt.Errorf("sigscheme: peer key: %w (%w)", err, alert.ErrUnsupportedCert)
	}
	if !slices.Contains(offered, scheme) {
		return fmt.Errorf("sigscheme: peer signed with %v, which we did not offer: %w", scheme, alert.ErrIllegalParameter)
	}
	p, ok := scheme.params()
	if !ok || !allowedIn(vers, p) {
		return fmt.Errorf("sigscheme: peer signed with %v, which %s forbids: %w", scheme, versionName(vers), alert.ErrIllegalParameter)
	}
	if !k.takes(p) || (vers == VersionTLS13 && !k.curveFits(p)) {
		return fmt.Errorf("sigscheme: peer signed with %v using a %v key: %w (%w)", scheme, k, ErrSchemeMismatch, alert.ErrIllegalParameter)
	}
	digest := message
	if p.hash != 0 {
		if !p.hash.Available() {
			return fmt.Errorf("sigscheme: %v: hash %v is not linked in", scheme, p.hash)
		}
		h := p.hash.New()
		h.Write(message)
		digest = h.Sum(nil)
	}
	if err := verifySignature(k, p, message, digest, sig); err != nil {
		return fmt.Errorf("sigscheme: peer's %v signature: %w: %w", scheme, err, alert.ErrDecryptError)
	}
	return nil
}

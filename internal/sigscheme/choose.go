package sigscheme

import (
	"crypto"
	"fmt"
	"slices"
	"strings"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// Choose picks the scheme our key signs with: the first scheme in ours, our
// preference order, that the peer offered in peer, that the protocol
// version allows, and that the key can make.
//
// pub is our certificate's key as CertPublicKey returns it, so that an
// id-RSASSA-PSS certificate (a *PSSPublicKey) gets rsa_pss_pss_* and an
// rsaEncryption one (*rsa.PublicKey) gets rsa_pss_rsae_* or, in TLS 1.2
// and only if ours lists them, rsa_pkcs1_*. An ECDSA key gets the scheme of
// its own curve; in TLS 1.2, where RFC 8446 §4.2.3 leaves the curve
// unbound, another ECDSA scheme is taken if the peer offered none for the
// curve. An RSA key too short for a scheme's encoding skips that scheme.
//
// An empty peer list matches nothing. Whether an absent
// signature_algorithms extension is missing_extension (TLS 1.3) or an
// error (TLS 1.2, RFC 9155) is the caller's to decide before calling.
//
// If nothing fits, the error wraps alert.ErrHandshakeFailure and names our
// key's type and size and the peer's list. A key type no scheme can use
// gives ErrUnsupportedKey, which is our configuration's fault and maps to
// internal_error.
func Choose(vers uint16, pub crypto.PublicKey, peer, ours []Scheme) (Scheme, error) {
	if err := checkVersion(vers); err != nil {
		return 0, err
	}
	k, err := classify(pub)
	if err != nil {
		return 0, err
	}
	pick := func(curveBound bool) (Scheme, bool) {
		for _, s := range ours {
			p, ok := s.params()
			if !ok || !allowedIn(vers, p) || !slices.Contains(peer, s) {
				continue
			}
			if !k.takes(p) || !k.bigEnough(p) {
				continue
			}
			if curveBound && !k.curveFits(p) {
				continue
			}
			return s, true
		}
		return 0, false
	}
	if s, ok := pick(true); ok {
		return s, nil
	}
	if vers == VersionTLS12 && k.kind == keyECDSA {
		if s, ok := pick(false); ok {
			return s, nil
		}
	}
	return 0, fmt.Errorf("sigscheme: no signature scheme in common for our %v key in %s; peer offered [%s]: %w",
		k, versionName(vers), list(peer), alert.ErrHandshakeFailure)
}

func versionName(vers uint16) string {
	if vers == VersionTLS13 {
		return "TLS 1.3"
	}
	return "TLS 1.2"
}

// listCap bounds how many of a peer's schemes an error message names; the
// peer chooses the length of its list.
const listCap = 16

// list renders schemes for an error message.
func list(schemes []Scheme) string {
	var b strings.Builder
	for i, s := range schemes {
		if i == listCap {
			fmt.Fprintf(&b, ", and %d more", len(schemes)-listCap)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.String())
	}
	return b.String()
}

package params

import (
	"crypto/sha256"
	"crypto/x509"
)

// Certificates one by one: besides whole Certificate messages, a client
// may name each certificate it holds for a server by the SHA-256 of its
// DER (cached-information type 224, a Holdfast extension), so that a
// server that renewed its leaf under the same intermediates sends only
// the new leaf in full. The digests are computed once, when a chain is
// stored; offering and restoring only read them.

// MaxKnownCerts bounds the certificates kept per stored chain; a longer
// chain keeps its first MaxKnownCerts.
const MaxKnownCerts = 8

// knownCert is one certificate of a stored chain.
type knownCert struct {
	digest [32]byte
	der    []byte
}

// knownCertsOf digests and copies the first MaxKnownCerts certificates.
func knownCertsOf(certs []*x509.Certificate) []knownCert {
	if len(certs) == 0 {
		return nil
	}
	out := make([]knownCert, 0, min(len(certs), MaxKnownCerts))
	for _, c := range certs[:cap(out)] {
		out = append(out, knownCert{digest: sha256.Sum256(c.Raw), der: append([]byte(nil), c.Raw...)})
	}
	return out
}

// CertDigests returns the distinct SHA-256 digests of the certificates
// after the leaf in the chains of type typ known for name, newest chain
// first, at most max of them. Leaves are left out: the case this serves is
// a renewed leaf under the same intermediates, and every digest named
// costs 34 bytes in each ClientHello.
func (k *KnownChains) CertDigests(name string, typ uint8, max int) [][]byte {
	if k == nil || name == "" {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var out [][]byte
	seen := make(map[[32]byte]bool, max)
	for _, c := range k.byName[knownKey(name, typ)] {
		for i, kc := range c.certs {
			if i == 0 {
				continue // the leaf
			}
			if len(out) == max {
				return out
			}
			if !seen[kc.digest] {
				seen[kc.digest] = true
				d := kc.digest
				out = append(out, d[:])
			}
		}
	}
	return out
}

// LookupCert returns the DER of the certificate with the given digest in
// a chain of type typ known for name. The caller must not modify it.
func (k *KnownChains) LookupCert(name string, typ uint8, digest []byte) ([]byte, bool) {
	if k == nil || len(digest) != sha256.Size {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.byName[knownKey(name, typ)] {
		for _, kc := range c.certs {
			if kc.digest == [32]byte(digest) {
				return kc.der, true
			}
		}
	}
	return nil, false
}

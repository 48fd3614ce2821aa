package holdfast

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/holdfast-tls/holdfast/internal/params"
)

// prepareCertificate checks a Certificate and turns it into the engines'
// form: the leaf parsed, the signer's public key matched against it, the
// signature schemes the key can make, the CA names a client may ask by.
// where names the certificate in errors ("Config.Certificates[0]").
func prepareCertificate(c *Certificate, where string) (*params.Certificate, error) {
	if len(c.Certificate) == 0 {
		return nil, fmt.Errorf("holdfast: %s has no certificate", where)
	}
	if c.PrivateKey == nil {
		return nil, fmt.Errorf("holdfast: %s has no PrivateKey signer", where)
	}
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("holdfast: %s: parsing leaf: %w", where, err)
		}
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := c.PrivateKey.Public().(equaler)
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("%s (%s): %w", where, leaf.Subject, ErrKeyMismatch)
	}
	cert, err := params.NewCertificate(c.Certificate, leaf, c.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("holdfast: %s: %w", where, err)
	}
	cert.OCSPStaple = bytes.Clone(c.OCSPStaple)
	if c.URLs != nil {
		if len(c.URLs) != len(c.Certificate) {
			return nil, fmt.Errorf("holdfast: %s: %d URLs for %d certificates", where, len(c.URLs), len(c.Certificate))
		}
		for _, u := range c.URLs {
			if err := checkCertificateURL(u); err != nil {
				return nil, fmt.Errorf("holdfast: %s.URLs: %w", where, err)
			}
		}
		cert.URLs = slices.Clone(c.URLs)
	}
	return cert, nil
}

// preparedCertificates remembers the prepared form of the Certificates
// that GetCertificate and GetClientCertificate return, keyed by pointer,
// so that a certificate served to many handshakes is parsed and checked
// against its key once. It holds its keys weakly: an entry goes when the
// application drops its Certificate (a rotated-out chain), so a server
// that rotates forever does not grow. The cost of the weak keys is that a
// Certificate must not be modified once returned: give a renewed chain a
// new Certificate value, as crypto/tls also expects.
type preparedCertificates struct {
	mu sync.Mutex
	m  map[weak.Pointer[Certificate]]*params.Certificate
}

// get returns c prepared, preparing it on first sight; where names the
// hook in errors. A Certificate that fails preparation is not
// remembered: the error comes again, with its cause, in every handshake
// that gets it.
func (pc *preparedCertificates) get(c *Certificate, where string) (*params.Certificate, error) {
	key := weak.Make(c)
	pc.mu.Lock()
	p, ok := pc.m[key]
	pc.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := prepareCertificate(c, where)
	if err != nil {
		return nil, err
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if prev, ok := pc.m[key]; ok {
		return prev, nil // another handshake prepared it meanwhile
	}
	if pc.m == nil {
		pc.m = make(map[weak.Pointer[Certificate]]*params.Certificate)
	}
	pc.m[key] = p
	runtime.AddCleanup(c, pc.forget, key)
	return p, nil
}

func (pc *preparedCertificates) forget(key weak.Pointer[Certificate]) {
	pc.mu.Lock()
	delete(pc.m, key)
	pc.mu.Unlock()
}

// len is how many prepared certificates are remembered.
func (pc *preparedCertificates) len() int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return len(pc.m)
}

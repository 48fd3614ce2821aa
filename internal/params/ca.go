package params

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// How a client names the CAs it trusts, so that a server holding several
// chains for one name (a CA migration) sends one the client can verify:
// TLS 1.3 certificate_authorities (RFC 8446 §4.2.4) by DER name, TLS 1.2
// trusted_ca_keys (RFC 6066 §6) by name, key hash or certificate hash.
// Both sides index their CAs here once, when the Config is resolved.

// NewCertificate resolves a chain (DER, leaf first; leaf is Chain[0]
// parsed) and the leaf's signer, and indexes the CAs a client may name to
// get this chain: the subject and issuer names of every certificate, and
// the key and certificate hashes of every certificate after the leaf,
// and of the leaf itself when it is self-signed (its own root). The
// issuer of the last certificate is usually a root the chain leaves out:
// it is matched by name only, since its key is not at hand.
func NewCertificate(chain [][]byte, leaf *x509.Certificate, signer crypto.Signer) (*Certificate, error) {
	c := &Certificate{Chain: chain, Leaf: leaf, Signer: signer}
	for j, der := range chain {
		x := leaf
		if j > 0 {
			var err error
			if x, err = x509.ParseCertificate(der); err != nil {
				return nil, fmt.Errorf("parsing chain certificate %d: %w", j, err)
			}
			c.CANames = append(c.CANames, x.RawSubject)
		}
		c.CANames = append(c.CANames, x.RawIssuer)
		if j == 0 && !bytes.Equal(x.RawSubject, x.RawIssuer) {
			continue
		}
		key, err := KeySHA1(x)
		if err != nil {
			return nil, fmt.Errorf("chain certificate %d (%s): %w", j, x.Subject, err)
		}
		c.CAKeySHA1 = append(c.CAKeySHA1, key)
		c.CACertSHA1 = append(c.CACertSHA1, sha1.Sum(x.Raw))
	}
	return c, nil
}

// HasCAName reports whether name (a DER DistinguishedName) is the subject
// or issuer of a certificate in the chain.
func (c *Certificate) HasCAName(name []byte) bool {
	return c.IssuedUnder([][]byte{name})
}

// HasCAKey reports whether h is the RFC 6066 key_sha1_hash of a CA
// certificate in the chain.
func (c *Certificate) HasCAKey(h []byte) bool {
	return hasHash(c.CAKeySHA1, h)
}

// HasCACert reports whether h is the SHA-1 hash of a CA certificate in
// the chain (RFC 6066 cert_sha1_hash).
func (c *Certificate) HasCACert(h []byte) bool {
	return hasHash(c.CACertSHA1, h)
}

func hasHash(list [][sha1.Size]byte, h []byte) bool {
	for i := range list {
		if bytes.Equal(list[i][:], h) {
			return true
		}
	}
	return false
}

// errNoSubjectPublicKey reports a certificate whose SubjectPublicKeyInfo
// could not be read, which x509.ParseCertificate would have refused.
var errNoSubjectPublicKey = errors.New("params: no subjectPublicKey BIT STRING in the certificate")

// KeySHA1 returns the key_sha1_hash of RFC 6066 §6 for a CA certificate:
// SHA-1 of the RSA modulus, big-endian without leading zero bytes, for
// an RSA key; for any other key, SHA-1 of the contents of the
// subjectPublicKey BIT STRING (the RFC names DSA and ECDSA, where that is
// the point or the integer; Ed25519, which postdates it, is treated
// alike).
func KeySHA1(c *x509.Certificate) ([sha1.Size]byte, error) {
	if k, ok := c.PublicKey.(*rsa.PublicKey); ok {
		return sha1.Sum(k.N.Bytes()), nil
	}
	spki := cryptobyte.String(c.RawSubjectPublicKeyInfo)
	var inner cryptobyte.String
	var bits cryptobyte.String
	var unused uint8
	if !spki.ReadASN1(&inner, casn1.SEQUENCE) || !inner.SkipASN1(casn1.SEQUENCE) ||
		!inner.ReadASN1(&bits, casn1.BIT_STRING) || !bits.ReadUint8(&unused) || unused != 0 {
		return [sha1.Size]byte{}, fmt.Errorf("%w (%s)", errNoSubjectPublicKey, c.Subject)
	}
	return sha1.Sum(bits), nil
}

// CAVersion is a CA as a TLS 1.2 client names it in trusted_ca_keys: its
// DER subject and, when the certificate is at hand, its key_sha1_hash.
// Name and key hash together identify one version of a CA, so that a
// re-keyed root under an unchanged name is told from the old one.
type CAVersion struct {
	Name    []byte
	KeySHA1 []byte // nil when only the name is known
}

// AnnouncedCAs lists the CAs a client announces: roots by name and key
// hash when their certificates are given, otherwise the subjects of pool
// by name alone (an x509.CertPool does not give back its certificates).
// An error names the index of the root at fault, as "[i]: …".
func AnnouncedCAs(roots []*x509.Certificate, pool *x509.CertPool) ([]CAVersion, error) {
	var out []CAVersion
	for i, r := range roots {
		if r == nil {
			return nil, fmt.Errorf("[%d] is nil", i)
		}
		key, err := KeySHA1(r)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, CAVersion{Name: r.RawSubject, KeySHA1: key[:]})
	}
	if len(roots) == 0 && pool != nil {
		//lint:ignore SA1019 Subjects is only unreliable for the system pool; this is the caller's own pool.
		for _, name := range pool.Subjects() {
			out = append(out, CAVersion{Name: name})
		}
	}
	return out, nil
}

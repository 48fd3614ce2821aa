package sigscheme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// ErrUnsupportedKey is wrapped by every error about a public key that no
// scheme here can use: a key type or curve Holdfast does not sign with, or
// an id-RSASSA-PSS key whose parameters no TLS scheme meets. For a peer's
// key the error also wraps alert.ErrUnsupportedCert; for our own key it
// wraps no alert reason, so alert.For gives internal_error.
var ErrUnsupportedKey = errors.New("sigscheme: unsupported public key")

// PSSPublicKey is an RSA public key whose certificate names it
// id-RSASSA-PSS (RFC 4055) rather than rsaEncryption. Such a key may sign
// only with RSASSA-PSS, so it takes the rsa_pss_pss_* schemes and never the
// rsa_pss_rsae_* or PKCS #1 ones. crypto/x509 leaves such a certificate's
// PublicKey nil; CertPublicKey returns this type for it.
type PSSPublicKey struct {
	Key *rsa.PublicKey
	// Hash is the one hash the key's parameters allow, or 0 when the
	// certificate carries no parameters and any TLS PSS hash will do.
	Hash crypto.Hash
}

// keyKind sorts public keys the way schemes care about.
type keyKind uint8

const (
	keyECDSA keyKind = iota + 1
	keyEd25519
	keyRSA
	keyRSAPSS
)

// key is a classified public key.
type key struct {
	kind    keyKind
	pub     crypto.PublicKey // what a signature is checked against
	curve   elliptic.Curve   // keyECDSA
	rsa     *rsa.PublicKey   // keyRSA, keyRSAPSS
	pssHash crypto.Hash      // keyRSAPSS: 0 or the one allowed hash
}

// classify accepts the key types TLS signatures use: ECDSA on P-256, P-384
// or P-521, Ed25519, RSA, and PSSPublicKey.
func classify(pub crypto.PublicKey) (key, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil {
			break
		}
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return key{kind: keyECDSA, pub: k, curve: k.Curve}, nil
		}
		name := "unnamed"
		if k.Curve != nil && k.Curve.Params() != nil {
			name = k.Curve.Params().Name
		}
		return key{}, fmt.Errorf("sigscheme: ECDSA key on curve %s: %w", name, ErrUnsupportedKey)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return key{}, fmt.Errorf("sigscheme: Ed25519 key of %d bytes: %w", len(k), ErrUnsupportedKey)
		}
		return key{kind: keyEd25519, pub: k}, nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			break
		}
		return key{kind: keyRSA, pub: k, rsa: k}, nil
	case *PSSPublicKey:
		if k == nil || k.Key == nil || k.Key.N == nil {
			break
		}
		switch k.Hash {
		case 0, crypto.SHA256, crypto.SHA384, crypto.SHA512:
		default:
			return key{}, fmt.Errorf("sigscheme: RSASSA-PSS key restricted to %v: %w", k.Hash, ErrUnsupportedKey)
		}
		return key{kind: keyRSAPSS, pub: k.Key, rsa: k.Key, pssHash: k.Hash}, nil
	}
	return key{}, fmt.Errorf("sigscheme: %T key: %w", pub, ErrUnsupportedKey)
}

// String describes the key for error messages: type and size, nothing of
// its value.
func (k key) String() string {
	switch k.kind {
	case keyECDSA:
		return "ECDSA " + k.curve.Params().Name
	case keyEd25519:
		return "Ed25519"
	case keyRSA:
		return fmt.Sprintf("RSA %d-bit", k.rsa.N.BitLen())
	case keyRSAPSS:
		if k.pssHash != 0 {
			return fmt.Sprintf("RSASSA-PSS %d-bit (%v only)", k.rsa.N.BitLen(), k.pssHash)
		}
		return fmt.Sprintf("RSASSA-PSS %d-bit", k.rsa.N.BitLen())
	}
	return "unknown"
}

// takes reports whether a signature of scheme p can be made by this key,
// ignoring the curve binding and key size, which depend on who asks.
func (k key) takes(p params) bool {
	switch k.kind {
	case keyECDSA:
		return p.alg == algECDSA
	case keyEd25519:
		return p.alg == algEd25519
	case keyRSA:
		return (p.alg == algPSS && !p.pssKey) || p.alg == algPKCS1
	case keyRSAPSS:
		return p.alg == algPSS && p.pssKey && (k.pssHash == 0 || k.pssHash == p.hash)
	}
	return false
}

// curveFits reports whether an ECDSA key is on the curve the scheme names,
// as TLS 1.3 requires (RFC 8446 §4.2.3).
func (k key) curveFits(p params) bool {
	return k.kind != keyECDSA || (p.curve != nil && p.curve == k.curve)
}

// bigEnough reports whether an RSA modulus can hold the scheme's encoding.
// RSASSA-PSS (RFC 8017 §9.1.1) needs emLen >= hLen + sLen + 2, with
// emLen = ceil((modBits-1)/8) and, in TLS, sLen = hLen. PKCS #1 v1.5
// (§9.2) needs k >= tLen + 11, where tLen is the DigestInfo: a 19-byte
// prefix for the SHA-2 hashes, 15 for SHA-1, plus the digest.
func (k key) bigEnough(p params) bool {
	if k.rsa == nil {
		return true
	}
	bits := k.rsa.N.BitLen()
	hLen := p.hash.Size()
	switch p.alg {
	case algPSS:
		emLen := (bits - 1 + 7) / 8
		return emLen >= 2*hLen+2
	case algPKCS1:
		prefix := 19
		if p.hash == crypto.SHA1 {
			prefix = 15
		}
		return (bits+7)/8 >= prefix+hLen+11
	}
	return true
}

// Object identifiers for reading an id-RSASSA-PSS SubjectPublicKeyInfo
// (RFC 4055 §3.1, RFC 8017 Appendix A.2.3).
var (
	oidRSASSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA256    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// CertPublicKey returns the certificate's public key in a form Choose and
// Verify accept: crypto/x509's own key for rsaEncryption, ECDSA and Ed25519
// keys, and a *PSSPublicKey for an id-RSASSA-PSS key, which crypto/x509
// does not parse. A key no TLS scheme can use gives an error wrapping
// ErrUnsupportedKey and alert.ErrUnsupportedCert.
func CertPublicKey(cert *x509.Certificate) (crypto.PublicKey, error) {
	if cert == nil {
		return nil, errors.New("sigscheme: nil certificate")
	}
	pub := cert.PublicKey
	if pub == nil {
		var err error
		if pub, err = parsePSSKey(cert.RawSubjectPublicKeyInfo); err != nil {
			return nil, fmt.Errorf("%w (%w)", err, alert.ErrUnsupportedCert)
		}
	}
	if _, err := classify(pub); err != nil {
		return nil, fmt.Errorf("%w (%w)", err, alert.ErrUnsupportedCert)
	}
	return pub, nil
}

// parsePSSKey reads an id-RSASSA-PSS SubjectPublicKeyInfo. Absent
// parameters leave the key unrestricted. Present parameters must name a
// hash TLS uses, MGF1 with that same hash, a minimum salt no longer than
// the hash (TLS salts are exactly that long) and trailer field 1;
// otherwise no TLS scheme fits the key and it is refused.
func parsePSSKey(spki []byte) (*PSSPublicKey, error) {
	malformed := fmt.Errorf("sigscheme: malformed SubjectPublicKeyInfo: %w", ErrUnsupportedKey)
	in := cryptobyte.String(spki)
	var body, algID cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() ||
		!body.ReadASN1(&algID, cbasn1.SEQUENCE) ||
		!algID.ReadASN1ObjectIdentifier(&oid) {
		return nil, malformed
	}
	if !oid.Equal(oidRSASSAPSS) {
		return nil, fmt.Errorf("sigscheme: public key algorithm %v: %w", oid, ErrUnsupportedKey)
	}
	var hash crypto.Hash
	if !algID.Empty() {
		var err error
		if hash, err = parsePSSParams(algID); err != nil {
			return nil, err
		}
	}
	var bits asn1.BitString
	if !body.ReadASN1BitString(&bits) || !body.Empty() || bits.BitLength%8 != 0 {
		return nil, malformed
	}
	rsaKey := cryptobyte.String(bits.Bytes)
	var seq cryptobyte.String
	n, e := new(big.Int), 0
	if !rsaKey.ReadASN1(&seq, cbasn1.SEQUENCE) || !rsaKey.Empty() ||
		!seq.ReadASN1Integer(n) || !seq.ReadASN1Integer(&e) || !seq.Empty() ||
		n.Sign() <= 0 || e <= 1 {
		return nil, malformed
	}
	return &PSSPublicKey{Key: &rsa.PublicKey{N: n, E: e}, Hash: hash}, nil
}

// parsePSSParams reads RSASSA-PSS-params and returns the hash they pin.
func parsePSSParams(in cryptobyte.String) (crypto.Hash, error) {
	bad := func(what string) error {
		return fmt.Errorf("sigscheme: RSASSA-PSS key parameters: %s: %w", what, ErrUnsupportedKey)
	}
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return 0, bad("malformed")
	}
	// hashAlgorithm [0], DEFAULT sha1.
	var hashAI cryptobyte.String
	var hasHash bool
	if !seq.ReadOptionalASN1(&hashAI, &hasHash, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return 0, bad("malformed hashAlgorithm")
	}
	if !hasHash {
		return 0, bad("SHA-1 by default")
	}
	hash, ok := readHashAlgorithm(hashAI)
	if !ok {
		return 0, bad("hash TLS does not use")
	}
	// maskGenAlgorithm [1], DEFAULT mgf1SHA1.
	var mgfAI cryptobyte.String
	var hasMGF bool
	if !seq.ReadOptionalASN1(&mgfAI, &hasMGF, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return 0, bad("malformed maskGenAlgorithm")
	}
	if !hasMGF {
		return 0, bad("MGF1 with SHA-1 by default")
	}
	var mgf cryptobyte.String
	var mgfOID asn1.ObjectIdentifier
	if !mgfAI.ReadASN1(&mgf, cbasn1.SEQUENCE) || !mgfAI.Empty() ||
		!mgf.ReadASN1ObjectIdentifier(&mgfOID) || !mgfOID.Equal(oidMGF1) {
		return 0, bad("mask generation other than MGF1")
	}
	if mgfHash, ok := readHashAlgorithm(mgf); !ok || mgfHash != hash {
		return 0, bad("MGF1 hash differs from the signature hash")
	}
	// saltLength [2], DEFAULT 20: the shortest salt the key accepts.
	salt := int64(20)
	var saltField cryptobyte.String
	var hasSalt bool
	if !seq.ReadOptionalASN1(&saltField, &hasSalt, cbasn1.Tag(2).Constructed().ContextSpecific()) {
		return 0, bad("malformed saltLength")
	}
	if hasSalt && (!saltField.ReadASN1Int64WithTag(&salt, cbasn1.INTEGER) || !saltField.Empty()) {
		return 0, bad("malformed saltLength")
	}
	if salt < 0 || salt > int64(hash.Size()) {
		return 0, bad("minimum salt longer than the hash")
	}
	// trailerField [3], DEFAULT 1, the only value defined.
	var trailerField cryptobyte.String
	var hasTrailer bool
	if !seq.ReadOptionalASN1(&trailerField, &hasTrailer, cbasn1.Tag(3).Constructed().ContextSpecific()) {
		return 0, bad("malformed trailerField")
	}
	if hasTrailer {
		var trailer int64
		if !trailerField.ReadASN1Int64WithTag(&trailer, cbasn1.INTEGER) || !trailerField.Empty() || trailer != 1 {
			return 0, bad("trailerField other than 1")
		}
	}
	if !seq.Empty() {
		return 0, bad("trailing data")
	}
	return hash, nil
}

// readHashAlgorithm reads an AlgorithmIdentifier for SHA-256, SHA-384 or
// SHA-512, with NULL or absent parameters (RFC 4055 §2.1 accepts both).
func readHashAlgorithm(in cryptobyte.String) (crypto.Hash, bool) {
	var ai cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ai, cbasn1.SEQUENCE) || !in.Empty() || !ai.ReadASN1ObjectIdentifier(&oid) {
		return 0, false
	}
	if !ai.Empty() {
		var null cryptobyte.String
		if !ai.ReadASN1(&null, cbasn1.NULL) || !null.Empty() || !ai.Empty() {
			return 0, false
		}
	}
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

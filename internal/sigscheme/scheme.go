package sigscheme

import (
	"crypto"
	"crypto/elliptic"
	"fmt"

	// Registered so that Scheme.Hash values can be instantiated with New.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Scheme is a TLS SignatureScheme code point (RFC 8446 §4.2.3).
type Scheme uint16

// Signature schemes Holdfast knows. The names follow crypto/tls where it has
// one; the rsa_pss_pss_* schemes, which crypto/tls lacks, are PSSPSSWith*.
const (
	// ECDSA over the named curve with the named hash. In TLS 1.3 the curve
	// is bound to the scheme; in TLS 1.2 only the hash is.
	ECDSAWithP256AndSHA256 Scheme = 0x0403
	ECDSAWithP384AndSHA384 Scheme = 0x0503
	ECDSAWithP521AndSHA512 Scheme = 0x0603

	// Ed25519 signs the message itself, without a prehash (RFC 8032).
	Ed25519 Scheme = 0x0807

	// RSASSA-PSS, salt as long as the hash, MGF1 with the same hash, for a
	// key whose certificate says rsaEncryption (rsa_pss_rsae_*).
	PSSWithSHA256 Scheme = 0x0804
	PSSWithSHA384 Scheme = 0x0805
	PSSWithSHA512 Scheme = 0x0806

	// RSASSA-PSS as above, for a key whose certificate says id-RSASSA-PSS
	// (rsa_pss_pss_*). See PSSPublicKey.
	PSSPSSWithSHA256 Scheme = 0x0809
	PSSPSSWithSHA384 Scheme = 0x080a
	PSSPSSWithSHA512 Scheme = 0x080b

	// RSASSA-PKCS1-v1_5. TLS 1.2 handshake signatures and certificate
	// signatures only; never a TLS 1.3 CertificateVerify.
	PKCS1WithSHA256 Scheme = 0x0401
	PKCS1WithSHA384 Scheme = 0x0501
	PKCS1WithSHA512 Scheme = 0x0601

	// SHA-1 schemes. Known so they can be named and refused; never offered
	// by default (RFC 9155).
	PKCS1WithSHA1 Scheme = 0x0201
	ECDSAWithSHA1 Scheme = 0x0203
)

// Protocol versions whose rules Choose and Verify apply, as wire values.
const (
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// Supported13 returns the schemes Holdfast offers and accepts for a TLS 1.3
// CertificateVerify, most preferred first. It is a new slice on each call.
func Supported13() []Scheme {
	return []Scheme{
		ECDSAWithP256AndSHA256,
		ECDSAWithP384AndSHA384,
		ECDSAWithP521AndSHA512,
		Ed25519,
		PSSWithSHA256,
		PSSWithSHA384,
		PSSWithSHA512,
		PSSPSSWithSHA256,
		PSSPSSWithSHA384,
		PSSPSSWithSHA512,
	}
}

// Supported12 returns the schemes Holdfast offers and accepts for TLS 1.2
// handshake signatures (ServerKeyExchange, CertificateVerify), most
// preferred first: Supported13 followed by the PKCS #1 v1.5 schemes. A
// ClientHello that offers both versions sends this list, since the version
// is not known yet; Choose and Verify drop the PKCS #1 entries in TLS 1.3.
func Supported12() []Scheme {
	return append(Supported13(),
		PKCS1WithSHA256,
		PKCS1WithSHA384,
		PKCS1WithSHA512,
	)
}

// SupportedCert returns the schemes Holdfast accepts in certificate
// signatures, for signature_algorithms_cert. Certificate chains are still
// mostly signed with PKCS #1 v1.5, so those schemes are included; SHA-1 is
// not.
func SupportedCert() []Scheme {
	return Supported12()
}

type algorithm uint8

const (
	algUnknown algorithm = iota
	algECDSA
	algEd25519
	algPSS
	algPKCS1
)

// params is what the code point stands for.
type params struct {
	name string
	alg  algorithm
	hash crypto.Hash // 0 for Ed25519
	// curve is the curve an ECDSA scheme is bound to in TLS 1.3; nil for
	// ecdsa_sha1, which names none.
	curve elliptic.Curve
	// pssKey marks rsa_pss_pss_*, which need an id-RSASSA-PSS key.
	pssKey bool
}

func (s Scheme) params() (params, bool) {
	switch s {
	case ECDSAWithP256AndSHA256:
		return params{"ecdsa_secp256r1_sha256", algECDSA, crypto.SHA256, elliptic.P256(), false}, true
	case ECDSAWithP384AndSHA384:
		return params{"ecdsa_secp384r1_sha384", algECDSA, crypto.SHA384, elliptic.P384(), false}, true
	case ECDSAWithP521AndSHA512:
		return params{"ecdsa_secp521r1_sha512", algECDSA, crypto.SHA512, elliptic.P521(), false}, true
	case Ed25519:
		return params{"ed25519", algEd25519, 0, nil, false}, true
	case PSSWithSHA256:
		return params{"rsa_pss_rsae_sha256", algPSS, crypto.SHA256, nil, false}, true
	case PSSWithSHA384:
		return params{"rsa_pss_rsae_sha384", algPSS, crypto.SHA384, nil, false}, true
	case PSSWithSHA512:
		return params{"rsa_pss_rsae_sha512", algPSS, crypto.SHA512, nil, false}, true
	case PSSPSSWithSHA256:
		return params{"rsa_pss_pss_sha256", algPSS, crypto.SHA256, nil, true}, true
	case PSSPSSWithSHA384:
		return params{"rsa_pss_pss_sha384", algPSS, crypto.SHA384, nil, true}, true
	case PSSPSSWithSHA512:
		return params{"rsa_pss_pss_sha512", algPSS, crypto.SHA512, nil, true}, true
	case PKCS1WithSHA256:
		return params{"rsa_pkcs1_sha256", algPKCS1, crypto.SHA256, nil, false}, true
	case PKCS1WithSHA384:
		return params{"rsa_pkcs1_sha384", algPKCS1, crypto.SHA384, nil, false}, true
	case PKCS1WithSHA512:
		return params{"rsa_pkcs1_sha512", algPKCS1, crypto.SHA512, nil, false}, true
	case PKCS1WithSHA1:
		return params{"rsa_pkcs1_sha1", algPKCS1, crypto.SHA1, nil, false}, true
	case ECDSAWithSHA1:
		return params{"ecdsa_sha1", algECDSA, crypto.SHA1, nil, false}, true
	}
	return params{}, false
}

// String returns the IANA name of the scheme, or its hex code point if
// Holdfast does not know it.
func (s Scheme) String() string {
	if p, ok := s.params(); ok {
		return p.name
	}
	return fmt.Sprintf("scheme(%#04x)", uint16(s))
}

// Hash returns the hash the scheme signs with. It is 0 for Ed25519, which
// takes the message unhashed, and for schemes Holdfast does not know.
func (s Scheme) Hash() crypto.Hash {
	p, _ := s.params()
	return p.hash
}

// allowedIn reports whether the scheme may sign a handshake message in the
// protocol version. RFC 8446 §4.4.3 forbids PKCS #1 v1.5 and SHA-1 in a
// TLS 1.3 CertificateVerify, whatever either side offered; in TLS 1.2 the
// offered lists alone decide.
func allowedIn(vers uint16, p params) bool {
	switch vers {
	case VersionTLS13:
		return p.alg != algUnknown && p.alg != algPKCS1 && p.hash != crypto.SHA1
	case VersionTLS12:
		return p.alg != algUnknown
	}
	return false
}

func checkVersion(vers uint16) error {
	if vers != VersionTLS12 && vers != VersionTLS13 {
		return fmt.Errorf("sigscheme: protocol version %#04x has no signature rules here", vers)
	}
	return nil
}

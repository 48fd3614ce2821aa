//go:build darwin

package holdfast

// The "keychain:" backend: private keys in the macOS keychain (file-based
// keychains and the data protection keychain, including Secure Enclave
// keys), used through the Security framework. The framework is called with
// github.com/ebitengine/purego, so the build needs no cgo and cross-compiles.
// The process holds only SecKeyRefs; securityd or the Secure Enclave does
// every private-key operation.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/holdfast-tls/holdfast/signer"
)

func init() { signer.Register("keychain", openKeychain) }

const (
	securityPath        = "/System/Library/Frameworks/Security.framework/Security"
	coreFoundationPath  = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
	cfStringUTF8        = 0x08000100 // kCFStringEncodingUTF8
	errSecItemNotFound  = -25300
	secKeyOperationSign = 0 // kSecKeyOperationTypeSign
)

// sec holds the Security and CoreFoundation functions and constants,
// resolved once, on first use, so that a missing symbol is an error from
// signer.Open rather than a panic at start-up.
var sec struct {
	once sync.Once
	err  error

	CFRelease                        func(uintptr)
	CFDictionaryCreateMutable        func(alloc uintptr, capacity int, keyCB, valueCB uintptr) uintptr
	CFDictionarySetValue             func(dict, key, value uintptr)
	CFStringCreateWithBytes          func(alloc uintptr, b *byte, n int, enc uint32, external bool) uintptr
	CFStringGetLength                func(s uintptr) int
	CFStringGetCString               func(s uintptr, buf *byte, size int, enc uint32) bool
	CFDataCreate                     func(alloc uintptr, b *byte, n int) uintptr
	CFDataGetLength                  func(d uintptr) int
	CFDataGetBytePtr                 func(d uintptr) *byte
	CFArrayGetCount                  func(a uintptr) int
	CFArrayGetValueAtIndex           func(a uintptr, i int) uintptr
	CFErrorCopyDescription           func(e uintptr) uintptr
	SecItemCopyMatching              func(query uintptr, result *uintptr) int32
	SecKeyCreateSignature            func(key, alg, data uintptr, err *uintptr) uintptr
	SecKeyCreateDecryptedData        func(key, alg, data uintptr, err *uintptr) uintptr
	SecKeyCopyPublicKey              func(key uintptr) uintptr
	SecKeyCopyExternalRepresentation func(key uintptr, err *uintptr) uintptr
	SecKeyIsAlgorithmSupported       func(key uintptr, op int, alg uintptr) bool
	SecIdentityCopyPrivateKey        func(identity uintptr, key *uintptr) int32
	SecIdentityCopyCertificate       func(identity uintptr, cert *uintptr) int32
	SecCertificateCopyData           func(cert uintptr) uintptr
	SecCopyErrorMessageString        func(status int32, reserved uintptr) uintptr

	// Constants: CFStringRefs and CFBooleanRefs read from their symbols,
	// and the addresses of the dictionary callback structures.
	consts         map[string]uintptr
	keyCB, valueCB uintptr
}

// secConstNames are the data symbols the backend reads.
var secConstNames = []string{
	"kSecClass", "kSecClassKey", "kSecClassIdentity", "kSecAttrKeyClass", "kSecAttrKeyClassPrivate",
	"kSecAttrLabel", "kSecAttrApplicationTag", "kSecReturnRef", "kSecMatchLimit", "kSecMatchLimitOne",
	"kSecMatchLimitAll", "kSecUseDataProtectionKeychain", "kCFBooleanTrue",
	"kSecKeyAlgorithmECDSASignatureDigestX962SHA1", "kSecKeyAlgorithmECDSASignatureDigestX962SHA256",
	"kSecKeyAlgorithmECDSASignatureDigestX962SHA384", "kSecKeyAlgorithmECDSASignatureDigestX962SHA512",
	"kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA1", "kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA256",
	"kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA384", "kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA512",
	"kSecKeyAlgorithmRSASignatureDigestPSSSHA1", "kSecKeyAlgorithmRSASignatureDigestPSSSHA256",
	"kSecKeyAlgorithmRSASignatureDigestPSSSHA384", "kSecKeyAlgorithmRSASignatureDigestPSSSHA512",
	"kSecKeyAlgorithmRSAEncryptionPKCS1",
}

func loadSecurity() error {
	sec.once.Do(func() { sec.err = resolveSecurity() })
	return sec.err
}

func resolveSecurity() error {
	secLib, err := purego.Dlopen(securityPath, purego.RTLD_LAZY|purego.RTLD_GLOBAL)
	if err != nil {
		return fmt.Errorf("loading the Security framework: %w", err)
	}
	cfLib, err := purego.Dlopen(coreFoundationPath, purego.RTLD_LAZY|purego.RTLD_GLOBAL)
	if err != nil {
		return fmt.Errorf("loading CoreFoundation: %w", err)
	}
	fns := []struct {
		lib  uintptr
		name string
		fptr any
	}{
		{cfLib, "CFRelease", &sec.CFRelease},
		{cfLib, "CFDictionaryCreateMutable", &sec.CFDictionaryCreateMutable},
		{cfLib, "CFDictionarySetValue", &sec.CFDictionarySetValue},
		{cfLib, "CFStringCreateWithBytes", &sec.CFStringCreateWithBytes},
		{cfLib, "CFStringGetLength", &sec.CFStringGetLength},
		{cfLib, "CFStringGetCString", &sec.CFStringGetCString},
		{cfLib, "CFDataCreate", &sec.CFDataCreate},
		{cfLib, "CFDataGetLength", &sec.CFDataGetLength},
		{cfLib, "CFDataGetBytePtr", &sec.CFDataGetBytePtr},
		{cfLib, "CFArrayGetCount", &sec.CFArrayGetCount},
		{cfLib, "CFArrayGetValueAtIndex", &sec.CFArrayGetValueAtIndex},
		{cfLib, "CFErrorCopyDescription", &sec.CFErrorCopyDescription},
		{secLib, "SecItemCopyMatching", &sec.SecItemCopyMatching},
		{secLib, "SecKeyCreateSignature", &sec.SecKeyCreateSignature},
		{secLib, "SecKeyCreateDecryptedData", &sec.SecKeyCreateDecryptedData},
		{secLib, "SecKeyCopyPublicKey", &sec.SecKeyCopyPublicKey},
		{secLib, "SecKeyCopyExternalRepresentation", &sec.SecKeyCopyExternalRepresentation},
		{secLib, "SecKeyIsAlgorithmSupported", &sec.SecKeyIsAlgorithmSupported},
		{secLib, "SecIdentityCopyPrivateKey", &sec.SecIdentityCopyPrivateKey},
		{secLib, "SecIdentityCopyCertificate", &sec.SecIdentityCopyCertificate},
		{secLib, "SecCertificateCopyData", &sec.SecCertificateCopyData},
		{secLib, "SecCopyErrorMessageString", &sec.SecCopyErrorMessageString},
	}
	for _, f := range fns {
		sym, err := purego.Dlsym(f.lib, f.name)
		if err != nil {
			return fmt.Errorf("resolving %s: %w", f.name, err)
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	sec.consts = map[string]uintptr{}
	for _, name := range secConstNames {
		lib := secLib
		if strings.HasPrefix(name, "kCF") {
			lib = cfLib
		}
		sym, err := purego.Dlsym(lib, name)
		if err != nil {
			return fmt.Errorf("resolving %s: %w", name, err)
		}
		// The symbol is the address of a CFTypeRef variable: read it.
		sec.consts[name] = **(**uintptr)(unsafe.Pointer(&sym))
	}
	if sec.keyCB, err = purego.Dlsym(cfLib, "kCFTypeDictionaryKeyCallBacks"); err != nil {
		return err
	}
	if sec.valueCB, err = purego.Dlsym(cfLib, "kCFTypeDictionaryValueCallBacks"); err != nil {
		return err
	}
	return nil
}

func cfConst(name string) uintptr { return sec.consts[name] }

// cfString makes a CFString the caller releases.
func cfString(s string) uintptr {
	b := []byte(s)
	if len(b) == 0 {
		b = []byte{0}
		return sec.CFStringCreateWithBytes(0, &b[0], 0, cfStringUTF8, false)
	}
	return sec.CFStringCreateWithBytes(0, &b[0], len(b), cfStringUTF8, false)
}

// cfData makes a CFData the caller releases.
func cfData(b []byte) uintptr {
	if len(b) == 0 {
		return sec.CFDataCreate(0, nil, 0)
	}
	return sec.CFDataCreate(0, &b[0], len(b))
}

// goBytes copies a CFData's bytes into Go memory.
func goBytes(d uintptr) []byte {
	n := sec.CFDataGetLength(d)
	if n == 0 {
		return []byte{}
	}
	return append([]byte(nil), unsafe.Slice(sec.CFDataGetBytePtr(d), n)...)
}

// goString copies a CFString into a Go string.
func goString(s uintptr) string {
	if s == 0 {
		return ""
	}
	buf := make([]byte, 4*sec.CFStringGetLength(s)+1)
	if !sec.CFStringGetCString(s, &buf[0], len(buf), cfStringUTF8) {
		return ""
	}
	str, _, _ := strings.Cut(string(buf), "\x00")
	return str
}

// cfErrorText describes and releases a CFErrorRef.
func cfErrorText(e uintptr) string {
	if e == 0 {
		return "no error description"
	}
	defer sec.CFRelease(e)
	d := sec.CFErrorCopyDescription(e)
	defer sec.CFRelease(d)
	return goString(d)
}

func osStatusText(status int32) string {
	s := sec.SecCopyErrorMessageString(status, 0)
	if s == 0 {
		return fmt.Sprintf("OSStatus %d", status)
	}
	defer sec.CFRelease(s)
	return fmt.Sprintf("%s (OSStatus %d)", goString(s), status)
}

// keychainURI is a parsed "keychain:" URI: attributes separated by ';',
// each name=value with %XX escapes, naming the key by exactly one of
//
//	label=TEXT          a private key whose kSecAttrLabel is TEXT
//	tag=TEXT            a private key whose kSecAttrApplicationTag is TEXT
//	identity=TEXT       the private key of an identity (certificate and
//	                    key) whose label is TEXT, usually the certificate's
//	                    common name
//	cert-sha1=HEX       the private key of the identity whose certificate
//	cert-sha256=HEX     has this SHA-1 or SHA-256 hash (':' and spaces
//	                    ignored)
//
// The file-based keychains (the login keychain) are searched first, then
// the data protection keychain, where Secure Enclave keys live, e.g.
// keychain:tag=com.example.tls-key.
type keychainURI struct {
	raw                  string
	label, tag, identity string
	certSHA1, certSHA256 []byte
}

func parseKeychainURI(raw string) (*keychainURI, error) {
	rest, ok := strings.CutPrefix(raw, "keychain:")
	if !ok {
		return nil, fmt.Errorf("signer: %q is not a keychain: URI", raw)
	}
	u := &keychainURI{raw: raw}
	n := 0
	for _, attr := range strings.Split(rest, ";") {
		name, enc, ok := strings.Cut(attr, "=")
		if !ok || enc == "" {
			return nil, fmt.Errorf("signer: %s: attribute %q is not name=value", raw, attr)
		}
		val, err := url.PathUnescape(enc)
		if err != nil {
			return nil, fmt.Errorf("signer: %s: attribute %s: %w", raw, name, err)
		}
		// CoreFoundation gives no string for invalid UTF-8, and a query
		// with a NULL value would crash.
		if !utf8.ValidString(val) {
			return nil, fmt.Errorf("signer: %s: attribute %s is not valid UTF-8", raw, name)
		}
		n++
		switch name {
		case "label":
			u.label = val
		case "tag":
			u.tag = val
		case "identity":
			u.identity = val
		case "cert-sha1", "cert-sha256":
			h, err := hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(val))
			want := map[string]int{"cert-sha1": 20, "cert-sha256": 32}[name]
			if err != nil || len(h) != want {
				return nil, fmt.Errorf("signer: %s: %s must be %d hex digits", raw, name, 2*want)
			}
			if name == "cert-sha1" {
				u.certSHA1 = h
			} else {
				u.certSHA256 = h
			}
		default:
			return nil, fmt.Errorf("signer: %s: unknown attribute %q (known: label, tag, identity, cert-sha1, cert-sha256)", raw, name)
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("signer: %s: name the key with exactly one of label=, tag=, identity=, cert-sha1= or cert-sha256=", raw)
	}
	return u, nil
}

// keychainKey is a private key in the keychain or the Secure Enclave.
type keychainKey struct {
	mu      sync.RWMutex // Close waits for operations in flight
	ref     uintptr      // SecKeyRef, retained
	uri     string
	public  crypto.PublicKey
	schemes []uint16
}

// keychainRSAKey is an RSA keychainKey, which can also decrypt.
type keychainRSAKey struct{ *keychainKey }

func openKeychain(ctx context.Context, raw string) (signer.Key, error) {
	u, err := parseKeychainURI(raw)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signer: %s: %w", raw, err)
	}
	if err := loadSecurity(); err != nil {
		return nil, fmt.Errorf("signer: %s: %w", raw, err)
	}
	k := &keychainKey{uri: raw}
	var certDER []byte
	if u.label != "" || u.tag != "" {
		k.ref, err = findKey(u)
	} else {
		k.ref, certDER, err = findIdentityKey(u)
	}
	if err != nil {
		return nil, fmt.Errorf("signer: %s: %w", raw, err)
	}
	if err := k.readPublic(certDER); err != nil {
		k.Close()
		return nil, fmt.Errorf("signer: %s: %w", raw, err)
	}
	for _, c := range tlsSchemesFor(k.public) {
		if alg := signAlgorithm(c.hash, k.public, c.pss); alg != 0 && sec.SecKeyIsAlgorithmSupported(k.ref, secKeyOperationSign, alg) {
			k.schemes = append(k.schemes, c.scheme)
		}
	}
	if len(k.schemes) == 0 {
		k.Close()
		return nil, fmt.Errorf("signer: %s: the key supports no TLS signature algorithm", raw)
	}
	if _, ok := k.public.(*rsa.PublicKey); ok {
		return keychainRSAKey{k}, nil
	}
	return k, nil
}

// query builds a SecItemCopyMatching dictionary, which the caller
// releases. made holds values created for it, which the dictionary
// retains and query releases; fixed holds framework constants, which are
// never released.
func query(class, limit string, dataProtection bool, made map[string]uintptr, fixed map[string]string) uintptr {
	q := sec.CFDictionaryCreateMutable(0, 0, sec.keyCB, sec.valueCB)
	sec.CFDictionarySetValue(q, cfConst("kSecClass"), cfConst(class))
	sec.CFDictionarySetValue(q, cfConst("kSecReturnRef"), cfConst("kCFBooleanTrue"))
	sec.CFDictionarySetValue(q, cfConst("kSecMatchLimit"), cfConst(limit))
	if dataProtection {
		sec.CFDictionarySetValue(q, cfConst("kSecUseDataProtectionKeychain"), cfConst("kCFBooleanTrue"))
	}
	for k, v := range fixed {
		sec.CFDictionarySetValue(q, cfConst(k), cfConst(v))
	}
	for k, v := range made {
		sec.CFDictionarySetValue(q, cfConst(k), v)
		sec.CFRelease(v)
	}
	return q
}

// copyMatching runs a query against the file-based keychains, then the
// data protection keychain. made makes the created values afresh for each
// query.
func copyMatching(class, limit string, made func() map[string]uintptr, fixed map[string]string) (uintptr, error) {
	for _, dp := range []bool{false, true} {
		q := query(class, limit, dp, made(), fixed)
		var res uintptr
		status := sec.SecItemCopyMatching(q, &res)
		sec.CFRelease(q)
		switch status {
		case 0:
			return res, nil
		case errSecItemNotFound:
			continue
		}
		return 0, fmt.Errorf("SecItemCopyMatching: %s", osStatusText(status))
	}
	return 0, errors.New("no matching item in the keychains")
}

func findKey(u *keychainURI) (uintptr, error) {
	return copyMatching("kSecClassKey", "kSecMatchLimitOne", func() map[string]uintptr {
		if u.label != "" {
			return map[string]uintptr{"kSecAttrLabel": cfString(u.label)}
		}
		return map[string]uintptr{"kSecAttrApplicationTag": cfData([]byte(u.tag))}
	}, map[string]string{"kSecAttrKeyClass": "kSecAttrKeyClassPrivate"})
}

// findIdentityKey finds an identity by label or certificate hash and
// returns its private key and its certificate.
func findIdentityKey(u *keychainURI) (uintptr, []byte, error) {
	var attrs func() map[string]uintptr
	limit := "kSecMatchLimitAll"
	if u.identity != "" {
		limit = "kSecMatchLimitOne"
		attrs = func() map[string]uintptr { return map[string]uintptr{"kSecAttrLabel": cfString(u.identity)} }
	} else {
		attrs = func() map[string]uintptr { return map[string]uintptr{} }
	}
	res, err := copyMatching("kSecClassIdentity", limit, attrs, nil)
	if err != nil {
		return 0, nil, err
	}
	defer sec.CFRelease(res)
	idents := []uintptr{res}
	if limit == "kSecMatchLimitAll" {
		idents = idents[:0]
		for i := range sec.CFArrayGetCount(res) {
			idents = append(idents, sec.CFArrayGetValueAtIndex(res, i))
		}
	}
	for _, id := range idents {
		var cert uintptr
		if status := sec.SecIdentityCopyCertificate(id, &cert); status != 0 {
			return 0, nil, fmt.Errorf("SecIdentityCopyCertificate: %s", osStatusText(status))
		}
		d := sec.SecCertificateCopyData(cert)
		der := goBytes(d)
		sec.CFRelease(d)
		sec.CFRelease(cert)
		s1, s256 := sha1.Sum(der), sha256.Sum256(der)
		if u.identity != "" || u.certSHA1 != nil && subtle.ConstantTimeCompare(s1[:], u.certSHA1) == 1 ||
			u.certSHA256 != nil && subtle.ConstantTimeCompare(s256[:], u.certSHA256) == 1 {
			var key uintptr
			if status := sec.SecIdentityCopyPrivateKey(id, &key); status != 0 {
				return 0, nil, fmt.Errorf("SecIdentityCopyPrivateKey: %s", osStatusText(status))
			}
			return key, der, nil
		}
	}
	return 0, nil, errors.New("no identity with that certificate hash in the keychains")
}

// readPublic takes the public half from the key (X9.63 point or PKCS #1)
// or, if the key will not give it, from the identity's certificate.
func (k *keychainKey) readPublic(certDER []byte) error {
	if pub := sec.SecKeyCopyPublicKey(k.ref); pub != 0 {
		var cfErr uintptr
		d := sec.SecKeyCopyExternalRepresentation(pub, &cfErr)
		sec.CFRelease(pub)
		if d == 0 {
			return fmt.Errorf("SecKeyCopyExternalRepresentation: %s", cfErrorText(cfErr))
		}
		raw := goBytes(d)
		sec.CFRelease(d)
		if len(raw) > 0 && raw[0] == 4 {
			curve := map[int]elliptic.Curve{65: elliptic.P256(), 97: elliptic.P384(), 133: elliptic.P521()}[len(raw)]
			if curve == nil {
				return fmt.Errorf("EC public key of %d bytes: unsupported curve", len(raw))
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
			k.public = pub
			return err
		}
		pub, err := x509.ParsePKCS1PublicKey(raw)
		if err != nil {
			return fmt.Errorf("the key's public half is neither an EC point nor a PKCS #1 RSA key: %w", err)
		}
		k.public = pub
		return nil
	}
	if certDER == nil {
		return errors.New("SecKeyCopyPublicKey gave no public key")
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return err
	}
	switch cert.PublicKey.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		k.public = cert.PublicKey
		return nil
	}
	return fmt.Errorf("certificate key %T is not supported", cert.PublicKey)
}

// signAlgorithm is the SecKeyAlgorithm for a hash and key type, or 0.
// Apple's PSS algorithms use a salt as long as the hash, as TLS does.
func signAlgorithm(h crypto.Hash, pub crypto.PublicKey, pss bool) uintptr {
	names := map[crypto.Hash]string{crypto.SHA1: "SHA1", crypto.SHA256: "SHA256", crypto.SHA384: "SHA384", crypto.SHA512: "SHA512"}
	name, ok := names[h]
	if !ok {
		return 0
	}
	switch pub.(type) {
	case *ecdsa.PublicKey:
		if pss {
			return 0
		}
		return cfConst("kSecKeyAlgorithmECDSASignatureDigestX962" + name)
	case *rsa.PublicKey:
		if pss {
			return cfConst("kSecKeyAlgorithmRSASignatureDigestPSS" + name)
		}
		return cfConst("kSecKeyAlgorithmRSASignatureDigestPKCS1v15" + name)
	}
	return 0
}

// SignatureSchemes lists the TLS signature schemes the key makes (see
// signer.SchemeLimiter), as SecKeyIsAlgorithmSupported reports them: a
// Secure Enclave key, for one, makes only ECDSA with P-256.
func (k *keychainKey) SignatureSchemes() []uint16 { return append([]uint16(nil), k.schemes...) }

// Public returns the key's public half.
func (k *keychainKey) Public() crypto.PublicKey { return k.public }

// Sign is SignContext without a deadline.
func (k *keychainKey) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rnd, digest, opts)
}

// SignContext signs a digest with SecKeyCreateSignature: ECDSA (X9.62 DER),
// RSA PKCS #1 v1.5, or RSA-PSS with a salt as long as the hash. The
// context is checked before the call, which cannot be interrupted.
func (k *keychainKey) SignContext(ctx context.Context, _ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signer: %s: signature not started: %w", k.uri, err)
	}
	if nilOpts(opts) {
		return nil, fmt.Errorf("signer: %s: no signer options (want a crypto.Hash or *rsa.PSSOptions)", k.uri)
	}
	h := opts.HashFunc()
	pso, pss := opts.(*rsa.PSSOptions)
	if pss && pso.SaltLength != rsa.PSSSaltLengthEqualsHash && pso.SaltLength != h.Size() {
		return nil, fmt.Errorf("signer: %s: the keychain signs RSA-PSS only with a salt as long as the hash", k.uri)
	}
	alg := signAlgorithm(h, k.public, pss)
	if alg == 0 {
		return nil, fmt.Errorf("signer: %s: no keychain algorithm for %v (PSS %v) with a %T", k.uri, h, pss, k.public)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("signer: %s: digest is %d bytes, %v needs %d", k.uri, len(digest), h, h.Size())
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.ref == 0 {
		return nil, fmt.Errorf("%s: %w", k.uri, signer.ErrClosed)
	}
	data := cfData(digest)
	defer sec.CFRelease(data)
	var cfErr uintptr
	sig := sec.SecKeyCreateSignature(k.ref, alg, data, &cfErr)
	if sig == 0 {
		return nil, fmt.Errorf("signer: %s: SecKeyCreateSignature: %s", k.uri, cfErrorText(cfErr))
	}
	defer sec.CFRelease(sig)
	return goBytes(sig), nil
}

// Decrypt is RSA PKCS #1 v1.5 decryption with SecKeyCreateDecryptedData
// (kSecKeyAlgorithmRSAEncryptionPKCS1), for TLS 1.2 RSA key transport.
// With *rsa.PKCS1v15DecryptOptions and a SessionKeyLen, a bad ciphertext
// gives random bytes of that length and no error, chosen in constant time
// after the call, as crypto/rsa does. OAEP is not supported.
func (k keychainRSAKey) Decrypt(rnd io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	sessionLen, fallback, err := pkcs1DecryptPlan(k.uri, k.public.(*rsa.PublicKey).Size(), rnd, opts)
	if err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.ref == 0 {
		return nil, fmt.Errorf("%s: %w", k.uri, signer.ErrClosed)
	}
	data := cfData(ciphertext)
	defer sec.CFRelease(data)
	var cfErr uintptr
	plain := sec.SecKeyCreateDecryptedData(k.ref, cfConst("kSecKeyAlgorithmRSAEncryptionPKCS1"), data, &cfErr)
	var out []byte
	if plain != 0 {
		out = goBytes(plain)
		sec.CFRelease(plain)
	}
	if fallback == nil {
		if plain == 0 {
			return nil, fmt.Errorf("signer: %s: SecKeyCreateDecryptedData: %s", k.uri, cfErrorText(cfErr))
		}
		return out, nil
	}
	if cfErr != 0 {
		sec.CFRelease(cfErr)
	}
	good := subtle.ConstantTimeEq(int32(len(out)), int32(sessionLen))
	result := make([]byte, sessionLen)
	copy(result, fallback)
	if len(out) >= sessionLen {
		subtle.ConstantTimeCopy(good, result, out[:sessionLen])
	}
	clear(out)
	clear(fallback)
	return result, nil
}

// Close releases the SecKeyRef. Operations in flight finish first; it is
// safe to call more than once.
func (k *keychainKey) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ref != 0 {
		sec.CFRelease(k.ref)
		k.ref = 0
	}
	return nil
}

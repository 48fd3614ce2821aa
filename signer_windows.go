//go:build windows

package holdfast

// The "cng:" backend: keys in a Windows CNG key storage provider (KSP),
// used through ncrypt.dll. The process holds only NCRYPT handles; the KSP
// (the Software KSP's isolation service, the TPM behind the Platform
// Crypto Provider, a smart card) does every private-key operation.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/holdfast-tls/holdfast/mem"
	"github.com/holdfast-tls/holdfast/signer"
)

func init() { signer.Register("cng", openCNG) }

var (
	ncrypt                        = windows.NewLazySystemDLL("ncrypt.dll")
	procNCryptOpenStorageProvider = ncrypt.NewProc("NCryptOpenStorageProvider")
	procNCryptOpenKey             = ncrypt.NewProc("NCryptOpenKey")
	procNCryptGetProperty         = ncrypt.NewProc("NCryptGetProperty")
	procNCryptSetProperty         = ncrypt.NewProc("NCryptSetProperty")
	procNCryptExportKey           = ncrypt.NewProc("NCryptExportKey")
	procNCryptSignHash            = ncrypt.NewProc("NCryptSignHash")
	procNCryptDecrypt             = ncrypt.NewProc("NCryptDecrypt")
	procNCryptFreeObject          = ncrypt.NewProc("NCryptFreeObject")
)

// CNG flags and values (ncrypt.h, bcrypt.h).
const (
	ncryptSilentFlag      = 0x40
	ncryptMachineKeyFlag  = 0x20
	bcryptPadPKCS1        = 0x2
	bcryptPadPSS          = 0x8
	ncryptPadPKCS1Flag    = 0x2
	eccPublicP256Magic    = 0x31534345 // "ECS1"
	eccPublicP384Magic    = 0x33534345 // "ECS3"
	eccPublicP521Magic    = 0x35534345 // "ECS5"
	eccPublicGenericMagic = 0x50444345 // "ECDP", named-curve keys
	rsaPublicMagic        = 0x31415352 // "RSA1"
)

// Well-known KSP names, and the short names a URI may use for them.
var cngProviders = map[string]string{
	"software":  "Microsoft Software Key Storage Provider",
	"platform":  "Microsoft Platform Crypto Provider",
	"smartcard": "Microsoft Smart Card Key Storage Provider",
}

// cngURI is a parsed "cng:" URI: attributes separated by ';', each
// name=value with %XX escapes (as in RFC 7512 pkcs11: URIs). A key is named
// either directly in a KSP:
//
//	cng:key=NAME[;provider=KSP][;scope=user|machine][;pin-source=file:PATH]
//
// where KSP is "software" (the default), "platform" (the TPM), "smartcard"
// or a provider's full name ("provider=Microsoft%20Software%20Key%20Storage%20Provider"),
// or through a certificate in a MY store whose private key CNG holds:
//
//	cng:sha1=THUMBPRINT[;store=CurrentUser|LocalMachine][;pin-source=file:PATH]
//	cng:subject=TEXT[;store=CurrentUser|LocalMachine][;pin-source=file:PATH]
//
// THUMBPRINT is the certificate's SHA-1 hash in hex (spaces and colons are
// ignored); subject matches as CertFindCertificateInStore's
// CERT_FIND_SUBJECT_STR does (a case-insensitive substring of the subject)
// and the first match is used. store defaults to CurrentUser. pin-source
// names a file holding a smart card's PIN, set on the key as
// NCRYPT_PIN_PROPERTY; keys are always opened silently, so a key that needs
// a PIN and has none fails instead of prompting.
type cngURI struct {
	raw       string
	provider  string
	key       string
	machine   bool
	store     string
	sha1      []byte
	subject   string
	pinSource string
}

func parseCNGURI(raw string) (*cngURI, error) {
	rest, ok := strings.CutPrefix(raw, "cng:")
	if !ok {
		return nil, fmt.Errorf("signer: %q is not a cng: URI", raw)
	}
	u := &cngURI{raw: raw}
	seen := map[string]bool{}
	for _, attr := range strings.Split(rest, ";") {
		name, enc, ok := strings.Cut(attr, "=")
		if !ok || enc == "" {
			return nil, fmt.Errorf("signer: %s: attribute %q is not name=value", raw, attr)
		}
		if seen[name] {
			return nil, fmt.Errorf("signer: %s: attribute %s is given twice", raw, name)
		}
		seen[name] = true
		val, err := url.PathUnescape(enc)
		if err != nil {
			return nil, fmt.Errorf("signer: %s: attribute %s: %w", raw, name, err)
		}
		switch name {
		case "key":
			u.key = val
		case "provider":
			u.provider = val
			if full, ok := cngProviders[strings.ToLower(val)]; ok {
				u.provider = full
			}
		case "scope":
			switch val {
			case "user":
			case "machine":
				u.machine = true
			default:
				return nil, fmt.Errorf("signer: %s: scope must be user or machine", raw)
			}
		case "store":
			switch strings.ToLower(val) {
			case "currentuser":
				u.store = "CurrentUser"
			case "localmachine":
				u.store = "LocalMachine"
			default:
				return nil, fmt.Errorf("signer: %s: store must be CurrentUser or LocalMachine", raw)
			}
		case "sha1":
			h, err := hex.DecodeString(strings.NewReplacer(" ", "", ":", "").Replace(val))
			if err != nil || len(h) != 20 {
				return nil, fmt.Errorf("signer: %s: sha1 must be a 40-digit hex thumbprint", raw)
			}
			u.sha1 = h
		case "subject":
			u.subject = val
		case "pin-source":
			if !strings.HasPrefix(val, "file:") || len(val) == len("file:") {
				return nil, fmt.Errorf("signer: %s: pin-source must be file:PATH", raw)
			}
			u.pinSource = val
		default:
			return nil, fmt.Errorf("signer: %s: unknown attribute %q (known: key, provider, scope, sha1, subject, store, pin-source)", raw, name)
		}
	}
	byKey, byCert := u.key != "", u.sha1 != nil || u.subject != ""
	switch {
	case byKey == byCert || u.sha1 != nil && u.subject != "":
		return nil, fmt.Errorf("signer: %s: name the key with exactly one of key=, sha1= or subject=", raw)
	case byKey && u.store != "":
		return nil, fmt.Errorf("signer: %s: store= goes with sha1= or subject=, not key=", raw)
	case byCert && (u.provider != "" || seen["scope"]):
		return nil, fmt.Errorf("signer: %s: provider= and scope= go with key=; a certificate names its own key", raw)
	}
	if byKey && u.provider == "" {
		u.provider = cngProviders["software"]
	}
	if byCert && u.store == "" {
		u.store = "CurrentUser"
	}
	return u, nil
}

// cngKey is a private key in a CNG KSP.
type cngKey struct {
	mu      sync.RWMutex // Close waits for operations in flight
	prov    uintptr      // NCRYPT_PROV_HANDLE, 0 for certificate keys
	key     uintptr      // NCRYPT_KEY_HANDLE
	ownKey  bool         // the key handle is ours to free
	cert    *windows.CertContext
	store   windows.Handle
	uri     string
	public  crypto.PublicKey
	schemes []uint16
}

// cngRSAKey is an RSA cngKey, which can also decrypt.
type cngRSAKey struct{ *cngKey }

// cngErr turns a SECURITY_STATUS into an error with the system's text.
func cngErr(call string, r uintptr) error {
	if uint32(r) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w (0x%08x)", call, windows.Errno(uint32(r)), uint32(r))
}

func openCNG(ctx context.Context, raw string) (signer.Key, error) {
	u, err := parseCNGURI(raw)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signer: %s: %w", raw, err)
	}
	k := &cngKey{uri: raw}
	if err := k.open(u); err != nil {
		k.Close()
		return nil, fmt.Errorf("signer: %s: %w", raw, err)
	}
	if _, ok := k.public.(*rsa.PublicKey); ok {
		return cngRSAKey{k}, nil
	}
	return k, nil
}

func (k *cngKey) open(u *cngURI) error {
	if u.key != "" {
		name, err := windows.UTF16PtrFromString(u.provider)
		if err != nil {
			return err
		}
		if r, _, _ := procNCryptOpenStorageProvider.Call(uintptr(unsafe.Pointer(&k.prov)), uintptr(unsafe.Pointer(name)), 0); uint32(r) != 0 {
			return cngErr("NCryptOpenStorageProvider("+u.provider+")", r)
		}
		keyName, err := windows.UTF16PtrFromString(u.key)
		if err != nil {
			return err
		}
		flags := uintptr(ncryptSilentFlag)
		if u.machine {
			flags |= ncryptMachineKeyFlag
		}
		if r, _, _ := procNCryptOpenKey.Call(k.prov, uintptr(unsafe.Pointer(&k.key)), uintptr(unsafe.Pointer(keyName)), 0, flags); uint32(r) != 0 {
			return cngErr("NCryptOpenKey("+u.key+")", r)
		}
		k.ownKey = true
	} else if err := k.openByCertificate(u); err != nil {
		return err
	}
	if u.pinSource != "" {
		if err := k.setPIN(u.pinSource[len("file:"):]); err != nil {
			return fmt.Errorf("pin-source: %w", err)
		}
	}
	if err := k.readPublic(); err != nil {
		return err
	}
	k.findSchemes(u.provider == cngProviders["software"])
	return nil
}

func (k *cngKey) openByCertificate(u *cngURI) error {
	loc := uint32(windows.CERT_SYSTEM_STORE_CURRENT_USER)
	if u.store == "LocalMachine" {
		loc = windows.CERT_SYSTEM_STORE_LOCAL_MACHINE
	}
	my, _ := windows.UTF16PtrFromString("MY")
	var err error
	k.store, err = windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0,
		loc|windows.CERT_STORE_OPEN_EXISTING_FLAG|windows.CERT_STORE_READONLY_FLAG, uintptr(unsafe.Pointer(my)))
	if err != nil {
		return fmt.Errorf("opening the %s MY store: %w", u.store, err)
	}
	enc := uint32(windows.X509_ASN_ENCODING | windows.PKCS_7_ASN_ENCODING)
	if u.sha1 != nil {
		blob := windows.CryptHashBlob{Size: uint32(len(u.sha1)), Data: &u.sha1[0]}
		k.cert, err = windows.CertFindCertificateInStore(k.store, enc, 0, windows.CERT_FIND_HASH, unsafe.Pointer(&blob), nil)
	} else {
		subj, uerr := windows.UTF16PtrFromString(u.subject)
		if uerr != nil {
			return uerr
		}
		k.cert, err = windows.CertFindCertificateInStore(k.store, enc, 0, windows.CERT_FIND_SUBJECT_STR, unsafe.Pointer(subj), nil)
	}
	if err != nil {
		return fmt.Errorf("no matching certificate in the %s MY store: %w", u.store, err)
	}
	var spec uint32
	var callerFree bool
	var h windows.Handle
	err = windows.CryptAcquireCertificatePrivateKey(k.cert,
		windows.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG|windows.CRYPT_ACQUIRE_SILENT_FLAG, nil, &h, &spec, &callerFree)
	if err != nil {
		return fmt.Errorf("CryptAcquireCertificatePrivateKey: %w", err)
	}
	if spec != windows.CERT_NCRYPT_KEY_SPEC {
		return errors.New("the certificate's key is not a CNG key")
	}
	// When CryptAcquireCertificatePrivateKey keeps the handle itself, it
	// lives as long as the certificate context, which Close frees.
	k.key, k.ownKey = uintptr(h), callerFree
	return nil
}

// setPIN reads a PIN file into locked memory, makes it a NUL-terminated
// UTF-16 string there, and sets it on the key.
func (k *cngKey) setPIN(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Size() == 0 || st.Size() > 256 {
		return fmt.Errorf("%s: want a regular file of 1 to 256 bytes, have %d bytes", path, st.Size())
	}
	raw, err := mem.New(int(st.Size()))
	if err != nil {
		return err
	}
	defer raw.Free()
	if _, err := io.ReadFull(f, raw.Bytes()); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	b := bytes.TrimRight(raw.Bytes(), "\r\n")
	if len(b) == 0 {
		return fmt.Errorf("%s holds an empty PIN", path)
	}
	// At most two UTF-16 units per UTF-8 byte, and the NUL.
	wide, err := mem.New(4*len(b) + 2)
	if err != nil {
		return err
	}
	defer wide.Free()
	out := wide.Bytes()
	n := 0
	put := func(u rune) {
		binary.LittleEndian.PutUint16(out[n:], uint16(u))
		n += 2
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			put(r1)
			put(r2)
		} else {
			put(r)
		}
	}
	n += 2 // the terminating NUL: the slot is zeroed
	prop, _ := windows.UTF16PtrFromString("SmartCardPin")
	r, _, _ := procNCryptSetProperty.Call(k.key, uintptr(unsafe.Pointer(prop)), uintptr(unsafe.Pointer(&out[0])), uintptr(n), ncryptSilentFlag)
	return cngErr("NCryptSetProperty(SmartCardPin)", r)
}

// readPublic exports the public half as a BCRYPT_ECCPUBLIC_BLOB or
// BCRYPT_RSAPUBLIC_BLOB, after asking the key's algorithm group.
func (k *cngKey) readPublic() error {
	group, err := k.property("AlgorithmGroup")
	if err != nil {
		return err
	}
	name := windows.UTF16ToString(unsafe.Slice((*uint16)(unsafe.Pointer(&group[0])), len(group)/2))
	switch name {
	case "ECDSA", "ECDH":
		blob, err := k.export("ECCPUBLICBLOB")
		if err != nil {
			return err
		}
		if len(blob) < 8 {
			return errors.New("short BCRYPT_ECCPUBLIC_BLOB")
		}
		magic, size := binary.LittleEndian.Uint32(blob), int(binary.LittleEndian.Uint32(blob[4:]))
		var curve elliptic.Curve
		switch {
		case magic == eccPublicP256Magic || magic == eccPublicGenericMagic && size == 32:
			curve = elliptic.P256()
		case magic == eccPublicP384Magic || magic == eccPublicGenericMagic && size == 48:
			curve = elliptic.P384()
		case magic == eccPublicP521Magic || magic == eccPublicGenericMagic && size == 66:
			curve = elliptic.P521()
		default:
			return fmt.Errorf("EC key with blob magic 0x%08x and %d-byte coordinates is not supported", magic, size)
		}
		if len(blob) != 8+2*size {
			return errors.New("malformed BCRYPT_ECCPUBLIC_BLOB")
		}
		point := append([]byte{4}, blob[8:]...)
		k.public, err = ecdsa.ParseUncompressedPublicKey(curve, point)
		return err
	case "RSA":
		blob, err := k.export("RSAPUBLICBLOB")
		if err != nil {
			return err
		}
		if len(blob) < 24 || binary.LittleEndian.Uint32(blob) != rsaPublicMagic {
			return errors.New("malformed BCRYPT_RSAPUBLIC_BLOB")
		}
		eLen, nLen := int(binary.LittleEndian.Uint32(blob[8:])), int(binary.LittleEndian.Uint32(blob[12:]))
		if eLen > 4 || len(blob) < 24+eLen+nLen {
			return errors.New("malformed BCRYPT_RSAPUBLIC_BLOB")
		}
		e := new(big.Int).SetBytes(blob[24 : 24+eLen])
		k.public = &rsa.PublicKey{E: int(e.Int64()), N: new(big.Int).SetBytes(blob[24+eLen : 24+eLen+nLen])}
		return nil
	}
	return fmt.Errorf("key algorithm group %q is not supported (want ECDSA or RSA)", name)
}

func (k *cngKey) property(name string) ([]byte, error) {
	p, _ := windows.UTF16PtrFromString(name)
	var n uint32
	if r, _, _ := procNCryptGetProperty.Call(k.key, uintptr(unsafe.Pointer(p)), 0, 0, uintptr(unsafe.Pointer(&n)), ncryptSilentFlag); uint32(r) != 0 {
		return nil, cngErr("NCryptGetProperty("+name+")", r)
	}
	buf := make([]byte, n+2)
	if r, _, _ := procNCryptGetProperty.Call(k.key, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), uintptr(n), uintptr(unsafe.Pointer(&n)), ncryptSilentFlag); uint32(r) != 0 {
		return nil, cngErr("NCryptGetProperty("+name+")", r)
	}
	return buf[:n+2], nil
}

func (k *cngKey) export(blobType string) ([]byte, error) {
	t, _ := windows.UTF16PtrFromString(blobType)
	var n uint32
	if r, _, _ := procNCryptExportKey.Call(k.key, 0, uintptr(unsafe.Pointer(t)), 0, 0, 0, uintptr(unsafe.Pointer(&n)), ncryptSilentFlag); uint32(r) != 0 {
		return nil, cngErr("NCryptExportKey("+blobType+")", r)
	}
	buf := make([]byte, n)
	if r, _, _ := procNCryptExportKey.Call(k.key, 0, uintptr(unsafe.Pointer(t)), 0, uintptr(unsafe.Pointer(&buf[0])), uintptr(n), uintptr(unsafe.Pointer(&n)), ncryptSilentFlag); uint32(r) != 0 {
		return nil, cngErr("NCryptExportKey("+blobType+")", r)
	}
	return buf[:n], nil
}

// findSchemes lists the TLS schemes the key makes. The Software KSP makes
// every one its key type allows; other KSPs (a TPM, a card) may refuse
// RSA-PSS or sign it with a salt TLS rejects, so each scheme is signed
// once and kept if it verifies.
func (k *cngKey) findSchemes(software bool) {
	for _, c := range tlsSchemesFor(k.public) {
		if software || probeScheme(k, c) == nil {
			k.schemes = append(k.schemes, c.scheme)
		}
	}
}

// SignatureSchemes lists the TLS signature schemes the key makes (see
// signer.SchemeLimiter).
func (k *cngKey) SignatureSchemes() []uint16 { return append([]uint16(nil), k.schemes...) }

// Public returns the key's public half.
func (k *cngKey) Public() crypto.PublicKey { return k.public }

// Sign is SignContext without a deadline.
func (k *cngKey) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rnd, digest, opts)
}

// Hash algorithm names for BCRYPT_PKCS1_PADDING_INFO and
// BCRYPT_PSS_PADDING_INFO.
var cngHashNames = map[crypto.Hash]*uint16{}

func init() {
	for h, name := range map[crypto.Hash]string{crypto.SHA1: "SHA1", crypto.SHA256: "SHA256", crypto.SHA384: "SHA384", crypto.SHA512: "SHA512"} {
		cngHashNames[h], _ = windows.UTF16PtrFromString(name)
	}
}

type bcryptPKCS1PaddingInfo struct{ algID *uint16 }

type bcryptPSSPaddingInfo struct {
	algID *uint16
	salt  uint32
}

// SignContext signs a digest with NCryptSignHash: ECDSA (returned in
// ASN.1 DER, as crypto.Signer requires), RSA PKCS #1 v1.5, or RSA-PSS with
// *rsa.PSSOptions. The context is checked before the call; a started
// NCryptSignHash cannot be interrupted.
func (k *cngKey) SignContext(ctx context.Context, _ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signer: %s: signature not started: %w", k.uri, err)
	}
	if nilOpts(opts) {
		return nil, fmt.Errorf("signer: %s: no signer options (want a crypto.Hash or *rsa.PSSOptions)", k.uri)
	}
	h := opts.HashFunc()
	alg := cngHashNames[h]
	if alg == nil {
		return nil, fmt.Errorf("signer: %s: hash %v is not supported (want SHA-1, SHA-256, SHA-384 or SHA-512)", k.uri, h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("signer: %s: digest is %d bytes, %v needs %d", k.uri, len(digest), h, h.Size())
	}
	var pad unsafe.Pointer
	var flags uintptr
	var sigLen int
	switch pub := k.public.(type) {
	case *ecdsa.PublicKey:
		if _, ok := opts.(*rsa.PSSOptions); ok {
			return nil, fmt.Errorf("signer: %s: RSA-PSS options for an ECDSA key", k.uri)
		}
		sigLen = 2 * ((pub.Curve.Params().BitSize + 7) / 8)
	case *rsa.PublicKey:
		sigLen = pub.Size()
		if pso, ok := opts.(*rsa.PSSOptions); ok {
			salt := pso.SaltLength
			switch {
			case salt == rsa.PSSSaltLengthEqualsHash:
				salt = h.Size()
			case salt == rsa.PSSSaltLengthAuto:
				salt = (pub.N.BitLen()-1+7)/8 - 2 - h.Size()
			case salt < 0:
				return nil, fmt.Errorf("signer: %s: invalid PSS salt length %d", k.uri, salt)
			}
			pad, flags = unsafe.Pointer(&bcryptPSSPaddingInfo{algID: alg, salt: uint32(salt)}), bcryptPadPSS
		} else {
			pad, flags = unsafe.Pointer(&bcryptPKCS1PaddingInfo{algID: alg}), bcryptPadPKCS1
		}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.key == 0 {
		return nil, fmt.Errorf("%s: %w", k.uri, signer.ErrClosed)
	}
	sig := make([]byte, sigLen)
	var n uint32
	r, _, _ := procNCryptSignHash.Call(k.key, uintptr(pad), uintptr(unsafe.Pointer(&digest[0])), uintptr(len(digest)),
		uintptr(unsafe.Pointer(&sig[0])), uintptr(len(sig)), uintptr(unsafe.Pointer(&n)), flags|ncryptSilentFlag)
	if uint32(r) != 0 {
		return nil, fmt.Errorf("signer: %s: %w", k.uri, cngErr("NCryptSignHash", r))
	}
	sig = sig[:n]
	if _, ok := k.public.(*ecdsa.PublicKey); ok {
		// CNG returns r || s; TLS and crypto.Signer want ASN.1.
		half := len(sig) / 2
		return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:half]), new(big.Int).SetBytes(sig[half:])})
	}
	return sig, nil
}

// Decrypt is RSA PKCS #1 v1.5 decryption with NCryptDecrypt, for TLS 1.2
// RSA key transport. With *rsa.PKCS1v15DecryptOptions and a SessionKeyLen,
// a bad ciphertext gives random bytes of that length and no error, as
// crypto/rsa does; CNG itself reports the padding error, so this choice is
// made in constant time in Go, after the call. OAEP is not supported.
func (k cngRSAKey) Decrypt(rnd io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	size := k.public.(*rsa.PublicKey).Size()
	if len(ciphertext) == 0 {
		return nil, fmt.Errorf("signer: %s: empty ciphertext", k.uri)
	}
	sessionLen, fallback, err := pkcs1DecryptPlan(k.uri, size, rnd, opts)
	if err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.key == 0 {
		return nil, fmt.Errorf("%s: %w", k.uri, signer.ErrClosed)
	}
	out := make([]byte, size)
	var n uint32
	r, _, _ := procNCryptDecrypt.Call(k.key, uintptr(unsafe.Pointer(&ciphertext[0])), uintptr(len(ciphertext)), 0,
		uintptr(unsafe.Pointer(&out[0])), uintptr(len(out)), uintptr(unsafe.Pointer(&n)), ncryptPadPKCS1Flag|ncryptSilentFlag)
	if fallback == nil {
		if uint32(r) != 0 {
			return nil, fmt.Errorf("signer: %s: %w", k.uri, cngErr("NCryptDecrypt", r))
		}
		return out[:n], nil
	}
	good := subtle.ConstantTimeEq(int32(uint32(r)), 0) & subtle.ConstantTimeEq(int32(n), int32(sessionLen))
	subtle.ConstantTimeCopy(1-good, out[:sessionLen], fallback)
	clear(fallback)
	clear(out[sessionLen:])
	return out[:sessionLen], nil
}

// Close frees the key handle, the provider handle and any certificate
// context and store. Operations in flight finish first; it is safe to call
// more than once.
func (k *cngKey) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != 0 && k.ownKey {
		procNCryptFreeObject.Call(k.key)
	}
	k.key = 0
	if k.prov != 0 {
		procNCryptFreeObject.Call(k.prov)
		k.prov = 0
	}
	if k.cert != nil {
		windows.CertFreeCertificateContext(k.cert)
		k.cert = nil
	}
	if k.store != 0 {
		windows.CertCloseStore(k.store, 0)
		k.store = 0
	}
	return nil
}

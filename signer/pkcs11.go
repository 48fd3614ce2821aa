//go:build cgo

package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/holdfast-tls/holdfast/mem"
)

func init() { Register("pkcs11", openPKCS11) }

// defaultMaxSessions bounds the session pool when the token reports no
// limit (SoftHSM reports CK_EFFECTIVELY_INFINITE) and the URI sets none:
// sessions are a quota a real HSM shares between every application on it.
const defaultMaxSessions = 8

// maxSessionsAttr is the URI query attribute that bounds the session pool
// ("?module-path=...&max-sessions=4"), a vendor attribute under RFC 7512
// §2.3. It lowers the token's own ulMaxSessionCount and replaces
// defaultMaxSessions when the token reports no limit.
const maxSessionsAttr = "max-sessions"

// sessionBound is the size of the key's session pool. Signing sessions
// are read-only (a signature creates no object), so ulMaxRwSessionCount
// does not bound them; ulMaxSessionCount counts sessions of both kinds.
// A count of 0 is CK_EFFECTIVELY_INFINITE, and ^0 is
// CK_UNAVAILABLE_INFORMATION: neither is a limit.
func sessionBound(u *PKCS11URI, ti pkcs11.TokenInfo) (int, error) {
	bound := defaultMaxSessions
	tokenMax := uint64(ti.MaxSessionCount)
	finite := tokenMax > 0 && tokenMax <= 1<<16
	if finite {
		bound = int(tokenMax)
	}
	v, ok := u.VendorQuery[maxSessionsAttr]
	if !ok {
		return bound, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1<<16 {
		return 0, uriErr(maxSessionsAttr, "value %q is not a number of sessions from 1 to 65536", v)
	}
	if finite {
		return min(n, int(tokenMax)), nil
	}
	return n, nil
}

// p11Key is a private key inside a PKCS#11 token. The process holds only
// object handles; every operation runs on the token in a pooled session.
type p11Key struct {
	mod     *p11Module
	modPath string
	slot    uint
	uri     string // for errors; the PIN is redacted
	label   string
	id      []byte

	tokenLabel, tokenSerial string // to find the token again
	public                  crypto.PublicKey
	caps                    p11Caps

	// pin is kept in locked memory for re-login after the token logs the
	// application out (CKR_USER_NOT_LOGGED_IN). miekg/pkcs11 takes the PIN
	// as a Go string, so each login makes a short-lived heap copy.
	pin *mem.Secret

	mu       sync.Mutex
	idle     []idleSession // most recently used last
	tokens   chan struct{} // one per session that may exist
	returned chan struct{} // a session went back to idle: waiters look again
	priv     pkcs11.ObjectHandle
	gen      uint64     // bumped by every repair
	repairMu sync.Mutex // one repair at a time
	closed   bool
	idleTime time.Duration
	stop     chan struct{}
}

type idleSession struct {
	h    pkcs11.SessionHandle
	used time.Time
}

// defaultIdleTimeout closes sessions unused this long, so the number of
// open sessions follows the load.
const defaultIdleTimeout = time.Minute

// reapInterval is how often idle sessions are looked at.
const reapInterval = 250 * time.Millisecond

// p11Module is one loaded PKCS#11 library, shared by the keys opened from
// it and finalized when the last of them closes.
type p11Module struct {
	path  string
	ctx   *pkcs11.Ctx
	refs  int
	owned bool // we called C_Initialize, so we call C_Finalize
}

var (
	modulesMu sync.Mutex
	modules   = map[string]*p11Module{}
)

func loadModule(path string) (*p11Module, error) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m := modules[path]; m != nil {
		m.refs++
		return m, nil
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("signer: cannot load PKCS#11 module %s", path)
	}
	owned := true
	if err := ctx.Initialize(); errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		// Another library in this process (crypto11, an OpenSSL engine)
		// initialised the module: share it, and leave C_Finalize to it.
		owned = false
	} else if err != nil {
		ctx.Destroy()
		return nil, fmt.Errorf("signer: C_Initialize on %s: %w", path, err)
	}
	m := &p11Module{path: path, ctx: ctx, refs: 1, owned: owned}
	modules[path] = m
	return m, nil
}

func releaseModule(path string, m *p11Module) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	m.refs--
	if m.refs == 0 {
		if m.owned {
			m.ctx.Finalize()
		}
		m.ctx.Destroy()
		delete(modules, path)
	}
}

// openPKCS11 opens "pkcs11:" URIs (RFC 7512): the token by label (and
// serial, if given), the private key by object label and/or id, the module
// from module-path, the PIN from pin-source (file:PATH) or pin-value.
func openPKCS11(ctx context.Context, raw string) (Key, error) {
	u, err := ParsePKCS11URI(raw)
	if err != nil {
		return nil, err
	}
	shown := u.String()
	if u.ModulePath == "" {
		return nil, fmt.Errorf("signer: %s: module-path is required (e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so)", shown)
	}
	if u.Object == "" && len(u.ID) == 0 {
		return nil, fmt.Errorf("signer: %s: name the key with object= or id=", shown)
	}
	pin, err := readPIN(u)
	if err != nil {
		return nil, fmt.Errorf("signer: %s: %w", shown, err)
	}
	m, err := loadModule(u.ModulePath)
	if err != nil {
		pin.Free()
		return nil, err
	}
	k := &p11Key{mod: m, modPath: u.ModulePath, uri: shown, label: u.Object, id: u.ID,
		idleTime: defaultIdleTimeout, stop: make(chan struct{}), pin: pin}
	if err := k.open(u); err != nil {
		if k.tokens != nil {
			k.dropIdle()
		}
		k.pin.Free()
		releaseModule(u.ModulePath, m)
		return nil, err
	}
	go k.reapIdle()
	return k, nil
}

// readPIN takes the PIN from pin-source (a file, read by the kernel
// straight into locked memory) or pin-value, and returns it in locked
// memory, or nil when there is none. No copy of a PIN from a file is made
// on the Go heap; a pin-value was in the URI string already, which the
// caller cannot wipe (prefer pin-source).
func readPIN(u *PKCS11URI) (*mem.Secret, error) {
	if src, ok := strings.CutPrefix(u.PINSource, "file:"); ok {
		raw, err := readLocked(src)
		if err != nil {
			return nil, fmt.Errorf("reading pin-source: %w", err)
		}
		b := raw.Bytes()
		n := len(b)
		for n > 0 && (b[n-1] == '\n' || b[n-1] == '\r') {
			n--
		}
		if n == len(b) {
			return raw, nil
		}
		defer raw.Free()
		if n == 0 {
			return nil, nil
		}
		return secretFrom(b[:n])
	} else if u.PINSource != "" {
		return nil, errors.New("pin-source must be file:PATH")
	}
	if len(u.PIN()) == 0 {
		return nil, nil
	}
	defer clear(u.PIN()) // the parsed copy; the URI string keeps its own
	return secretFrom(u.PIN())
}

func (k *p11Key) open(u *PKCS11URI) error {
	k.tokenLabel, k.tokenSerial = u.Token, u.Serial
	slot, ti, err := k.locate()
	if err != nil {
		return err
	}
	k.slot = slot
	max, err := sessionBound(u, ti)
	if err != nil {
		return fmt.Errorf("signer: %s: %w", k.uri, err)
	}
	k.tokens = make(chan struct{}, max)
	for range max {
		k.tokens <- struct{}{}
	}
	k.returned = make(chan struct{}, max)
	s, err := k.checkout(context.Background())
	if err != nil {
		return err
	}
	err = k.attachSession(s)
	if err == nil {
		k.caps, err = k.readCaps(s)
	}
	k.checkin(s, err)
	if err != nil {
		return err
	}
	if len(k.caps.schemes) == 0 {
		return fmt.Errorf("signer: %s: the token lets this key make no signature TLS uses: %s", k.uri, k.caps.why)
	}
	return nil
}

// locate finds the slot holding the URI's token by label and serial. It
// is called again after the token disappears: a token put back, or
// re-initialised, may sit in another slot.
func (k *p11Key) locate() (uint, pkcs11.TokenInfo, error) {
	return locateToken(k.mod.ctx, k.uri, k.tokenLabel, k.tokenSerial)
}

// locateToken finds the slot holding the token with the given label and
// serial (either may be empty to match any); uri names it in errors. Keys
// and key wrappers share it.
func locateToken(c *pkcs11.Ctx, uri, label, serial string) (uint, pkcs11.TokenInfo, error) {
	slots, err := c.GetSlotList(true)
	if err != nil {
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("signer: %s: C_GetSlotList: %w", uri, err)
	}
	for _, s := range slots {
		ti, err := c.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if (label == "" || strings.TrimSpace(ti.Label) == label) && (serial == "" || strings.TrimSpace(ti.SerialNumber) == serial) {
			return s, ti, nil
		}
	}
	return 0, pkcs11.TokenInfo{}, fmt.Errorf("signer: %s: no token with that label and serial is present in the %d slots the module lists"+
		" (a module may list only the tokens it found when this process loaded it, as SoftHSM does: it is loaded afresh once every key using it is closed)", uri, len(slots))
}

// attachSession logs in on s and finds the key's objects. On the first
// call it records the public key; on later ones (after a token reset) it
// insists the key found is the same key, so that a different key that
// reuses the label is never signed with.
func (k *p11Key) attachSession(s pkcs11.SessionHandle) error {
	if err := k.login(s); err != nil {
		return err
	}
	priv, err := k.find(s, pkcs11.CKO_PRIVATE_KEY)
	if err != nil {
		return err
	}
	pubObj, err := k.find(s, pkcs11.CKO_PUBLIC_KEY)
	if err != nil {
		return err
	}
	pub, err := k.readPublic(s, pubObj)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.public == nil {
		k.public = pub
	} else if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.public) {
		return fmt.Errorf("signer: %s: the key found after a token reset is a different key; refusing to use it", k.uri)
	}
	k.priv = priv
	return nil
}

// login logs the application in to the token (a PKCS#11 login covers
// every session of the application).
func (k *p11Key) login(s pkcs11.SessionHandle) error {
	return loginUser(k.mod, s, k.uri, k.pin)
}

// loginUser logs the application in as the user with the PIN held in pin
// (nil for none); uri names the token in errors, which never show the PIN.
func loginUser(m *p11Module, s pkcs11.SessionHandle, uri string, pin *mem.Secret) error {
	err := loginModule(m, s, pin)
	if err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
		return fmt.Errorf("signer: %s: C_Login: %w", uri, err)
	}
	return nil
}

func (k *p11Key) find(s pkcs11.SessionHandle, class uint) (pkcs11.ObjectHandle, error) {
	what := "private key"
	if class == pkcs11.CKO_PUBLIC_KEY {
		what = "public key"
	}
	return findObject(k.mod.ctx, s, k.uri, class, k.label, k.id, what)
}

// findObject finds the one object of the class with the label and/or id
// given; what names the kind of object in errors, uri the token.
func findObject(c *pkcs11.Ctx, s pkcs11.SessionHandle, uri string, class uint, label string, id []byte, what string) (pkcs11.ObjectHandle, error) {
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class)}
	if label != "" {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	if len(id) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	}
	if err := c.FindObjectsInit(s, tmpl); err != nil {
		return 0, fmt.Errorf("signer: %s: C_FindObjectsInit: %w", uri, err)
	}
	objs, _, err := c.FindObjects(s, 2)
	c.FindObjectsFinal(s)
	if err != nil {
		return 0, fmt.Errorf("signer: %s: C_FindObjects: %w", uri, err)
	}
	switch len(objs) {
	case 0:
		return 0, fmt.Errorf("signer: %s: no %s matches", uri, what)
	case 1:
		return objs[0], nil
	}
	return 0, fmt.Errorf("signer: %s: more than one %s matches; add id= or object=", uri, what)
}

var (
	oidP256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384    = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112} // RFC 8410
)

// PKCS#11 3.0 values that the pkcs11 package's headers predate.
const (
	ckkECEdwards = 0x40   // CKK_EC_EDWARDS
	ckmEdDSA     = 0x1057 // CKM_EDDSA
)

// readPublic reads the public half from the token's public key object.
func (k *p11Key) readPublic(s pkcs11.SessionHandle, obj pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	c := k.mod.ctx
	attrs, err := c.GetAttributeValue(s, obj, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)})
	if err != nil {
		return nil, fmt.Errorf("signer: %s: reading CKA_KEY_TYPE: %w", k.uri, err)
	}
	switch new(big.Int).SetBytes(reverse(attrs[0].Value)).Uint64() {
	case pkcs11.CKK_EC:
		a, err := c.GetAttributeValue(s, obj, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil), pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
		if err != nil {
			return nil, fmt.Errorf("signer: %s: reading the EC public key: %w", k.uri, err)
		}
		var oid asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(a[0].Value, &oid); err != nil {
			return nil, fmt.Errorf("signer: %s: CKA_EC_PARAMS: %w", k.uri, err)
		}
		var curve elliptic.Curve
		switch {
		case oid.Equal(oidP256):
			curve = elliptic.P256()
		case oid.Equal(oidP384):
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("signer: %s: EC curve %v is not supported", k.uri, oid)
		}
		var point []byte
		if _, err := asn1.Unmarshal(a[1].Value, &point); err != nil {
			point = a[1].Value // some tokens return the raw point
		}
		return ecdsa.ParseUncompressedPublicKey(curve, point)
	case pkcs11.CKK_RSA:
		a, err := c.GetAttributeValue(s, obj, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil), pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil)})
		if err != nil {
			return nil, fmt.Errorf("signer: %s: reading the RSA public key: %w", k.uri, err)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(a[0].Value), E: int(new(big.Int).SetBytes(a[1].Value).Int64())}, nil
	case ckkECEdwards:
		a, err := c.GetAttributeValue(s, obj, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil), pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
		if err != nil {
			return nil, fmt.Errorf("signer: %s: reading the EdDSA public key: %w", k.uri, err)
		}
		return parseEdwardsPublic(k.uri, a[0].Value, a[1].Value)
	}
	return nil, fmt.Errorf("signer: %s: key type is not EC, RSA or EC_EDWARDS", k.uri)
}

// parseEdwardsPublic reads an Ed25519 public key from CKA_EC_PARAMS and
// CKA_EC_POINT (PKCS#11 3.0 §2.3.10). The parameters name the curve as
// the PrintableString "edwards25519" (what SoftHSM and OpenSC write) or
// by the RFC 8410 OID; the point is a DER OCTET STRING of 32 bytes, or the
// 32 bytes bare from tokens that skip the wrapping. Ed448 is refused: TLS
// offers it, but nothing in Holdfast verifies it.
func parseEdwardsPublic(uri string, params, point []byte) (crypto.PublicKey, error) {
	var name string
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(params, &name); err == nil && len(rest) == 0 {
		if name != "edwards25519" {
			return nil, fmt.Errorf("signer: %s: Edwards curve %q is not supported (Ed25519 only)", uri, name)
		}
	} else if rest, err := asn1.Unmarshal(params, &oid); err == nil && len(rest) == 0 {
		if !oid.Equal(oidEd25519) {
			return nil, fmt.Errorf("signer: %s: Edwards curve %v is not supported (Ed25519 only)", uri, oid)
		}
	} else {
		return nil, fmt.Errorf("signer: %s: CKA_EC_PARAMS of an EC_EDWARDS key is neither a curve name nor an OID", uri)
	}
	var raw []byte
	if rest, err := asn1.Unmarshal(point, &raw); err != nil || len(rest) != 0 {
		raw = point
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("signer: %s: CKA_EC_POINT holds %d bytes, want an Ed25519 key of %d", uri, len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(bytes.Clone(raw)), nil
}

// reverse turns a little-endian CK_ULONG attribute into big-endian.
func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i, v := range b {
		out[len(b)-1-i] = v
	}
	return out
}

func (k *p11Key) Public() crypto.PublicKey { return k.public }

func (k *p11Key) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rnd, digest, opts)
}

// digestInfo prefixes for RSA PKCS #1 v1.5 signatures (RFC 8017 §9.2).
var digestInfo = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

var pssParams = map[crypto.Hash][3]uint{
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256, 32},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384, 48},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512, 64},
}

// SignContext signs on the token. The context bounds the wait for a
// session; a started C_Sign cannot be interrupted.
func (k *p11Key) SignContext(ctx context.Context, _ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	var mech *pkcs11.Mechanism
	input := digest
	h := opts.HashFunc()
	switch k.public.(type) {
	case *ecdsa.PublicKey:
		mech = pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)
	case ed25519.PublicKey:
		// Pure Ed25519 signs the message itself (crypto.Signer passes it
		// as digest with no hash). Ed25519ph and Ed25519ctx, which TLS
		// does not use, would need CK_EDDSA_PARAMS.
		if h != 0 {
			return nil, fmt.Errorf("signer: %s: Ed25519 signs the message, not a %v digest", k.uri, h)
		}
		if o, ok := opts.(*ed25519.Options); ok && o.Context != "" {
			return nil, fmt.Errorf("signer: %s: Ed25519ctx is not supported", k.uri)
		}
		mech = pkcs11.NewMechanism(ckmEdDSA, nil)
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			p, ok := pssParams[h]
			if !ok {
				return nil, fmt.Errorf("signer: %s: RSA-PSS with %v is not supported", k.uri, h)
			}
			salt := p[2]
			if pss.SaltLength > 0 {
				salt = uint(pss.SaltLength)
			}
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(p[0], p[1], salt))
		} else {
			prefix, ok := digestInfo[h]
			if !ok {
				return nil, fmt.Errorf("signer: %s: RSA PKCS #1 v1.5 with %v is not supported", k.uri, h)
			}
			input = append(append([]byte(nil), prefix...), digest...)
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)
		}
	}
	var sig []byte
	err := k.withSession(ctx, func(c *pkcs11.Ctx, s pkcs11.SessionHandle, priv pkcs11.ObjectHandle) error {
		if err := c.SignInit(s, []*pkcs11.Mechanism{mech}, priv); err != nil {
			return fmt.Errorf("signer: %s: C_SignInit: %w", k.uri, err)
		}
		var err error
		if sig, err = c.Sign(s, input); err != nil {
			return fmt.Errorf("signer: %s: C_Sign: %w", k.uri, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := k.public.(*ecdsa.PublicKey); ok {
		// PKCS#11 returns r || s; TLS wants the ASN.1 encoding.
		half := len(sig) / 2
		return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:half]), new(big.Int).SetBytes(sig[half:])})
	}
	return sig, nil
}

// Close closes the key's sessions and, with the last key of its module,
// finalizes the module. It is safe to call more than once.
func (k *p11Key) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	idle := k.idle
	k.idle = nil
	close(k.stop)
	k.mu.Unlock()
	for _, s := range idle {
		k.mod.ctx.CloseSession(s.h)
	}
	k.pin.Free()
	releaseModule(k.modPath, k.mod)
	return nil
}

// Decrypt performs RSA PKCS #1 v1.5 decryption on the token, for TLS 1.2
// RSA key transport. On a padding failure the token's error is returned;
// the TLS engine folds it into its constant-time countermeasure.
func (k *p11Key) Decrypt(_ io.Reader, ciphertext []byte, _ crypto.DecrypterOpts) ([]byte, error) {
	if _, ok := k.public.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("signer: %s is not an RSA key and cannot decrypt", k.uri)
	}
	if !k.caps.decrypt {
		return nil, fmt.Errorf("signer: %s: the token does not let this key decrypt: %s", k.uri, k.caps.why)
	}
	var plain []byte
	err := k.withSession(context.Background(), func(c *pkcs11.Ctx, s pkcs11.SessionHandle, priv pkcs11.ObjectHandle) error {
		if err := c.DecryptInit(s, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, priv); err != nil {
			return fmt.Errorf("signer: %s: C_DecryptInit: %w", k.uri, err)
		}
		var err error
		plain, err = c.Decrypt(s, ciphertext)
		return err
	})
	return plain, err
}

//go:build cgo && unix

package signer

/*
#cgo linux LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

// Just enough of the PKCS#11 ABI (v2.40, Unix: no structure packing) to
// call two functions with pointers into locked memory. miekg/pkcs11 copies
// attribute values through Go and C heaps, which is fine for handles and
// wrapped keys but not for the key itself.
typedef unsigned long hf_ulong;
typedef struct { hf_ulong type; void *value; hf_ulong len; } hf_attr;
typedef hf_ulong (*hf_create_fn)(hf_ulong session, hf_attr *tmpl, hf_ulong n, hf_ulong *obj);
typedef hf_ulong (*hf_getattr_fn)(hf_ulong session, hf_ulong obj, hf_attr *tmpl, hf_ulong n);

// CK_FUNCTION_LIST up to C_GetAttributeValue: the version, C_Initialize
// through C_Logout (20 entries), C_CreateObject, C_CopyObject,
// C_DestroyObject, C_GetObjectSize, C_GetAttributeValue.
typedef struct {
	unsigned char major, minor;
	void *before_create[20];
	hf_create_fn create_object;
	void *between[3];
	hf_getattr_fn get_attribute_value;
} hf_funcs;

#define HF_CKO_SECRET_KEY 4UL
#define HF_CKK_GENERIC_SECRET 0x10UL
#define HF_CKA_CLASS 0x0UL
#define HF_CKA_TOKEN 0x1UL
#define HF_CKA_PRIVATE 0x2UL
#define HF_CKA_VALUE 0x11UL
#define HF_CKA_KEY_TYPE 0x100UL
#define HF_CKA_SENSITIVE 0x103UL
#define HF_CKA_EXTRACTABLE 0x162UL
#define HF_CKR_BUFFER_TOO_SMALL 0x150UL

// hf_funcs_of finds the function list of a module miekg/pkcs11 already
// loaded and initialised (RTLD_NOLOAD: the same instance, never a second
// uninitialised one). The caller dlcloses *handle.
static hf_funcs *hf_funcs_of(const char *path, void **handle) {
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	if (h == NULL) return NULL;
	hf_ulong (*get)(hf_funcs **) = (hf_ulong (*)(hf_funcs **))dlsym(h, "C_GetFunctionList");
	hf_funcs *f = NULL;
	if (get == NULL || get(&f) != 0 || f == NULL || f->create_object == NULL || f->get_attribute_value == NULL) {
		dlclose(h);
		return NULL;
	}
	*handle = h;
	return f;
}

static void hf_close(void *h) { dlclose(h); }

// C_Login is entry 18 of the function list after the version (C_Initialize
// is 0): before_create[18].
typedef hf_ulong (*hf_login_fn)(hf_ulong session, hf_ulong user, unsigned char *pin, hf_ulong len);

// hf_login logs in with the PIN read straight from locked memory, so that
// it never passes through a Go string or a C heap copy of ours. *loaded is
// 0 when the module is not loaded in this process.
static hf_ulong hf_login(const char *path, hf_ulong s, hf_ulong user, unsigned char *pin, hf_ulong n, int *loaded) {
	void *h = NULL;
	hf_funcs *f = hf_funcs_of(path, &h);
	*loaded = f != NULL;
	if (f == NULL) return 0;
	hf_login_fn login = (hf_login_fn)f->before_create[18];
	hf_ulong rv = login == NULL ? 0x54UL : login(s, user, pin, n); // CKR_FUNCTION_NOT_SUPPORTED
	dlclose(h);
	return rv;
}

// hf_create_secret makes a session object holding the key, so that
// C_WrapKey can wrap it; the token copies the value from locked memory.
static hf_ulong hf_create_secret(hf_funcs *f, hf_ulong s, void *key, hf_ulong n, hf_ulong *obj) {
	hf_ulong cls = HF_CKO_SECRET_KEY, kt = HF_CKK_GENERIC_SECRET;
	unsigned char yes = 1, no = 0;
	hf_attr t[] = {
		{HF_CKA_CLASS, &cls, sizeof cls},
		{HF_CKA_KEY_TYPE, &kt, sizeof kt},
		{HF_CKA_TOKEN, &no, 1},
		{HF_CKA_PRIVATE, &yes, 1},
		{HF_CKA_SENSITIVE, &yes, 1},
		{HF_CKA_EXTRACTABLE, &yes, 1},
		{HF_CKA_VALUE, key, n},
	};
	return f->create_object(s, t, sizeof t / sizeof t[0], obj);
}

// hf_read_value reads an object's CKA_VALUE straight into dst, after
// asking its length so that a short dst is refused rather than written.
static hf_ulong hf_read_value(hf_funcs *f, hf_ulong s, hf_ulong obj, void *dst, hf_ulong cap, hf_ulong *n) {
	hf_attr a = {HF_CKA_VALUE, NULL, 0};
	hf_ulong rv = f->get_attribute_value(s, obj, &a, 1);
	*n = a.len;
	if (rv != 0) return rv;
	if (a.len > cap) return HF_CKR_BUFFER_TOO_SMALL;
	a.value = dst;
	rv = f->get_attribute_value(s, obj, &a, 1);
	*n = a.len;
	return rv;
}
*/
import "C"

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/miekg/pkcs11"

	"github.com/holdfast-tls/holdfast/mem"
)

func init() { wrapperOpeners["pkcs11"] = openPKCS11Wrapper }

// wrapABI is what the C declarations above believe the PKCS#11 constants
// are; a test holds them against miekg/pkcs11's, which come from the
// standard headers.
var wrapABI = map[string]uint{
	"CKO_SECRET_KEY":       C.HF_CKO_SECRET_KEY,
	"CKK_GENERIC_SECRET":   C.HF_CKK_GENERIC_SECRET,
	"CKA_CLASS":            C.HF_CKA_CLASS,
	"CKA_TOKEN":            C.HF_CKA_TOKEN,
	"CKA_PRIVATE":          C.HF_CKA_PRIVATE,
	"CKA_VALUE":            C.HF_CKA_VALUE,
	"CKA_KEY_TYPE":         C.HF_CKA_KEY_TYPE,
	"CKA_SENSITIVE":        C.HF_CKA_SENSITIVE,
	"CKA_EXTRACTABLE":      C.HF_CKA_EXTRACTABLE,
	"CKR_BUFFER_TOO_SMALL": C.HF_CKR_BUFFER_TOO_SMALL,
}

// wrapMech is RFC 5649 key wrap with padding. SoftHSM 2.6 offers it for
// C_WrapKey/C_UnwrapKey only (not C_Encrypt/C_Decrypt), so keys are wrapped
// as session objects and read back from one.
var wrapMech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}

// p11Wrapper is an AES key-encryption key on a PKCS#11 token. Wrapping is
// rare (a ticket key per period and node), so it keeps one session, used
// one operation at a time, rather than a pool.
type p11Wrapper struct {
	mod     *p11Module
	modPath string
	funcs   *C.hf_funcs
	dl      unsafe.Pointer
	uri     string // for errors; the PIN is redacted
	label   string
	id      []byte

	tokenLabel, tokenSerial string
	pin                     *mem.Secret

	turn   chan struct{} // holds one token: the right to use the fields below
	slot   uint
	sess   pkcs11.SessionHandle
	live   bool // sess is open and logged in, kek found
	kek    pkcs11.ObjectHandle
	closed bool
}

// openPKCS11Wrapper opens "pkcs11:" URIs naming an AES secret key, with
// the same module, token and PIN handling as keys.
func openPKCS11Wrapper(ctx context.Context, raw string) (KeyWrapper, error) {
	u, err := ParsePKCS11URI(raw)
	if err != nil {
		return nil, err
	}
	shown := u.String()
	if u.ModulePath == "" {
		return nil, fmt.Errorf("signer: %s: module-path is required (e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so)", shown)
	}
	if u.Object == "" && len(u.ID) == 0 {
		return nil, fmt.Errorf("signer: %s: name the key-encryption key with object= or id=", shown)
	}
	if u.Type != "" && u.Type != "secret-key" {
		return nil, fmt.Errorf("signer: %s: a key-encryption key is type=secret-key, not %s", shown, u.Type)
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
	w := &p11Wrapper{mod: m, modPath: u.ModulePath, uri: shown, label: u.Object, id: u.ID,
		tokenLabel: u.Token, tokenSerial: u.Serial, turn: make(chan struct{}, 1), pin: pin}
	w.turn <- struct{}{}
	fail := func(err error) (KeyWrapper, error) {
		w.Close()
		return nil, err
	}
	cpath := C.CString(u.ModulePath)
	var h unsafe.Pointer
	w.funcs = C.hf_funcs_of(cpath, &h)
	C.free(unsafe.Pointer(cpath))
	if w.funcs == nil {
		return fail(fmt.Errorf("signer: %s: the module's C_GetFunctionList is not usable", shown))
	}
	w.dl = h
	if err := w.take(ctx); err != nil {
		return fail(err)
	}
	err = w.attach()
	w.give()
	if err != nil {
		return fail(err)
	}
	return w, nil
}

// take waits, bounded by ctx, for the right to use the session.
func (w *p11Wrapper) take(ctx context.Context) error {
	select {
	case <-w.turn:
	case <-ctx.Done():
		return fmt.Errorf("signer: %s: waiting for the key-encryption key: %w", w.uri, ctx.Err())
	}
	if w.closed {
		w.give()
		return fmt.Errorf("%s: %w", w.uri, ErrClosed)
	}
	return nil
}

func (w *p11Wrapper) give() { w.turn <- struct{}{} }

// attach opens a session on the token, logs in, finds the KEK and checks
// that the token and the key allow RFC 5649 wrapping both ways. Called
// with the turn held, at open and after the token or session is lost.
func (w *p11Wrapper) attach() error {
	c := w.mod.ctx
	w.detach()
	slot, _, err := locateToken(c, w.uri, w.tokenLabel, w.tokenSerial)
	if err != nil {
		return err
	}
	info, err := c.GetMechanismInfo(slot, wrapMech)
	if err != nil {
		return fmt.Errorf("signer: %s: the token does not offer CKM_AES_KEY_WRAP_PAD: %w", w.uri, err)
	}
	if info.Flags&pkcs11.CKF_WRAP == 0 || info.Flags&pkcs11.CKF_UNWRAP == 0 {
		return fmt.Errorf("signer: %s: the token cannot both wrap and unwrap with CKM_AES_KEY_WRAP_PAD", w.uri)
	}
	s, err := c.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return fmt.Errorf("signer: %s: C_OpenSession: %w", w.uri, err)
	}
	w.slot, w.sess = slot, s
	if err := loginUser(w.mod, s, w.uri, w.pin); err != nil {
		w.closeSession()
		return err
	}
	kek, err := findObject(c, s, w.uri, pkcs11.CKO_SECRET_KEY, w.label, w.id, "secret key")
	if err != nil {
		w.closeSession()
		return err
	}
	a, err := c.GetAttributeValue(s, kek, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, nil),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, nil)})
	if err != nil {
		w.closeSession()
		return fmt.Errorf("signer: %s: reading the key-encryption key's attributes: %w", w.uri, err)
	}
	switch {
	case ulongAttr(a[0].Value) != pkcs11.CKK_AES:
		err = fmt.Errorf("signer: %s: the key-encryption key is not an AES key", w.uri)
	case !boolAttr(a[1].Value) || !boolAttr(a[2].Value):
		err = fmt.Errorf("signer: %s: the key-encryption key lacks CKA_WRAP or CKA_UNWRAP (pkcs11-tool --keygen ... --usage-wrap)", w.uri)
	}
	if err != nil {
		w.closeSession()
		return err
	}
	w.kek, w.live = kek, true
	return nil
}

func ulongAttr(b []byte) uint {
	var v uint
	for i := len(b) - 1; i >= 0; i-- { // little-endian CK_ULONG
		v = v<<8 | uint(b[i])
	}
	return v
}

func boolAttr(b []byte) bool { return len(b) == 1 && b[0] != 0 }

func (w *p11Wrapper) closeSession() {
	w.mod.ctx.CloseSession(w.sess)
	w.live = false
}

// detach drops the session, if any, before a new attach.
func (w *p11Wrapper) detach() {
	if w.live {
		w.closeSession()
	}
}

// run runs op with the turn held on a live session; when op fails in a way
// a fresh session can fix (see repairable), it attaches again and runs op
// once more.
func (w *p11Wrapper) run(ctx context.Context, op func() error) error {
	if err := w.take(ctx); err != nil {
		return err
	}
	defer w.give()
	for attempt := 0; ; attempt++ {
		if !w.live {
			if err := w.attach(); err != nil {
				return err
			}
		}
		err := op()
		if err == nil || attempt == 1 || !repairable(err) {
			return err
		}
		w.detach()
	}
}

// Wrap creates a session object holding key (the token copies it from
// key's memory), wraps it with CKM_AES_KEY_WRAP_PAD and destroys it.
func (w *p11Wrapper) Wrap(ctx context.Context, key []byte) ([]byte, error) {
	// RFC 5649 pads other lengths, but SoftHSM 2.6.1 hands back the
	// padded length on unwrap; whole 8-byte blocks round-trip everywhere.
	if len(key) == 0 || len(key)%8 != 0 || len(key) > 4096 {
		return nil, fmt.Errorf("signer: %s: cannot wrap a %d-byte key: the length must be a positive multiple of 8, at most 4096", w.uri, len(key))
	}
	var out []byte
	err := w.run(ctx, func() error {
		var obj C.hf_ulong
		if rv := C.hf_create_secret(w.funcs, C.hf_ulong(w.sess), unsafe.Pointer(&key[0]), C.hf_ulong(len(key)), &obj); rv != 0 {
			return fmt.Errorf("signer: %s: C_CreateObject for the key to wrap: %w", w.uri, pkcs11.Error(rv))
		}
		defer w.mod.ctx.DestroyObject(w.sess, pkcs11.ObjectHandle(obj))
		var err error
		if out, err = w.mod.ctx.WrapKey(w.sess, wrapMech, w.kek, pkcs11.ObjectHandle(obj)); err != nil {
			return fmt.Errorf("signer: %s: C_WrapKey: %w", w.uri, err)
		}
		return nil
	})
	return out, err
}

// unwrapTemplate makes the unwrapped key a readable session object: not
// sensitive and extractable, so that C_GetAttributeValue reveals it, and
// destroyed as soon as it has been read.
var unwrapTemplate = []*pkcs11.Attribute{
	pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
	pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
	pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
	pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
	pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, false),
	pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
}

// Unwrap unwraps into a session object and reads its value straight into
// dst.
func (w *p11Wrapper) Unwrap(ctx context.Context, wrapped []byte, dst []byte) (int, error) {
	// RFC 5649 output is whole 64-bit blocks, at least two.
	if len(wrapped) < 16 || len(wrapped)%8 != 0 || len(wrapped) > 1<<16 {
		return 0, fmt.Errorf("signer: %s: a %d-byte value is not an RFC 5649 wrapped key: %w", w.uri, len(wrapped), ErrUnwrap)
	}
	if len(dst) == 0 {
		return 0, fmt.Errorf("signer: %s: no room to unwrap into", w.uri)
	}
	var n int
	err := w.run(ctx, func() error {
		obj, err := w.mod.ctx.UnwrapKey(w.sess, wrapMech, w.kek, wrapped, unwrapTemplate)
		if err != nil {
			// SoftHSM 2.6.1 reports a failed RFC 5649 integrity check
			// (another KEK, altered bytes) as CKR_GENERAL_ERROR, not
			// CKR_WRAPPED_KEY_INVALID.
			if isCKR(err, pkcs11.CKR_WRAPPED_KEY_INVALID, pkcs11.CKR_ENCRYPTED_DATA_INVALID, pkcs11.CKR_WRAPPED_KEY_LEN_RANGE,
				pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE, pkcs11.CKR_GENERAL_ERROR) {
				return fmt.Errorf("signer: %s: C_UnwrapKey: %w: %w", w.uri, err, ErrUnwrap)
			}
			return fmt.Errorf("signer: %s: C_UnwrapKey: %w", w.uri, err)
		}
		defer w.mod.ctx.DestroyObject(w.sess, obj)
		var got C.hf_ulong
		rv := C.hf_read_value(w.funcs, C.hf_ulong(w.sess), C.hf_ulong(obj), unsafe.Pointer(&dst[0]), C.hf_ulong(len(dst)), &got)
		if rv != 0 {
			clear(dst)
			if rv == C.HF_CKR_BUFFER_TOO_SMALL {
				return fmt.Errorf("signer: %s: the unwrapped key does not fit in %d bytes", w.uri, len(dst))
			}
			return fmt.Errorf("signer: %s: C_GetAttributeValue(CKA_VALUE) of the unwrapped key: %w", w.uri, pkcs11.Error(rv))
		}
		n = int(got)
		return nil
	})
	if err != nil {
		clear(dst)
		return 0, err
	}
	return n, nil
}

// Close closes the session and releases the module. It waits for an
// operation in progress.
func (w *p11Wrapper) Close() error {
	<-w.turn
	defer w.give()
	if w.closed {
		return nil
	}
	w.closed = true
	w.detach()
	if w.dl != nil {
		C.hf_close(w.dl)
		w.dl = nil
	}
	w.pin.Free()
	releaseModule(w.modPath, w.mod)
	return nil
}

// loginModule logs session s of module m in as the user with
// the PIN in pin (nil: an empty PIN, for tokens with a protected
// authentication path), reading it from locked memory in C.
func loginModule(m *p11Module, s pkcs11.SessionHandle, pin *mem.Secret) error {
	cpath := C.CString(m.path)
	defer C.free(unsafe.Pointer(cpath))
	var ptr *C.uchar
	var n C.hf_ulong
	if pin != nil && pin.Len() > 0 {
		ptr, n = (*C.uchar)(unsafe.Pointer(&pin.Bytes()[0])), C.hf_ulong(pin.Len())
	}
	var loaded C.int
	rv := C.hf_login(cpath, C.hf_ulong(s), C.hf_ulong(pkcs11.CKU_USER), ptr, n, &loaded)
	if loaded == 0 {
		return fmt.Errorf("the module is not loaded in this process")
	}
	if rv != 0 {
		return pkcs11.Error(rv)
	}
	return nil
}

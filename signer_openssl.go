//go:build cgo && unix && !darwin

package holdfast

/*
#cgo LDFLAGS: -lcrypto
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

enum { HF_OK = 0, HF_ERR = 1, HF_NO_KEY = 2, HF_PROVIDER = 3 };

// hf_key is what the process keeps of an opened key: a reference to the
// EVP_PKEY (whose private half stays inside its provider), the library
// context and providers it came from, and its public half.
typedef struct {
	EVP_PKEY *pkey;
	OSSL_LIB_CTX *lib; // NULL: OpenSSL's default library context
	OSSL_PROVIDER **provs;
	int nprovs;
	char *propq;
	unsigned char *pub; // SubjectPublicKeyInfo, DER
	int publen;
	int maxout; // largest signature or plaintext
	int builtin; // held by OpenSSL's own default or fips provider
} hf_key;

// hf_pass hands a passphrase held in locked memory to OpenSSL's
// passphrase callback; asked records that the store wanted one.
typedef struct {
	const unsigned char *pass;
	int len;
	int asked;
} hf_pass;

// hf_errors drains this thread's OpenSSL error queue into a string the
// caller frees (NULL if out of memory). It runs in the same C call as the
// failing operation: the queue is per thread, and a goroutine may move to
// another thread between two cgo calls. Only failures pay for the buffer.
// step names the call that failed, for providers that fail without
// queueing an error.
static char *hf_errors(const char *step) {
	size_t len = 1024, used = 0;
	char *buf = malloc(len);
	unsigned long e;
	const char *data;
	int flags;
	if (buf != NULL)
		buf[0] = 0;
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		char one[256];
		int n;
		if (buf == NULL || used + 1 >= len)
			continue; // keep draining so that nothing is left for the next call
		ERR_error_string_n(e, one, sizeof one);
		if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != 0)
			n = snprintf(buf + used, len - used, "%s%s (%s)", used ? "; " : "", one, data);
		else
			n = snprintf(buf + used, len - used, "%s%s", used ? "; " : "", one);
		if (n > 0)
			used += (size_t)n < len - used ? (size_t)n : len - used - 1;
	}
	if (buf != NULL && step != NULL) {
		if (used == 0)
			snprintf(buf, len, "%s failed (the provider queued no error)", step);
		else if (used + 1 < len)
			snprintf(buf + used, len - used, " [in %s]", step);
	}
	return buf;
}

static int hf_pass_cb(char *buf, int size, int rwflag, void *u) {
	hf_pass *p = u;
	(void)rwflag;
	if (p == NULL)
		return -1;
	p->asked = 1;
	if (p->pass == NULL || p->len > size)
		return -1;
	memcpy(buf, p->pass, (size_t)p->len);
	return p->len;
}

static void hf_free(hf_key *k) {
	int i;
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	OPENSSL_free(k->pub);
	free(k->propq);
	// Providers go after every object they made, the library context last.
	for (i = k->nprovs - 1; i >= 0; i--)
		OSSL_PROVIDER_unload(k->provs[i]);
	free(k->provs);
	OSSL_LIB_CTX_free(k->lib);
	free(k);
}

// hf_open loads the first private key the store URI yields. On HF_PROVIDER
// *badprov is the index of the provider that did not load.
static int hf_open(const char *uri, char **provs, int nprovs, const char *propq,
		const unsigned char *pass, int passlen, int *asked, int *badprov,
		hf_key **out, char **err) {
	hf_key *k;
	UI_METHOD *ui = NULL;
	OSSL_STORE_CTX *st = NULL;
	hf_pass pw = { pass, passlen, 0 };
	int rc = HF_ERR, i;
	const OSSL_PROVIDER *owner;

	ERR_clear_error();
	*out = NULL;
	k = calloc(1, sizeof *k);
	if (k == NULL)
		return HF_ERR;
	if (nprovs > 0) {
		if ((k->lib = OSSL_LIB_CTX_new()) == NULL)
			goto fail;
		if ((k->provs = calloc((size_t)nprovs, sizeof *k->provs)) == NULL)
			goto fail;
		for (i = 0; i < nprovs; i++) {
			if ((k->provs[i] = OSSL_PROVIDER_load(k->lib, provs[i])) == NULL) {
				*badprov = i;
				rc = HF_PROVIDER;
				goto fail;
			}
			k->nprovs = i + 1;
		}
	}
	if (propq != NULL && (k->propq = strdup(propq)) == NULL)
		goto fail;
	// Always a callback of ours, never OpenSSL's default UI: a server must
	// not stop to prompt on a terminal.
	if ((ui = UI_UTIL_wrap_read_pem_callback(hf_pass_cb, 0)) == NULL)
		goto fail;
	st = OSSL_STORE_open_ex(uri, k->lib, k->propq, ui, &pw, NULL, NULL, NULL);
	if (st == NULL)
		goto fail;
	// Not every loader can filter; the type is checked below either way.
	if (OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY) != 1)
		ERR_clear_error();
	while (k->pkey == NULL && !OSSL_STORE_eof(st)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(st);
		if (info == NULL)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			k->pkey = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	if (k->pkey == NULL) {
		if (ERR_peek_error() == 0)
			rc = HF_NO_KEY;
		goto fail;
	}
	ERR_clear_error(); // what the loaders tried and skipped
	if ((k->publen = i2d_PUBKEY(k->pkey, &k->pub)) <= 0)
		goto fail;
	k->maxout = EVP_PKEY_get_size(k->pkey);
	owner = EVP_PKEY_get0_provider(k->pkey);
	if (owner != NULL) {
		const char *name = OSSL_PROVIDER_get0_name(owner);
		k->builtin = strcmp(name, "default") == 0 || strcmp(name, "fips") == 0;
	}
	OSSL_STORE_close(st);
	UI_destroy_method(ui);
	*asked = pw.asked;
	*out = k;
	return HF_OK;
fail:
	*err = hf_errors(NULL);
	*asked = pw.asked;
	OSSL_STORE_close(st);
	UI_destroy_method(ui);
	hf_free(k);
	return rc;
}

// hf_sign signs a digest with EVP_PKEY_sign; with md NULL (Ed25519) it
// signs the message in one EVP_DigestSign call. Each call has its own
// EVP_PKEY_CTX, so one key serves any number of threads.
static int hf_sign(hf_key *k, const char *md, int pad, int saltlen,
		const unsigned char *tbs, size_t tbslen, unsigned char *sig, size_t *siglen, char **err) {
	const char *step;
	int ok;
	ERR_clear_error();
	if (md == NULL) {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		ok = m != NULL &&
			(step = "EVP_DigestSignInit_ex", EVP_DigestSignInit_ex(m, NULL, NULL, k->lib, k->propq, k->pkey, NULL) == 1) &&
			(step = "EVP_DigestSign", EVP_DigestSign(m, sig, siglen, tbs, tbslen) == 1);
		EVP_MD_CTX_free(m);
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(k->lib, k->pkey, k->propq);
		OSSL_PARAM p[2];
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)md, 0);
		p[1] = OSSL_PARAM_construct_end();
		step = "EVP_PKEY_sign_init";
		ok = c != NULL && EVP_PKEY_sign_init(c) == 1;
		// The padding goes first: it decides which other parameters exist.
		if (ok && pad != 0)
			ok = (step = "EVP_PKEY_CTX_set_rsa_padding", EVP_PKEY_CTX_set_rsa_padding(c, pad) == 1);
		if (ok)
			ok = (step = "setting the signature digest", EVP_PKEY_CTX_set_params(c, p) == 1);
		if (ok && pad == RSA_PKCS1_PSS_PADDING)
			ok = (step = "EVP_PKEY_CTX_set_rsa_pss_saltlen", EVP_PKEY_CTX_set_rsa_pss_saltlen(c, saltlen) == 1);
		// MGF1 uses the signature's hash. A provider that cannot set it
		// (tpm2 cannot: the TPM always does so) is left to its default;
		// the probe at open verifies what it makes.
		if (ok && pad == RSA_PKCS1_PSS_PADDING &&
				OSSL_PARAM_locate_const(EVP_PKEY_CTX_settable_params(c), OSSL_SIGNATURE_PARAM_MGF1_DIGEST) != NULL)
			ok = (step = "EVP_PKEY_CTX_set_rsa_mgf1_md_name", EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, md, NULL) == 1);
		if (ok)
			ok = (step = "EVP_PKEY_sign", EVP_PKEY_sign(c, sig, siglen, tbs, tbslen) == 1);
		EVP_PKEY_CTX_free(c);
	}
	if (!ok) {
		*err = hf_errors(step);
		return HF_ERR;
	}
	return HF_OK;
}

// hf_mask is 0xff when a equals b and 0 otherwise, without a branch.
static unsigned char hf_mask(size_t a, size_t b) {
	size_t x = a ^ b;
	size_t differ = (x | (0 - x)) >> (sizeof(size_t) * 8 - 1);
	return (unsigned char)(differ - 1);
}

// hf_decrypt is RSA PKCS #1 v1.5 decryption. With a fallback (crypto/rsa's
// SessionKeyLen), a bad padding or length is answered with the fallback
// bytes, chosen without a branch on the result and with the error queue
// cleared either way, so that TLS key transport leaks no padding oracle.
static int hf_decrypt(hf_key *k, const unsigned char *in, size_t inlen,
		unsigned char *out, size_t *outlen, const unsigned char *fallback, size_t fblen, char **err) {
	EVP_PKEY_CTX *c;
	int r;
	size_t i;
	unsigned char good;
	ERR_clear_error();
	c = EVP_PKEY_CTX_new_from_pkey(k->lib, k->pkey, k->propq);
	if (c == NULL || EVP_PKEY_decrypt_init(c) != 1 || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1) {
		*err = hf_errors("EVP_PKEY_decrypt_init");
		EVP_PKEY_CTX_free(c);
		return HF_ERR;
	}
	r = EVP_PKEY_decrypt(c, out, outlen, in, inlen);
	EVP_PKEY_CTX_free(c);
	if (fallback == NULL) {
		if (r != 1) {
			*err = hf_errors("EVP_PKEY_decrypt");
			return HF_ERR;
		}
		return HF_OK;
	}
	good = hf_mask((size_t)r, 1) & hf_mask(*outlen, fblen);
	for (i = 0; i < fblen; i++)
		out[i] = (unsigned char)((out[i] & good) | (fallback[i] & (unsigned char)~good));
	*outlen = fblen;
	ERR_clear_error();
	return HF_OK;
}
*/
import "C"

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/holdfast-tls/holdfast/internal/offthread"
	"github.com/holdfast-tls/holdfast/mem"
	"github.com/holdfast-tls/holdfast/signer"
)

func init() { signer.Register("openssl", openOpenSSL) }

// maxPassphrase bounds a pass-source file; OpenSSL's PEM passphrases are
// shorter still (PEM_BUFSIZE).
const maxPassphrase = 1024

// opensslKey is a private key held by OpenSSL 3 or one of its providers
// (a TPM through tpm2-openssl, a PKCS#11 token through pkcs11-provider).
// The process keeps only an EVP_PKEY reference: the key's bytes stay
// where the provider keeps them (for the default provider, OpenSSL's own
// heap, which it cleanses when the key is freed).
type opensslKey struct {
	mu      sync.RWMutex // Close waits for operations in flight
	h       *C.hf_key
	serial  chan struct{} // nil, or the turn to use a provider that is not thread-safe
	cleanup runtime.Cleanup
	uri     string // for errors; it holds no secret
	public  crypto.PublicKey
	maxOut  int
	schemes []uint16
}

// opensslLeftover is what the cleanup of an unclosed key frees.
type opensslLeftover struct {
	h      *C.hf_key
	serial chan struct{}
}

// opensslRSAKey is an RSA opensslKey, which can also decrypt (TLS 1.2 RSA
// key transport).
type opensslRSAKey struct{ *opensslKey }

// defaultCtxTurn serialises calls into third-party providers loaded in
// OpenSSL's default library context (by openssl.cnf), which all keys opened
// without provider parameters share.
var defaultCtxTurn = make(chan struct{}, 1)

// turn waits, bounded by ctx, for the key's turn to call its provider, and
// returns the function that ends it. OpenSSL's own providers need no turn.
func (k *opensslKey) turn(ctx context.Context) (func(), error) {
	if k.serial == nil {
		return func() {}, nil
	}
	select {
	case k.serial <- struct{}{}:
		return func() { <-k.serial }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("signer: %s: waiting for the provider: %w", k.uri, ctx.Err())
	}
}

// mdNames are OpenSSL's digest names, made once and never freed.
var mdNames = map[crypto.Hash]*C.char{
	crypto.SHA1:   C.CString("SHA1"),
	crypto.SHA224: C.CString("SHA224"),
	crypto.SHA256: C.CString("SHA256"),
	crypto.SHA384: C.CString("SHA384"),
	crypto.SHA512: C.CString("SHA512"),
}

// openOpenSSL opens "openssl:" URIs; the grammar is opensslURI's.
func openOpenSSL(ctx context.Context, raw string) (signer.Key, error) {
	u, err := parseOpenSSLURI(raw)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signer: %s: %w", raw, err)
	}
	var pass *mem.Secret
	if u.passSource != "" {
		if pass, err = readPassphrase(u.passSource[len("file:"):]); err != nil {
			return nil, fmt.Errorf("signer: %s: pass-source: %w", raw, err)
		}
		defer pass.Free()
	}

	cstore := C.CString(u.store)
	defer C.free(unsafe.Pointer(cstore))
	var cpropq *C.char
	if u.propq != "" {
		cpropq = C.CString(u.propq)
		defer C.free(unsafe.Pointer(cpropq))
	}
	var cprovs **C.char
	if n := len(u.providers); n > 0 {
		// The array lives in C memory: cgo forbids passing Go memory that
		// holds pointers.
		cprovs = (**C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
		list := unsafe.Slice(cprovs, n)
		for i, p := range u.providers {
			list[i] = C.CString(p)
		}
		defer func() {
			for _, p := range list {
				C.free(unsafe.Pointer(p))
			}
			C.free(unsafe.Pointer(cprovs))
		}()
	}
	// The passphrase stays in its locked slot; OpenSSL's callback copies it
	// into OpenSSL's own buffer, which OpenSSL cleanses after use. The slot
	// is mmap'ed memory outside the Go heap, so C may read it.
	var cpass *C.uchar
	var passLen C.int
	if pass != nil {
		cpass = (*C.uchar)(unsafe.Pointer(unsafe.SliceData(pass.Bytes())))
		passLen = C.int(pass.Len())
	}
	var h *C.hf_key
	var asked, badProv C.int
	var cerr *C.char
	if len(u.providers) == 0 {
		// The store may be a third-party provider's in the shared default
		// context: take its turn (see defaultCtxTurn).
		defaultCtxTurn <- struct{}{}
	}
	rc := C.hf_open(cstore, cprovs, C.int(len(u.providers)), cpropq, cpass, passLen, &asked, &badProv, &h, &cerr)
	if len(u.providers) == 0 {
		<-defaultCtxTurn
	}
	msg := opensslText(cerr)
	switch rc {
	case C.HF_OK:
	case C.HF_PROVIDER:
		return nil, fmt.Errorf("signer: %s: loading OpenSSL provider %q: %s", raw, u.providers[badProv], msg)
	case C.HF_NO_KEY:
		return nil, fmt.Errorf("signer: %s: the store holds no private key", raw)
	default:
		switch {
		case asked != 0 && pass == nil:
			return nil, fmt.Errorf("signer: %s: the key is protected by a passphrase: add #pass-source=file:PATH (OpenSSL: %s)", raw, msg)
		case asked != 0:
			return nil, fmt.Errorf("signer: %s: cannot load the key with the passphrase from %s (wrong passphrase?): %s", raw, u.passSource, msg)
		}
		return nil, fmt.Errorf("signer: %s: loading the key through OSSL_STORE: %s", raw, msg)
	}
	k := &opensslKey{h: h, uri: raw, maxOut: int(h.maxout)}
	if h.builtin == 0 {
		// A third-party provider need not be thread-safe, and tpm2-openssl
		// is not (one ESYS context per provider instance: concurrent signs
		// fail with "Esys called in bad sequence"). Its calls take turns:
		// per key when the key has its own library context (providers
		// from the URI), across all such keys in the shared default one.
		k.serial = defaultCtxTurn
		if len(u.providers) > 0 {
			k.serial = make(chan struct{}, 1)
		}
	}
	// A key dropped without Close is freed when collected, taking its
	// provider turn like Close does.
	k.cleanup = runtime.AddCleanup(k, func(c opensslLeftover) {
		if c.serial != nil {
			c.serial <- struct{}{}
			defer func() { <-c.serial }()
		}
		C.hf_free(c.h)
	}, opensslLeftover{h, k.serial})
	if err := k.describe(); err != nil {
		k.Close()
		return nil, err
	}
	if _, ok := k.public.(*rsa.PublicKey); ok {
		return opensslRSAKey{k}, nil
	}
	return k, nil
}

// readPassphrase reads a passphrase file into locked memory, without its
// trailing newline.
func readPassphrase(path string) (*mem.Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() == 0 || st.Size() > maxPassphrase {
		return nil, fmt.Errorf("%s: want a regular file of 1 to %d bytes, have %d bytes (%v)", path, maxPassphrase, st.Size(), st.Mode())
	}
	buf, err := mem.New(int(st.Size()))
	if err != nil {
		return nil, err
	}
	defer buf.Free()
	if _, err := io.ReadFull(f, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	b := buf.Bytes()
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
	}
	if n > 0 && b[n-1] == '\r' {
		n--
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds an empty passphrase", path)
	}
	return mem.NewCopy(b[:n])
}

// opensslText takes and frees the error text a C call made.
func opensslText(p *C.char) string {
	if p == nil {
		return "no OpenSSL error recorded"
	}
	defer C.free(unsafe.Pointer(p))
	if s := C.GoString(p); s != "" {
		return s
	}
	return "no OpenSSL error recorded"
}

// describe reads the public half and works out which TLS signature
// schemes the key can make.
func (k *opensslKey) describe() error {
	der := C.GoBytes(unsafe.Pointer(k.h.pub), k.h.publen)
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("signer: %s: the key's public half is not an ECDSA, RSA or Ed25519 key Go can use: %w", k.uri, err)
	}
	k.public = pub
	candidates := tlsSchemesFor(pub)
	if candidates == nil {
		return fmt.Errorf("signer: %s: %T keys (or their curve) are not supported", k.uri, pub)
	}
	for _, c := range candidates {
		// OpenSSL's own providers make every scheme the key type allows. A
		// provider's device may refuse one or make it differently (a TPM
		// may sign PSS only with the longest salt, which TLS rejects):
		// sign once with each and keep those whose signature verifies.
		if k.h.builtin != 0 || probeScheme(k, c) == nil {
			k.schemes = append(k.schemes, c.scheme)
		}
	}
	if len(k.schemes) == 0 {
		return fmt.Errorf("signer: %s: the key made no TLS signature that verifies", k.uri)
	}
	return nil
}

// SignatureSchemes lists the TLS signature schemes the key makes (see
// signer.SchemeLimiter); for a key in a provider other than OpenSSL's own,
// the list is what signed and verified when the key was opened.
func (k *opensslKey) SignatureSchemes() []uint16 { return append([]uint16(nil), k.schemes...) }

// Public returns the key's public half.
func (k *opensslKey) Public() crypto.PublicKey { return k.public }

// Sign is SignContext without a deadline.
func (k *opensslKey) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rnd, digest, opts)
}

// SignContext signs a digest (ECDSA, RSA PKCS #1 v1.5, RSA-PSS with
// *rsa.PSSOptions) or, for Ed25519, a message with crypto.Hash(0). The
// context is checked before the call; an OpenSSL call cannot be
// interrupted once started. Randomness is OpenSSL's, so rnd is unused.
func (k *opensslKey) SignContext(ctx context.Context, _ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signer: %s: signature not started: %w", k.uri, err)
	}
	if nilOpts(opts) {
		return nil, fmt.Errorf("signer: %s: no signer options (want a crypto.Hash or *rsa.PSSOptions)", k.uri)
	}
	h := opts.HashFunc()
	var md *C.char
	pad, salt := C.int(0), C.int(0)
	switch pub := k.public.(type) {
	case ed25519.PublicKey:
		if eo, ok := opts.(*ed25519.Options); h != 0 || ok && (eo.Hash != 0 || eo.Context != "") {
			return nil, fmt.Errorf("signer: %s: Ed25519 signs the message itself (crypto.Hash(0), no context); Ed25519ph and Ed25519ctx are not supported", k.uri)
		}
	case *ecdsa.PublicKey, *rsa.PublicKey:
		if md = mdNames[h]; md == nil {
			return nil, fmt.Errorf("signer: %s: hash %v is not supported (want SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512)", k.uri, h)
		}
		if len(digest) != h.Size() {
			return nil, fmt.Errorf("signer: %s: digest is %d bytes, %v needs %d", k.uri, len(digest), h, h.Size())
		}
		pso, pss := opts.(*rsa.PSSOptions)
		if _, isRSA := pub.(*rsa.PublicKey); !isRSA {
			if pss {
				return nil, fmt.Errorf("signer: %s: RSA-PSS options for an ECDSA key", k.uri)
			}
		} else if pss {
			pad = C.RSA_PKCS1_PSS_PADDING
			switch {
			case pso.SaltLength == rsa.PSSSaltLengthEqualsHash:
				salt = C.RSA_PSS_SALTLEN_DIGEST
			case pso.SaltLength == rsa.PSSSaltLengthAuto:
				salt = C.RSA_PSS_SALTLEN_MAX // what crypto/rsa signs with
			case pso.SaltLength > 0:
				salt = C.int(pso.SaltLength)
			default:
				return nil, fmt.Errorf("signer: %s: invalid PSS salt length %d", k.uri, pso.SaltLength)
			}
		} else {
			pad = C.RSA_PKCS1_PADDING
		}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.h == nil {
		return nil, fmt.Errorf("%s: %w", k.uri, signer.ErrClosed)
	}
	done, err := k.turn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return k.sign(md, pad, salt, digest)
}

func (k *opensslKey) sign(md *C.char, pad, salt C.int, tbs []byte) ([]byte, error) {
	sig := make([]byte, k.maxOut)
	sigLen := C.size_t(len(sig))
	var cerr *C.char
	var rc C.int
	k.call(func() {
		rc = C.hf_sign(k.h, md, pad, salt, cBytes(tbs), C.size_t(len(tbs)),
			(*C.uchar)(unsafe.Pointer(&sig[0])), &sigLen, &cerr)
	})
	if rc != C.HF_OK {
		return nil, fmt.Errorf("signer: %s: signing: %s", k.uri, opensslText(cerr))
	}
	return sig[:sigLen], nil
}

// call runs a sign or decrypt call into OpenSSL. A third-party
// provider's key (a TPM, an HSM) may take milliseconds, so its calls go
// off-thread and the runtime keeps polling the network meanwhile (package
// offthread). OpenSSL's own providers answer in microseconds and run on
// the caller's thread: a thread switch would cost more than it saves, and
// glibc would give every thread that mallocs an arena of its own.
func (k *opensslKey) call(c func()) {
	if k.h.builtin != 0 {
		c()
		return
	}
	offthread.Run(func() error { c(); return nil })
}

// cBytes points C at b; an empty b (an empty Ed25519 message) gets a valid
// pointer all the same.
func cBytes(b []byte) *C.uchar {
	if len(b) == 0 {
		return (*C.uchar)(unsafe.Pointer(&emptyInput))
	}
	return (*C.uchar)(unsafe.Pointer(unsafe.SliceData(b)))
}

var emptyInput byte

// Decrypt is RSA PKCS #1 v1.5 decryption in OpenSSL, for TLS 1.2 RSA key
// transport. With *rsa.PKCS1v15DecryptOptions and a SessionKeyLen, a bad
// ciphertext gives random bytes of that length and no error, as
// crypto/rsa does, chosen in constant time inside the C call; otherwise a
// bad ciphertext is an error. OAEP is not supported.
func (k opensslRSAKey) Decrypt(rnd io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	if len(ciphertext) == 0 {
		return nil, fmt.Errorf("signer: %s: empty ciphertext", k.uri)
	}
	_, fallback, err := pkcs1DecryptPlan(k.uri, k.maxOut, rnd, opts)
	if err != nil {
		return nil, err
	}
	var cfb *C.uchar
	if fallback != nil {
		defer clear(fallback)
		cfb = cBytes(fallback)
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.h == nil {
		return nil, fmt.Errorf("%s: %w", k.uri, signer.ErrClosed)
	}
	done, err := k.turn(context.Background())
	if err != nil {
		return nil, err
	}
	defer done()
	out := make([]byte, k.maxOut)
	outLen := C.size_t(len(out))
	var cerr *C.char
	var rc C.int
	k.call(func() {
		rc = C.hf_decrypt(k.h, cBytes(ciphertext), C.size_t(len(ciphertext)), (*C.uchar)(unsafe.Pointer(&out[0])), &outLen,
			cfb, C.size_t(len(fallback)), &cerr)
	})
	if rc != C.HF_OK {
		clear(out)
		return nil, fmt.Errorf("signer: %s: decrypting: %s", k.uri, opensslText(cerr))
	}
	clear(out[outLen:])
	return out[:outLen], nil
}

// Close frees the EVP_PKEY, then unloads the key's providers and frees its
// library context. Operations in flight finish first; it is safe to call
// more than once.
func (k *opensslKey) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.h == nil {
		return nil
	}
	k.cleanup.Stop()
	// Freeing a provider's key may call into the provider (tpm2 flushes
	// the TPM object), so it takes a turn too.
	done, _ := k.turn(context.Background())
	C.hf_free(k.h)
	done()
	k.h = nil
	return nil
}

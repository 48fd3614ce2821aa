package signer

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// KeyWrapper encrypts small secrets, such as session-ticket keys, under a
// key-encryption key (KEK) that stays in its backend, so the wrapped form
// can be stored where the secret itself must never be (a shared database
// and its backups). Wrapping is authenticated: a wrapped key that was
// altered, or wrapped under another KEK, does not unwrap.
type KeyWrapper interface {
	// Wrap returns key wrapped under the KEK. key is only read; callers
	// pass locked memory (mem.Secret.Bytes). Its length must be a
	// multiple of 8 bytes (a ticket key is 32).
	Wrap(ctx context.Context, key []byte) ([]byte, error)
	// Unwrap writes the key that wrapped holds into dst and returns its
	// length. dst should be locked memory: the backend writes the key
	// there directly, without a copy on the Go heap. On error dst is
	// cleared.
	Unwrap(ctx context.Context, wrapped []byte, dst []byte) (int, error)
	// Close releases the backend's sessions; it is safe to call twice.
	Close() error
}

// ErrUnwrap is wrapped by Unwrap's error when the backend verified the
// wrapped key and refused it: it was altered, or wrapped under another
// key-encryption key. Retrying cannot help; other errors (a token gone, a
// session lost) may pass. SoftHSM 2.6.1 reports a failed integrity check
// as CKR_GENERAL_ERROR, so that code counts here too.
var ErrUnwrap = errors.New("signer: the wrapped key does not unwrap under this key-encryption key")

// wrapperOpeners holds the backends that can wrap keys, by URI scheme;
// backends built only with cgo add themselves from init.
var wrapperOpeners = map[string]func(ctx context.Context, uri string) (KeyWrapper, error){}

// OpenWrapper opens the key-encryption key a URI names. "pkcs11:" URIs
// name an AES secret key on a token (type=secret-key, CKA_WRAP and
// CKA_UNWRAP set), used with CKM_AES_KEY_WRAP_PAD (RFC 5649), e.g.
//
//	pkcs11:token=farm;object=ticket-kek;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/holdfast/pin
func OpenWrapper(ctx context.Context, uri string) (KeyWrapper, error) {
	scheme, _, ok := strings.Cut(uri, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("signer: %q is not a key-encryption key URI (want pkcs11:...)", redactURI(uri))
	}
	open := wrapperOpeners[scheme]
	if open == nil {
		return nil, fmt.Errorf("signer: no key-wrapping backend for scheme %q in %q (this build wraps with: %s)", scheme, redactURI(uri), wrapSchemes())
	}
	return open(ctx, uri)
}

func wrapSchemes() string {
	if len(wrapperOpeners) == 0 {
		return "none; pkcs11: needs a cgo build on Unix"
	}
	var names []string
	for s := range wrapperOpeners {
		names = append(names, s+":")
	}
	return strings.Join(names, ", ")
}

package signer

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
)

// Key is an opened private key.
type Key interface {
	crypto.Signer
	// SignContext is Sign bounded by ctx; backends that talk to a device
	// pass the deadline and cancellation on.
	SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error)
	// Close releases the key and wipes whatever the process held of it.
	Close() error
}

// SchemeLimiter is implemented by keys whose backend can make only some of
// the signatures their key type allows: an HSM whose RSA key may not sign
// RSA-PSS, a TPM that signs PSS only with the maximum salt length. The TLS
// engine offers and accepts only the listed schemes for such a key, so it
// never starts a handshake the key cannot finish.
type SchemeLimiter interface {
	// SignatureSchemes lists the TLS SignatureScheme code points (RFC 8446
	// §4.2.3, e.g. 0x0804 for rsa_pss_rsae_sha256, 0x0401 for
	// rsa_pkcs1_sha256) that the key can produce. The list is fixed when
	// the key is opened.
	SignatureSchemes() []uint16
}

// TLS SignatureScheme code points (RFC 8446 §4.2.3) for SchemeLimiter
// implementations.
const (
	RSAPKCS1SHA256   uint16 = 0x0401
	RSAPKCS1SHA384   uint16 = 0x0501
	RSAPKCS1SHA512   uint16 = 0x0601
	ECDSAP256SHA256  uint16 = 0x0403
	ECDSAP384SHA384  uint16 = 0x0503
	ECDSAP521SHA512  uint16 = 0x0603
	RSAPSSRSAESHA256 uint16 = 0x0804
	RSAPSSRSAESHA384 uint16 = 0x0805
	RSAPSSRSAESHA512 uint16 = 0x0806
	Ed25519          uint16 = 0x0807
	RSAPSSPSSSHA256  uint16 = 0x0809
	RSAPSSPSSSHA384  uint16 = 0x080a
	RSAPSSPSSSHA512  uint16 = 0x080b
)

// Opener opens a key for one URI scheme.
type Opener func(ctx context.Context, uri string) (Key, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a URI scheme available to Open. Backends call it from
// init; registering a scheme twice panics.
func Register(scheme string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("signer: scheme " + scheme + " registered twice")
	}
	registry[scheme] = open
}

// Open opens the key a URI names, such as "file:/etc/holdfast/key.pem".
func Open(ctx context.Context, uri string) (Key, error) {
	scheme, _, ok := strings.Cut(uri, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("signer: %q is not a key URI (want scheme:..., e.g. file:/path/key.pem)", redactURI(uri))
	}
	registryMu.RLock()
	open := registry[scheme]
	registryMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("signer: no backend for scheme %q in %q (this build has: %s)", scheme, redactURI(uri), schemes())
	}
	return open(ctx, uri)
}

func schemes() string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	var names []string
	for s := range registry {
		names = append(names, s+":")
	}
	return strings.Join(names, ", ")
}

// redactURI removes PIN-like query values from a URI before it is shown.
func redactURI(uri string) string {
	base, query, ok := strings.Cut(uri, "?")
	if !ok {
		return uri
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return base + "?[unparsed query redacted]"
	}
	for k := range vals {
		if strings.Contains(strings.ToLower(k), "pin") || strings.Contains(strings.ToLower(k), "pass") {
			vals[k] = []string{"redacted"}
		}
	}
	return base + "?" + vals.Encode()
}

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

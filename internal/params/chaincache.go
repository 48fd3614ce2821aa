package params

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"
)

// Verified-chain cache. A client that talks to the same server again (or
// a server whose clients come back) receives the same certificate chain,
// and parsing it and checking every signature on it again is the largest
// share of a handshake's CPU after the key exchange and the handshake
// signature. The cache remembers the outcome of a successful
// verification, keyed by the exact DER bytes of the chain, the side and
// the name it was verified for; the CertificateVerify signature, which
// proves the peer holds the key, is checked in every handshake, and so is
// the VerifyPeerCertificate hook. An entry is used only while the time
// is inside every certificate's validity and for at most ChainCacheTTL
// after the verification, so a certificate that expires, or a root the
// application removes from its pool, stops being trusted within the TTL.

// ChainCacheTTL bounds how long a verification is reused.
const ChainCacheTTL = time.Hour

// ChainCache is a bounded set of verified chains, safe for concurrent
// use. A nil *ChainCache caches nothing.
type ChainCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]*verifiedChain
}

type verifiedChain struct {
	certs     []*x509.Certificate
	chains    [][]*x509.Certificate
	notBefore time.Time // the latest NotBefore in certs
	notAfter  time.Time // the earliest NotAfter in certs, capped at verification + TTL
}

// NewChainCache returns a cache of at most max chains.
func NewChainCache(max int) *ChainCache {
	return &ChainCache{max: max, entries: make(map[[32]byte]*verifiedChain)}
}

// chainKey identifies a chain as received, the side that sent it and the
// name it must be valid for.
func chainKey(raw [][]byte, peerIsServer bool, serverName string) [32]byte {
	h := sha256.New()
	var b [4]byte
	if peerIsServer {
		b[0] = 1
	}
	h.Write(b[:1])
	binary.BigEndian.PutUint32(b[:], uint32(len(serverName)))
	h.Write(b[:])
	h.Write([]byte(serverName))
	for _, der := range raw {
		binary.BigEndian.PutUint32(b[:], uint32(len(der)))
		h.Write(b[:])
		h.Write(der)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// get returns the verification of key if there is one valid at now.
func (c *ChainCache) get(key [32]byte, now time.Time) ([]*x509.Certificate, [][]*x509.Certificate, bool) {
	if c == nil {
		return nil, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, nil, false
	}
	if now.Before(e.notBefore) || now.After(e.notAfter) {
		delete(c.entries, key)
		return nil, nil, false
	}
	return e.certs, e.chains, true
}

// put remembers a chain verified at now.
func (c *ChainCache) put(key [32]byte, now time.Time, certs []*x509.Certificate, chains [][]*x509.Certificate) {
	if c == nil || c.max <= 0 {
		return
	}
	e := &verifiedChain{certs: certs, chains: chains, notAfter: now.Add(ChainCacheTTL)}
	for _, chain := range append([][]*x509.Certificate{certs}, chains...) {
		for _, cert := range chain {
			if cert.NotBefore.After(e.notBefore) {
				e.notBefore = cert.NotBefore
			}
			if cert.NotAfter.Before(e.notAfter) {
				e.notAfter = cert.NotAfter
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if len(c.entries) < c.max {
			break
		}
		// Full: drop an arbitrary entry (map order is random), which
		// keeps the bound without bookkeeping on every hit.
		delete(c.entries, k)
	}
	c.entries[key] = e
}

// Len reports how many chains the cache holds.
func (c *ChainCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

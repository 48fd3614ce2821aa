package params

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
)

// KnownChains is a client's store of the server messages it has received
// in completed handshakes (Certificate, and in TLS 1.2 CertificateRequest),
// by server name and cached-info type, so that it can name them in
// cached_info (RFC 7924) and accept a server's digest in their place. Only a handshake that finished (the server proved it holds
// the chain's key and the transcript is authenticated) adds a message, so
// an attacker cannot plant one. It is bounded and safe for concurrent
// use.
type KnownChains struct {
	mu      sync.Mutex
	max     int
	perName int
	byName  map[string][]knownChain
	n       int
}

type knownChain struct {
	digest [32]byte
	msg    []byte      // the Certificate message, header included
	certs  []knownCert // its certificates, each with its digest (knownchains_certs.go)
}

// NewKnownChains returns a store of at most max messages, at most two per
// server name (a server in the middle of a certificate rollover may send
// either).
func NewKnownChains(max int) *KnownChains {
	return &KnownChains{max: max, perName: 2, byName: map[string][]knownChain{}}
}

// KnownTLS12 is added to a cached-info type to keep TLS 1.2 messages
// apart from TLS 1.3 ones in KnownChains: the two versions' Certificate
// messages differ, so their digests do too.
const KnownTLS12 uint8 = 0x80

// knownKey is the store's key: the cached-info type, then the name.
func knownKey(name string, typ uint8) string { return string(rune(typ)) + name }

// Digests returns the SHA-256 digests of the messages of type typ known
// for name, newest first.
func (k *KnownChains) Digests(name string, typ uint8) [][]byte {
	if k == nil || name == "" {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var out [][]byte
	for _, c := range k.byName[knownKey(name, typ)] {
		d := c.digest
		out = append(out, d[:])
	}
	return out
}

// Lookup returns the message of type typ known for name with the given
// digest.
func (k *KnownChains) Lookup(name string, typ uint8, digest []byte) ([]byte, bool) {
	if k == nil {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.byName[knownKey(name, typ)] {
		if string(c.digest[:]) == string(digest) {
			return c.msg, true
		}
	}
	return nil, false
}

// Add remembers msg, of cached-info type typ, received from name in a
// completed handshake; certs, if given, are the certificates it carries,
// in order, which the client may then name one by one.
func (k *KnownChains) Add(name string, typ uint8, msg []byte, certs ...*x509.Certificate) {
	if k == nil || name == "" || k.max <= 0 {
		return
	}
	digest := sha256.Sum256(msg)
	name = knownKey(name, typ)
	k.mu.Lock()
	defer k.mu.Unlock()
	list := k.byName[name]
	for i, old := range list {
		if old.digest == digest {
			// Already known: move it to the front, keeping what was
			// computed for it.
			if old.certs == nil {
				old.certs = knownCertsOf(certs)
			}
			copy(list[1:i+1], list[:i])
			list[0] = old
			return
		}
	}
	c := knownChain{digest: digest, msg: append([]byte(nil), msg...), certs: knownCertsOf(certs)}
	if len(list) >= k.perName {
		list = list[:k.perName-1]
		k.n--
	}
	for other := range k.byName {
		if k.n < k.max {
			break
		}
		if other != name {
			k.n -= len(k.byName[other])
			delete(k.byName, other)
		}
	}
	k.byName[name] = append([]knownChain{c}, list...)
	k.n++
}

// HeldChains is a server's store of client Certificate messages from
// completed handshakes, by SHA-256 digest, so that a client that proffers
// a digest need not send its chain again. It is bounded (the oldest
// entries go first) and safe for concurrent use.
type HeldChains struct {
	mu    sync.Mutex
	max   int
	msgs  map[[32]byte][]byte
	order [][32]byte
}

// NewHeldChains returns a store of at most max messages.
func NewHeldChains(max int) *HeldChains {
	return &HeldChains{max: max, msgs: map[[32]byte][]byte{}}
}

// Lookup returns the stored message with this digest.
func (h *HeldChains) Lookup(digest []byte) ([]byte, bool) {
	if h == nil || len(digest) != sha256.Size {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	msg, ok := h.msgs[[32]byte(digest)]
	return msg, ok
}

// Add stores msg, received in a completed handshake.
func (h *HeldChains) Add(msg []byte) {
	if h == nil || h.max <= 0 {
		return
	}
	d := sha256.Sum256(msg)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.msgs[d]; ok {
		return
	}
	for len(h.order) >= h.max {
		delete(h.msgs, h.order[0])
		h.order = h.order[1:]
	}
	h.msgs[d] = append([]byte(nil), msg...)
	h.order = append(h.order, d)
}

package tickets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

// Sizes of the parts of a sealed ticket.
const (
	NameSize  = 16 // key name, in the clear at the front
	KeySize   = 32 // AES-256
	nonceSize = 12
	tagSize   = 16
	// Overhead is what sealing adds to the plaintext.
	Overhead = NameSize + nonceSize + tagSize
)

// ErrUnknownTicket is returned for a ticket no accepted key opens: an
// unknown or expired key name, or a tag that does not verify. The cases
// are not told apart; a server answers all of them with a full handshake.
var ErrUnknownTicket = errors.New("tickets: no accepted key opens this ticket")

// ErrNoKey is returned by Seal when no key may seal now.
var ErrNoKey = errors.New("tickets: no ticket key may seal now")

// KeyRing holds ticket keys in locked memory. It is safe for concurrent
// use.
type KeyRing struct {
	mu   sync.RWMutex // held for reading while a key is in use
	keys []*ringKey   // in the order installed
	now  func() time.Time
	rand io.Reader

	// Rotation of an in-process ring; period is zero for a ring that a
	// provider feeds.
	period time.Duration
	accept int
	closed bool
}

type ringKey struct {
	name [NameSize]byte
	key  *mem.Secret
	// aead is built once per key, inside erase.Do: crypto/aes keeps its
	// expanded key (which begins with the key) on the heap, and one such
	// copy per key is all the default build leaves behind, rather than
	// one per ticket.
	aead        cipher.AEAD
	block       cipher.Block // kept to wipe its key schedule when the key goes
	sealFrom    time.Time    // introduction: may seal from here
	acceptUntil time.Time    // opens nothing after this
}

// NewKeyRing returns an empty ring for a provider to fill with Install.
func NewKeyRing() *KeyRing { return &KeyRing{now: time.Now, rand: rand.Reader} }

// NewRotatingKeyRing returns the in-process ring: a fresh random key
// seals for one period, after which a new one takes over, and each key
// keeps opening tickets for accept more periods before it is wiped. The
// ring rotates when used; it runs no goroutine.
func NewRotatingKeyRing(period time.Duration, accept int) (*KeyRing, error) {
	if period <= 0 || accept < 0 {
		return nil, fmt.Errorf("tickets: rotation period %v and %d accepted periods: want a positive period and a non-negative count", period, accept)
	}
	r := NewKeyRing()
	r.period, r.accept = period, accept
	return r, nil
}

// SetClock replaces the ring's clock and randomness, for tests and for
// providers that run on another time source. Either may be nil to keep it.
func (r *KeyRing) SetClock(now func() time.Time, rnd io.Reader) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now != nil {
		r.now = now
	}
	if rnd != nil {
		r.rand = rnd
	}
}

// Install adds a key: key is copied into locked memory (the caller wipes
// its copy), it seals from sealFrom and opens until acceptUntil. A key
// whose name is already present is replaced, the old bytes wiped.
func (r *KeyRing) Install(name [NameSize]byte, key []byte, sealFrom, acceptUntil time.Time) error {
	if len(key) != KeySize {
		return fmt.Errorf("tickets: key %x is %d bytes, want %d", name, len(key), KeySize)
	}
	if !acceptUntil.After(sealFrom) {
		return fmt.Errorf("tickets: key %x is accepted until %v, not after it may seal (%v)", name, acceptUntil, sealFrom)
	}
	s, err := mem.NewCopy(key)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		s.Free()
		return errors.New("tickets: ring is closed")
	}
	for i, k := range r.keys {
		if k.name == name {
			k.free()
			r.keys = append(r.keys[:i], r.keys[i+1:]...)
			break
		}
	}
	k := &ringKey{name: name, key: s, sealFrom: sealFrom, acceptUntil: acceptUntil}
	if err := k.init(); err != nil {
		s.Free()
		return err
	}
	r.keys = append(r.keys, k)
	return nil
}

// Names lists the names of the keys the ring holds, expired ones pruned.
func (r *KeyRing) Names() [][NameSize]byte {
	r.maintain()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([][NameSize]byte, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.name
	}
	return out
}

// maintain wipes expired keys and, for a rotating ring, makes the next
// key when the current one has sealed for a whole period.
func (r *KeyRing) maintain() {
	r.mu.RLock()
	now := r.now()
	need := r.period > 0 && !r.closed
	expired := false
	for _, k := range r.keys {
		if !now.Before(k.acceptUntil) {
			expired = true
		}
		if r.period > 0 && !now.Before(k.sealFrom) && now.Before(k.sealFrom.Add(r.period)) {
			need = false
		}
	}
	r.mu.RUnlock()
	if !expired && !need {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now = r.now()
	kept := r.keys[:0]
	for _, k := range r.keys {
		if now.Before(k.acceptUntil) {
			kept = append(kept, k)
		} else {
			k.free()
		}
	}
	clear(r.keys[len(kept):])
	r.keys = kept
	if r.period == 0 || r.closed {
		return
	}
	for _, k := range r.keys {
		if !now.Before(k.sealFrom) && now.Before(k.sealFrom.Add(r.period)) {
			return // another caller rotated meanwhile
		}
	}
	k := &ringKey{sealFrom: now, acceptUntil: now.Add(r.period * time.Duration(1+r.accept))}
	var err error
	if k.key, err = mem.New(KeySize); err != nil {
		return // Seal reports ErrNoKey; opening old tickets still works
	}
	if _, err := io.ReadFull(r.rand, k.name[:]); err != nil {
		k.key.Free()
		return
	}
	if _, err := io.ReadFull(r.rand, k.key.Bytes()); err != nil {
		k.key.Free()
		return
	}
	if err := k.init(); err != nil {
		k.key.Free()
		return
	}
	r.keys = append(r.keys, k)
}

// sealer is the newest key that may seal now. r.mu is held.
func (r *KeyRing) sealer(now time.Time) *ringKey {
	var best *ringKey
	for _, k := range r.keys {
		if !now.Before(k.sealFrom) && now.Before(k.acceptUntil) && (best == nil || k.sealFrom.After(best.sealFrom)) {
			best = k
		}
	}
	return best
}

// Seal encrypts plaintext under the current key and returns the ticket:
// key name, nonce, ciphertext and tag.
func (r *KeyRing) Seal(plaintext []byte) ([]byte, error) {
	r.maintain()
	r.mu.RLock()
	defer r.mu.RUnlock()
	k := r.sealer(r.now())
	if k == nil {
		return nil, ErrNoKey
	}
	out := make([]byte, NameSize+nonceSize, Overhead+len(plaintext))
	copy(out, k.name[:])
	if _, err := io.ReadFull(r.rand, out[NameSize:]); err != nil {
		return nil, fmt.Errorf("tickets: reading a nonce: %w", err)
	}
	erase.Do(func() {
		out = k.aead.Seal(out, out[NameSize:NameSize+nonceSize], plaintext, out[:NameSize])
	})
	return out, nil
}

// Open decrypts a ticket into dst, which must hold len(ticket)-Overhead
// bytes (callers pass locked memory: the plaintext is a session's
// secret), and returns the plaintext's length.
func (r *KeyRing) Open(dst, ticket []byte) (int, error) {
	if len(ticket) < Overhead {
		return 0, ErrUnknownTicket
	}
	n := len(ticket) - Overhead
	if len(dst) < n {
		return 0, fmt.Errorf("tickets: %d-byte buffer for a %d-byte plaintext", len(dst), n)
	}
	r.maintain()
	r.mu.RLock()
	defer r.mu.RUnlock()
	now := r.now()
	var k *ringKey
	for _, c := range r.keys {
		if subtle.ConstantTimeCompare(c.name[:], ticket[:NameSize]) == 1 && now.Before(c.acceptUntil) {
			k = c
		}
	}
	if k == nil {
		return 0, ErrUnknownTicket
	}
	var err error
	erase.Do(func() {
		if _, oerr := k.aead.Open(dst[:0], ticket[NameSize:NameSize+nonceSize], ticket[NameSize+nonceSize:], ticket[:NameSize]); oerr != nil {
			clear(dst[:n])
			err = ErrUnknownTicket
		}
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// init builds the key's AEAD inside erase.Do.
func (k *ringKey) init() (err error) {
	erase.Do(func() {
		if k.block, err = aes.NewCipher(k.key.Bytes()); err == nil {
			k.aead, err = cipher.NewGCM(k.block)
		}
	})
	return err
}

// free wipes the key and the key schedules crypto/aes and GCM made from
// it (erase.Object: the standard library keeps them in heap objects it
// never wipes). Callers hold the ring's write lock, so no Seal or Open is
// using them.
func (k *ringKey) free() {
	k.key.Free()
	if k.aead != nil {
		erase.Object(k.aead)
		erase.Object(k.block)
	}
	k.aead, k.block = nil, nil
}

// Close wipes every key. A closed ring seals nothing and opens nothing.
func (r *KeyRing) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.keys {
		k.free()
	}
	r.keys = nil
	r.closed = true
}

package session

import (
	"crypto/sha256"
	"sync"
	"time"
)

// ReplayFilter remembers accepted tickets until they expire, so that a
// server can make tickets single-use. It keeps a hash of each ticket,
// never the ticket, and is bounded: when full it refuses every ticket
// (a full handshake) rather than forget one it has seen.
type ReplayFilter struct {
	mu    sync.Mutex
	seen  map[[32]byte]time.Time // hash → expiry
	limit int
}

// NewReplayFilter remembers up to limit live tickets.
func NewReplayFilter(limit int) *ReplayFilter {
	return &ReplayFilter{seen: map[[32]byte]time.Time{}, limit: max(limit, 1)}
}

// FirstUse records ticket as used until expiry and reports whether it was
// unseen.
func (f *ReplayFilter) FirstUse(ticket []byte, now, expiry time.Time) bool {
	h := sha256.Sum256(ticket)
	f.mu.Lock()
	defer f.mu.Unlock()
	if exp, ok := f.seen[h]; ok && now.Before(exp) {
		return false
	}
	if len(f.seen) >= f.limit {
		for k, exp := range f.seen {
			if !now.Before(exp) {
				delete(f.seen, k)
			}
		}
		if len(f.seen) >= f.limit {
			return false
		}
	}
	f.seen[h] = expiry
	return true
}

package session

import (
	"container/list"
	"crypto/subtle"
	"sync"
	"time"
)

// MaxIDLifetime caps how long a TLS 1.2 session ID stays resumable
// (RFC 5246 §F.1.4 suggests no more than 24 hours).
const MaxIDLifetime = 24 * time.Hour

// IDCache is a TLS 1.2 server's session-ID cache: bounded, least recently
// used dropped first, entries expiring after a TTL, master secrets in
// locked memory and wiped when dropped.
type IDCache struct {
	mu       sync.Mutex
	capacity int
	ttl      time.Duration
	order    *list.List // of *idEntry, most recent at the front
	byID     map[string]*list.Element
}

type idEntry struct {
	id      string
	state   *State
	expires time.Time
}

// NewIDCache holds up to capacity sessions for ttl each (capped at
// MaxIDLifetime).
func NewIDCache(capacity int, ttl time.Duration) *IDCache {
	if ttl <= 0 || ttl > MaxIDLifetime {
		ttl = MaxIDLifetime
	}
	return &IDCache{capacity: max(capacity, 1), ttl: ttl, order: list.New(), byID: map[string]*list.Element{}}
}

// TTL is how long an entry lives.
func (c *IDCache) TTL() time.Duration { return c.ttl }

// Put stores a session under id; the cache now owns st.
func (c *IDCache) Put(id []byte, st *State, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.byID[string(id)]; el != nil {
		c.drop(el)
	}
	c.byID[string(id)] = c.order.PushFront(&idEntry{id: string(id), state: st, expires: now.Add(c.ttl)})
	for c.order.Len() > c.capacity {
		c.drop(c.order.Back())
	}
}

// Get returns a copy of the session stored under id (its own secret, which
// the caller frees), or nil if there is none or it expired.
func (c *IDCache) Get(id []byte, now time.Time) (*State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byID[string(id)]
	if el == nil {
		return nil, nil
	}
	e := el.Value.(*idEntry)
	if subtle.ConstantTimeCompare([]byte(e.id), id) != 1 || !now.Before(e.expires) {
		c.drop(el)
		return nil, nil
	}
	c.order.MoveToFront(el)
	return e.state.Clone()
}

// Len is how many sessions are cached.
func (c *IDCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *IDCache) drop(el *list.Element) {
	e := el.Value.(*idEntry)
	e.state.Free()
	c.order.Remove(el)
	delete(c.byID, e.id)
}

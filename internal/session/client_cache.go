package session

import (
	"container/list"
	"sync"
)

// ClientTicket is a session a client can resume: the server's ticket (or
// TLS 1.2 session ID) and the state it stands for, with Created set to
// when the client received it.
type ClientTicket struct {
	Ticket    []byte // TLS 1.3 PSK identity or TLS 1.2 RFC 5077 ticket
	SessionID []byte // TLS 1.2 session ID, when the server cached the session
	// OCSPResponse is the OCSP response the server stapled in the
	// handshake that made the session, reported again on resumption.
	OCSPResponse []byte
	State
}

// ClientStore keeps a client's tickets by server. Take hands a ticket
// out for one use (RFC 8446 §C.4: reusing a ticket lets observers link
// connections); the taker frees it.
type ClientStore interface {
	Take(key string) *ClientTicket
	Put(key string, t *ClientTicket)
}

// perServer bounds the tickets kept for one server: a TLS 1.3 server
// sends a few after each handshake, and one is used per connection.
const perServer = 4

// ClientCache is a bounded ClientStore: at most capacity servers, least
// recently used dropped first, their secrets wiped.
type ClientCache struct {
	mu       sync.Mutex
	capacity int
	order    *list.List // of *cacheEntry, most recent at the front
	byKey    map[string]*list.Element
}

type cacheEntry struct {
	key     string
	tickets []*ClientTicket // oldest first
}

// NewClientCache returns a cache for capacity servers (at least 1).
func NewClientCache(capacity int) *ClientCache {
	return &ClientCache{capacity: max(capacity, 1), order: list.New(), byKey: map[string]*list.Element{}}
}

// Take removes and returns the newest ticket for key, or nil.
func (c *ClientCache) Take(key string) *ClientTicket {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byKey[key]
	if el == nil {
		return nil
	}
	e := el.Value.(*cacheEntry)
	t := e.tickets[len(e.tickets)-1]
	e.tickets = e.tickets[:len(e.tickets)-1]
	if len(e.tickets) == 0 {
		c.order.Remove(el)
		delete(c.byKey, key)
	}
	return t
}

// Put stores a ticket for key; t's secret now belongs to the cache.
func (c *ClientCache) Put(key string, t *ClientTicket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.byKey[key]; el != nil {
		e := el.Value.(*cacheEntry)
		if len(e.tickets) == perServer {
			e.tickets[0].Free()
			e.tickets = append(e.tickets[:0], e.tickets[1:]...)
		}
		e.tickets = append(e.tickets, t)
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, tickets: []*ClientTicket{t}})
	for c.order.Len() > c.capacity {
		el := c.order.Back()
		e := el.Value.(*cacheEntry)
		for _, old := range e.tickets {
			old.Free()
		}
		c.order.Remove(el)
		delete(c.byKey, e.key)
	}
}

// Len is how many tickets the cache holds.
func (c *ClientCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for el := c.order.Front(); el != nil; el = el.Next() {
		n += len(el.Value.(*cacheEntry).tickets)
	}
	return n
}

// Free wipes the ticket's secret; a nil ticket is fine.
func (t *ClientTicket) Free() {
	if t != nil {
		t.State.Free()
	}
}

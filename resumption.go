package holdfast

import (
	"fmt"
	"sync"
	"time"

	"github.com/holdfast-tls/holdfast/internal/session"
	"github.com/holdfast-tls/holdfast/internal/tls13"
	"github.com/holdfast-tls/holdfast/tickets"
)

// ClientSessionCache keeps the sessions a client can resume, a few per
// server name, each used once. Their secrets live in locked memory and are
// wiped when used, evicted or expired. It is safe for concurrent use and
// may be shared by many Configs.
type ClientSessionCache struct{ c *session.ClientCache }

// NewClientSessionCache returns a cache for up to capacity servers (64
// if capacity is not positive).
func NewClientSessionCache(capacity int) *ClientSessionCache {
	if capacity <= 0 {
		capacity = 64
	}
	return &ClientSessionCache{c: session.NewClientCache(capacity)}
}

// Len is how many sessions the cache holds.
func (c *ClientSessionCache) Len() int { return c.c.Len() }

// Defaults for resumption.
const (
	defaultTicketLifetime      = 24 * time.Hour
	defaultTicketsPerHandshake = 2
	defaultSessionCacheSize    = 4096
	ticketKeyPeriod            = time.Hour
	ticketKeyAccepted          = 24
	singleUseLimit             = 1 << 16
)

var (
	processTicketKeys     *tickets.KeyRing
	processTicketKeysOnce sync.Once
)

// processKeyRing is the ring servers use when Config.TicketKeys is nil.
func processKeyRing() *tickets.KeyRing {
	processTicketKeysOnce.Do(func() {
		processTicketKeys, _ = tickets.NewRotatingKeyRing(ticketKeyPeriod, ticketKeyAccepted)
	})
	return processTicketKeys
}

// resolveResumption fills in the engines' resumption parameters.
func (c *Config) resolveResumption(p *tls13.Params) error {
	if c.TicketLifetime < 0 || c.TicketsPerHandshake < 0 || c.SessionIDLifetime < 0 {
		return fmt.Errorf("holdfast: Config.TicketLifetime, TicketsPerHandshake and SessionIDLifetime must not be negative")
	}
	p.TicketLifetime = c.TicketLifetime
	if p.TicketLifetime == 0 {
		p.TicketLifetime = defaultTicketLifetime
	}
	p.TicketLifetime = min(p.TicketLifetime, tls13.MaxTicketLifetime)
	p.TicketCount = c.TicketsPerHandshake
	if p.TicketCount == 0 {
		p.TicketCount = defaultTicketsPerHandshake
	}
	if !c.SessionTicketsDisabled {
		p.Tickets = c.TicketKeys
		if c.TicketKeys == nil {
			p.Tickets = processKeyRing()
		}
	}
	p.AllowPSKOnly = c.AllowPSKOnlyResumption
	if c.SingleUseTickets {
		p.Used = session.NewReplayFilter(singleUseLimit)
	}
	if c.ClientSessionCache != nil {
		p.ClientSessions = c.ClientSessionCache.c
	}
	if c.SessionCacheSize >= 0 {
		size := c.SessionCacheSize
		if size == 0 {
			size = defaultSessionCacheSize
		}
		p.SessionIDs = session.NewIDCache(size, c.SessionIDLifetime)
	}
	return nil
}

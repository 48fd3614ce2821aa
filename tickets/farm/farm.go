package farm

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/holdfast-tls/holdfast/signer"
	"github.com/holdfast-tls/holdfast/tickets"
)

// Defaults for Config's zero values.
const (
	DefaultKeyPrefix = "holdfast:tickets:"
	DefaultPeriod    = time.Hour
	DefaultLeaseTTL  = 30 * time.Second
	maxPollInterval  = time.Minute
)

// Config configures a Provider. Every node of a farm must use the same
// Addr, KeyPrefix, Period, Accept and IntroDelay, and a Wrapper on the
// same key-encryption key.
type Config struct {
	// Addr is the Redis server, host:port.
	Addr string
	// Username and Password authenticate to Redis (AUTH; Username empty
	// for the default user). The Redis client keeps the password as a
	// Go string: it guards only wrapped keys, the key-encryption key
	// never leaving its backend, so it is not key material. Set
	// TLSConfig too, or the password crosses the network in clear.
	Username, Password string
	// TLSConfig, when set, makes every connection to Redis TLS (Redis's
	// tls-port) with this configuration; its ServerName or RootCAs must
	// let the client verify the server. Nil means plain TCP.
	TLSConfig *tls.Config
	// KeyPrefix starts the name of every Redis key and channel the farm
	// uses; DefaultKeyPrefix when empty. Farms sharing a Redis need
	// different prefixes.
	KeyPrefix string
	// Period is how long each key seals new tickets; DefaultPeriod when
	// zero.
	Period time.Duration
	// Accept is how many more periods a key keeps opening tickets after
	// its own period; choose it so that Period*Accept covers the tickets'
	// lifetime (holdfast.Config.TicketLifetime), or tickets stop resuming
	// sooner.
	Accept int
	// IntroDelay is how long before it may seal a key is published, so
	// that every node holds it first; Period/4 when zero. It must exceed
	// PollInterval.
	IntroDelay time.Duration
	// PollInterval is how often a node fetches the key set in case it
	// missed a pub/sub message; IntroDelay/4 (at most a minute) when zero.
	PollInterval time.Duration
	// LeaseTTL is how long the rotation lease lasts unless renewed (it is
	// renewed every third of it), and so how long a crashed lease holder
	// delays rotation; DefaultLeaseTTL when zero.
	LeaseTTL time.Duration
	// Wrapper holds the key-encryption key (signer.OpenWrapper). It is
	// required, and not closed by the Provider.
	Wrapper signer.KeyWrapper
	// Logger receives what the provider does (lease changes, new keys,
	// Redis going away and coming back); slog.Default() when nil. Logs
	// carry key names, never key bytes.
	Logger *slog.Logger

	// onInstall, for tests in this package, sees every key the provider
	// installs in its ring, while the provider still holds it in locked
	// memory.
	onInstall func(name [tickets.NameSize]byte, key []byte)
}

// KeyInfo is the public part of a ticket key: its name and times.
type KeyInfo struct {
	Name        [tickets.NameSize]byte
	SealFrom    time.Time // introduction: seals from here
	AcceptUntil time.Time // opens nothing after this
}

// Provider keeps a node's ticket-key ring filled from the farm's Redis.
type Provider struct {
	cfg   Config
	log   *slog.Logger
	ring  *tickets.KeyRing
	rdb   *redis.Client
	ps    *redis.PubSub
	names redisNames
	token string // this node's lease token

	cancel context.CancelFunc
	done   chan struct{}

	syncMu sync.Mutex // one fetch at a time

	mu     sync.Mutex
	known  map[[tickets.NameSize]byte]KeyInfo // installed in the ring
	failed map[[tickets.NameSize]byte]bool    // logged unwrap failures
	leader bool
	down   bool // Redis unreachable, logged once
	closed bool
}

// New starts a node's provider: it fetches the farm's current keys
// (bounded by ctx; if Redis cannot be reached the node starts without
// keys, issuing full handshakes until it can) and keeps them current in
// the background until Close. Only a bad Config is an error.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("farm: lease token: %w", err)
	}
	p := &Provider{
		cfg:    cfg,
		log:    cfg.Logger,
		ring:   tickets.NewKeyRing(),
		names:  newRedisNames(cfg.KeyPrefix),
		token:  hex.EncodeToString(tok[:]),
		done:   make(chan struct{}),
		known:  map[[tickets.NameSize]byte]KeyInfo{},
		failed: map[[tickets.NameSize]byte]bool{},
	}
	p.rdb = redis.NewClient(&redis.Options{
		Addr:      cfg.Addr,
		Username:  cfg.Username,
		Password:  cfg.Password,
		TLSConfig: cfg.TLSConfig,
		// The provider retries on its own schedule, with backoff; a
		// command against a Redis that is down should fail fast.
		MaxRetries:    -1,
		DialerRetries: 1,
		DialTimeout:   time.Second,
		ReadTimeout:   2 * time.Second,
		WriteTimeout:  2 * time.Second,
		PoolSize:      4,
		// Redis 7.0 has no maintenance notifications; asking only logs.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		DisableIdentity:          true,
	})
	// Subscribing records the channel even when Redis is down; every
	// reconnection subscribes again.
	p.ps = p.rdb.Subscribe(ctx)
	if err := p.ps.Subscribe(ctx, p.names.channel); err != nil {
		p.redisDown(err)
	}
	if err := p.Sync(ctx); err != nil {
		p.log.Warn("farm: starting without the farm's ticket keys; will keep trying", "redis", cfg.Addr, "err", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(runCtx)
	return p, nil
}

func (c *Config) resolve() error {
	if c.Addr == "" {
		return errors.New("farm: Config.Addr (the Redis server) is required")
	}
	if c.Wrapper == nil {
		return errors.New("farm: Config.Wrapper (the key-encryption key) is required: Redis may hold ticket keys only wrapped")
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.Period == 0 {
		c.Period = DefaultPeriod
	}
	if c.IntroDelay == 0 {
		c.IntroDelay = c.Period / 4
	}
	if c.PollInterval == 0 {
		c.PollInterval = min(c.IntroDelay/4, maxPollInterval)
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.Period < 0 || c.Accept < 0 || c.IntroDelay < 0 || c.PollInterval < 0 || c.LeaseTTL < 0:
		return fmt.Errorf("farm: Period %v, Accept %d, IntroDelay %v, PollInterval %v and LeaseTTL %v must not be negative",
			c.Period, c.Accept, c.IntroDelay, c.PollInterval, c.LeaseTTL)
	case c.PollInterval < time.Millisecond || c.LeaseTTL < 3*time.Millisecond:
		return fmt.Errorf("farm: PollInterval %v and LeaseTTL %v are too short", c.PollInterval, c.LeaseTTL)
	case c.PollInterval >= c.IntroDelay:
		return fmt.Errorf("farm: PollInterval %v must be shorter than IntroDelay %v, or a node that missed a message could lack a key another node seals with", c.PollInterval, c.IntroDelay)
	case c.Period > 1<<62/time.Duration(c.Accept+2):
		return fmt.Errorf("farm: Period %v times %d accepted periods overflows", c.Period, c.Accept)
	}
	return nil
}

// Ring is the node's key ring, for holdfast.Config.TicketKeys. It is
// closed (every key wiped) by Close.
func (p *Provider) Ring() *tickets.KeyRing { return p.ring }

// Keys lists the keys the node holds, oldest first, expired ones dropped.
func (p *Provider) Keys() []KeyInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	out := make([]KeyInfo, 0, len(p.known))
	for _, k := range p.known {
		if now.Before(k.AcceptUntil) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b KeyInfo) int { return a.SealFrom.Compare(b.SealFrom) })
	return out
}

// Leader reports whether this node holds the rotation lease.
func (p *Provider) Leader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader
}

// Close stops the provider: the background work ends, the lease (if held)
// is released so another node takes over at once, the Redis connections
// close, and the ring is closed, wiping every key. It is safe to call
// twice. The Wrapper is left open.
func (p *Provider) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.ps.Close() // ends a blocked receive
	<-p.done
	p.mu.Lock()
	leader := p.leader
	p.leader = false
	p.mu.Unlock()
	if leader {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := p.releaseLease(ctx); err != nil {
			p.log.Warn("farm: releasing the rotation lease; another node takes over when it expires", "err", err)
		}
		cancel()
	}
	err := p.rdb.Close()
	p.ring.Close()
	return err
}

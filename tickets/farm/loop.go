package farm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/holdfast-tls/holdfast/mem"
	"github.com/holdfast-tls/holdfast/tickets"
)

// opTimeout bounds one round of Redis and wrapper work.
const opTimeout = 5 * time.Second

// Backoff between attempts while Redis is unreachable.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// run is the provider's one goroutine: it waits for pub/sub messages and,
// between them, renews or seeks the lease (rotating keys while it holds
// it) and polls the key set. Everything it starts ends before it returns.
func (p *Provider) run(ctx context.Context) {
	defer close(p.done)
	leaseEvery := min(p.cfg.LeaseTTL/3, p.cfg.PollInterval)
	nextLease, nextPoll := time.Now(), time.Now().Add(p.cfg.PollInterval)
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(nextLease) {
			p.leaseStep(ctx)
			nextLease = time.Now().Add(leaseEvery)
		}
		if !now.Before(nextPoll) {
			p.sync(ctx)
			nextPoll = time.Now().Add(p.cfg.PollInterval)
		}
		if backoff > 0 {
			// Redis was unreachable: wait before trying it again, but
			// keep the lease and poll steps on their own schedule.
			wait := min(backoff, time.Until(nextLease), time.Until(nextPoll))
			if !sleep(ctx, wait) {
				return
			}
		}
		wait := max(min(time.Until(nextLease), time.Until(nextPoll)), time.Millisecond)
		msg, err := p.ps.ReceiveTimeout(ctx, wait)
		switch {
		case err == nil:
			backoff = 0
			switch msg.(type) {
			case *redis.Message:
				nextPoll = time.Now() // a new key: fetch it now
			case *redis.Subscription:
				// (Re)subscribed after a reconnection: messages sent
				// meanwhile are lost, so fetch everything.
				nextPoll = time.Now()
			}
		case isTimeout(err):
			backoff = 0
		case ctx.Err() != nil || errors.Is(err, redis.ErrClosed):
			return
		default:
			p.redisDown(err)
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sleep waits d or until ctx ends; it reports whether to go on.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// redisDown logs the first failure of a run of them.
func (p *Provider) redisDown(err error) {
	p.mu.Lock()
	was := p.down
	p.down = true
	p.mu.Unlock()
	if !was {
		p.log.Warn("farm: Redis is unreachable; serving with the keys held", "redis", p.cfg.Addr, "err", err)
	}
}

func (p *Provider) redisUp() {
	p.mu.Lock()
	was := p.down
	p.down = false
	p.mu.Unlock()
	if was {
		p.log.Info("farm: Redis is reachable again", "redis", p.cfg.Addr)
	}
}

// Sync fetches the farm's key set now and installs the keys the node
// lacks. The provider does this on its own; Sync is for a caller that
// wants the ring current before going on, and reports whether Redis could
// be read. Keys that do not unwrap are logged and skipped, not errors.
func (p *Provider) Sync(ctx context.Context) error {
	return p.sync(ctx)
}

func (p *Provider) sync(ctx context.Context) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	recs, err := p.fetch(ctx)
	if err != nil {
		p.redisDown(err)
		return fmt.Errorf("farm: reading the key set from %s: %w", p.cfg.Addr, err)
	}
	p.redisUp()
	now := time.Now()
	for _, r := range recs {
		if !now.Before(r.info.AcceptUntil) {
			continue
		}
		p.mu.Lock()
		_, have := p.known[r.info.Name]
		p.mu.Unlock()
		if have {
			continue
		}
		p.learn(ctx, r)
	}
	p.forgetExpired(now)
	// Forget failures of records no longer in Redis, so the map stays
	// as small as what Redis holds.
	present := make(map[[tickets.NameSize]byte]bool, len(recs))
	for _, r := range recs {
		present[r.info.Name] = true
	}
	p.mu.Lock()
	for n := range p.failed {
		if !present[n] {
			delete(p.failed, n)
		}
	}
	p.mu.Unlock()
	return nil
}

// learn unwraps a record's key into locked memory and installs it. A key
// that does not unwrap (another KEK, an altered record) is skipped and
// logged once; it is tried again on later fetches, in case the failure
// was the token's.
func (p *Provider) learn(ctx context.Context, r record) {
	name := hex.EncodeToString(r.info.Name[:])
	blob, err := mem.New(blobSize + 8) // room to notice a longer blob
	if err != nil {
		p.log.Error("farm: no locked memory for a ticket key", "key", name, "err", err)
		return
	}
	defer blob.Free()
	n, err := p.cfg.Wrapper.Unwrap(ctx, r.wrapped, blob.Bytes())
	if err == nil && !blobMatches(blob.Bytes()[:n], r.info) {
		err = errors.New("the wrapped name or times differ from the record's: the record was altered")
	}
	if err != nil {
		p.mu.Lock()
		logged := p.failed[r.info.Name]
		p.failed[r.info.Name] = true
		p.mu.Unlock()
		if !logged {
			p.log.Error("farm: skipping a ticket key that does not unwrap", "key", name, "err", err)
		}
		return
	}
	p.install(r.info, blob.Bytes()[:tickets.KeySize])
}

// install puts a key into the ring and records it as known.
func (p *Provider) install(info KeyInfo, key []byte) {
	if err := p.ring.Install(info.Name, key, info.SealFrom, info.AcceptUntil); err != nil {
		p.log.Error("farm: installing a ticket key", "key", hex.EncodeToString(info.Name[:]), "err", err)
		return
	}
	if p.cfg.onInstall != nil {
		p.cfg.onInstall(info.Name, key)
	}
	p.mu.Lock()
	p.known[info.Name] = info
	delete(p.failed, info.Name)
	p.mu.Unlock()
}

// forgetExpired drops expired keys from the bookkeeping and has the ring
// wipe them now rather than at its next use.
func (p *Provider) forgetExpired(now time.Time) {
	p.mu.Lock()
	for n, k := range p.known {
		if !now.Before(k.AcceptUntil) {
			delete(p.known, n)
		}
	}
	p.mu.Unlock()
	p.ring.Names() // prunes expired keys
}

// leaseStep renews the lease, or tries to take it, and rotates while held.
func (p *Provider) leaseStep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	p.mu.Lock()
	leader := p.leader
	p.mu.Unlock()
	var held bool
	var err error
	if leader {
		held, err = p.renewLease(ctx)
	} else {
		held, err = p.acquireLease(ctx)
	}
	if err != nil {
		p.redisDown(err)
		// Without an answer the lease may lapse while this node is cut
		// off; it stops rotating then, and tries again to renew (its
		// token may still be there) when Redis answers.
		return
	}
	p.redisUp()
	if held != leader {
		p.mu.Lock()
		p.leader = held
		p.mu.Unlock()
		if held {
			p.log.Info("farm: holding the rotation lease", "lease", p.names.lease)
		} else {
			p.log.Info("farm: the rotation lease passed to another node", "lease", p.names.lease)
		}
	}
	if held && time.Since(start) < p.cfg.LeaseTTL {
		if err := p.rotate(ctx); err != nil {
			p.log.Warn("farm: rotating ticket keys", "err", err)
		}
	}
}

// rotate, run by the lease holder, deletes expired records and publishes
// the next key once the newest one has no more than IntroDelay left of
// its period.
func (p *Provider) rotate(ctx context.Context) error {
	recs, err := p.fetch(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if err := p.deleteExpired(ctx, recs, now); err != nil {
		return err
	}
	var newest time.Time
	for _, r := range recs {
		if now.Before(r.info.AcceptUntil) && r.info.SealFrom.After(newest) {
			newest = r.info.SealFrom
		}
	}
	if !newest.IsZero() && newest.Add(p.cfg.Period).After(now.Add(p.cfg.IntroDelay)) {
		return nil
	}
	return p.makeKey(ctx, now)
}

// makeKey draws a key into locked memory, wraps it with its name and
// times, publishes the record and installs the key here.
func (p *Provider) makeKey(ctx context.Context, now time.Time) error {
	info := KeyInfo{SealFrom: now.Add(p.cfg.IntroDelay).Truncate(time.Millisecond)}
	info.AcceptUntil = info.SealFrom.Add(p.cfg.Period * time.Duration(1+p.cfg.Accept))
	if _, err := rand.Read(info.Name[:]); err != nil {
		return err
	}
	blob, err := mem.New(blobSize)
	if err != nil {
		return err
	}
	defer blob.Free()
	if _, err := rand.Read(blob.Bytes()[:tickets.KeySize]); err != nil {
		return err
	}
	fillBlob(blob.Bytes(), info)
	wrapped, err := p.cfg.Wrapper.Wrap(ctx, blob.Bytes())
	if err != nil {
		return fmt.Errorf("wrapping a new key: %w", err)
	}
	ok, err := p.publish(ctx, info, wrapped)
	if err != nil {
		return err
	}
	if !ok {
		p.mu.Lock()
		p.leader = false
		p.mu.Unlock()
		return errLeaseLost
	}
	p.log.Info("farm: published a ticket key", "key", hex.EncodeToString(info.Name[:]),
		"seal_from", info.SealFrom, "accept_until", info.AcceptUntil)
	p.install(info, blob.Bytes()[:tickets.KeySize])
	return nil
}

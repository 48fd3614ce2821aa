//go:build cgo

package signer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/holdfast-tls/holdfast/internal/offthread"
	"github.com/miekg/pkcs11"
)

// The session pool. A token's sessions are a quota shared by every
// application using it, so the pool opens one only when no idle one is
// left, never more than the token's limit, hands out the most recently
// used first (so the others age out), and closes those idle too long.

// checkout returns a session, waiting (bounded by ctx) while the pool is
// at its limit.
func (k *p11Key) checkout(ctx context.Context) (pkcs11.SessionHandle, error) {
	for {
		k.mu.Lock()
		if k.closed {
			k.mu.Unlock()
			return 0, fmt.Errorf("%s: %w", k.uri, ErrClosed)
		}
		if n := len(k.idle); n > 0 {
			s := k.idle[n-1].h
			k.idle = k.idle[:n-1]
			k.mu.Unlock()
			return s, nil
		}
		k.mu.Unlock()
		// Wait for room to open a session, or for a session to come
		// back to the pool (then look again: another caller may have
		// taken it first).
		select {
		case <-k.tokens:
		case <-k.returned:
			continue
		case <-ctx.Done():
			return 0, fmt.Errorf("signer: %s: waiting for a PKCS#11 session: %w", k.uri, ctx.Err())
		}
		break
	}
	k.mu.Lock()
	slot := k.slot
	k.mu.Unlock()
	s, err := k.mod.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		k.tokens <- struct{}{}
		return 0, fmt.Errorf("signer: %s: C_OpenSession: %w", k.uri, err)
	}
	return s, nil
}

// checkin returns a session after an operation that ended with opErr. A
// session whose operation failed is pooled again only if the token still
// knows it (C_GetSessionInfo) in the slot the key now lives in: a failed
// padding check says nothing about the session, a dropped session or a
// removed token says everything.
func (k *p11Key) checkin(s pkcs11.SessionHandle, opErr error) {
	healthy := opErr == nil
	if !healthy && !sessionGone(opErr) && !tokenGone(opErr) {
		info, err := k.mod.ctx.GetSessionInfo(s)
		k.mu.Lock()
		healthy = err == nil && info.SlotID == k.slot
		k.mu.Unlock()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !healthy || k.closed {
		k.mod.ctx.CloseSession(s)
		k.tokens <- struct{}{}
		return
	}
	k.idle = append(k.idle, idleSession{s, time.Now()})
	select { // wake one waiter; a full channel has wakeups enough pending
	case k.returned <- struct{}{}:
	default:
	}
}

// openSessions is how many sessions the key holds, idle or in use.
func (k *p11Key) openSessions() int { return cap(k.tokens) - len(k.tokens) }

// reapIdle closes sessions that have been idle longer than idleTime, the
// oldest first (they sit at the front of the list), but keeps the last
// one: closing an application's last session logs it out of the token and,
// in some tokens (SoftHSM), invalidates every object handle, so the next
// operation after a quiet spell would have to repair the key.
func (k *p11Key) reapIdle() {
	tick := time.NewTicker(reapInterval)
	defer tick.Stop()
	for {
		select {
		case <-k.stop:
			return
		case now := <-tick.C:
			k.mu.Lock()
			n := 0
			for n < len(k.idle) && now.Sub(k.idle[n].used) > k.idleTime && k.openSessions() > 1 {
				k.mod.ctx.CloseSession(k.idle[n].h)
				k.tokens <- struct{}{}
				n++
			}
			k.idle = k.idle[n:]
			k.mu.Unlock()
		}
	}
}

// dropIdle closes every idle session: after the token went away they all
// belong to a token that no longer exists.
func (k *p11Key) dropIdle() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range k.idle {
		k.mod.ctx.CloseSession(s.h)
		k.tokens <- struct{}{}
	}
	k.idle = nil
}

// withSession runs op on a pooled session with the key's current object
// handle. If op fails in a way a repair can fix (a dropped session, a
// token removed and put back, a logout, a stale handle) the key is
// repaired and op runs once more on a fresh session.
func (k *p11Key) withSession(ctx context.Context, op func(c *pkcs11.Ctx, s pkcs11.SessionHandle, priv pkcs11.ObjectHandle) error) error {
	for attempt := 0; ; attempt++ {
		k.mu.Lock()
		gen, priv := k.gen, k.priv
		k.mu.Unlock()
		s, err := k.checkout(ctx)
		if err != nil {
			return err
		}
		// Off-thread: the token call blocks its thread (package offthread).
		err = offthread.Run(func() error { return op(k.mod.ctx, s, priv) })
		k.checkin(s, err)
		if err == nil || attempt == 1 || !repairable(err) {
			return err
		}
		if rerr := k.repair(ctx, gen); rerr != nil {
			return fmt.Errorf("%w (repair failed: %w)", err, rerr)
		}
	}
}

// repair finds the token again, logs in and looks the key up, unless
// another goroutine already did so since generation gen (sixty-four
// handshakes failing together repair once).
func (k *p11Key) repair(ctx context.Context, gen uint64) error {
	k.repairMu.Lock()
	defer k.repairMu.Unlock()
	k.mu.Lock()
	done := k.gen != gen
	k.mu.Unlock()
	if done {
		return nil
	}
	slot, _, err := k.locate()
	if err != nil {
		return err
	}
	k.mu.Lock()
	moved := slot != k.slot
	k.slot = slot
	k.mu.Unlock()
	if moved {
		k.dropIdle()
	}
	s, err := k.checkout(ctx)
	if err != nil {
		return err
	}
	err = k.attachSession(s)
	k.checkin(s, err)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.gen++
	k.mu.Unlock()
	return nil
}

// sessionGone: the token no longer knows the session.
func sessionGone(err error) bool {
	return isCKR(err, pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED)
}

// tokenGone: the token was removed, reset or failed; its sessions are lost
// and it may come back in another slot.
func tokenGone(err error) bool {
	return isCKR(err, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_ERROR,
		pkcs11.CKR_SLOT_ID_INVALID, pkcs11.CKR_TOKEN_NOT_RECOGNIZED)
}

// repairable: a retry after repair may succeed. Wrong PINs are not here:
// retrying them would count towards the token's lockout.
func repairable(err error) bool {
	return sessionGone(err) || tokenGone(err) ||
		isCKR(err, pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_OBJECT_HANDLE_INVALID, pkcs11.CKR_KEY_HANDLE_INVALID)
}

func isCKR(err error, codes ...uint) bool {
	var rv pkcs11.Error
	if !errors.As(err, &rv) {
		return false
	}
	for _, c := range codes {
		if uint(rv) == c {
			return true
		}
	}
	return false
}

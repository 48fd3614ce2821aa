//go:build cgo

package signer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
)

// The URI's max-sessions bounds the pool: SoftHSM reports no limit of its
// own, so the bound is exactly the one configured, and 64 concurrent
// signers never hold more.
func TestPKCS11MaxSessions(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"ec": "EC:prime256v1"})
	const bound = 3
	k, err := Open(context.Background(), tk.URI("ec")+"&max-sessions=3")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	p := k.(*p11Key)
	if cap(p.tokens) != bound {
		t.Fatalf("pool bound %d, want %d", cap(p.tokens), bound)
	}

	held := takeAllSessions(t, p)
	if len(held) != bound {
		t.Fatalf("pool handed out %d sessions, want %d", len(held), bound)
	}
	for _, s := range held {
		p.checkin(s, nil)
	}
	peak := peakSessions(t, p, 64, 10)
	if peak > bound || peak == 0 {
		t.Fatalf("peak of %d sessions under 64 signers; the bound is %d", peak, bound)
	}
	t.Logf("peak %d sessions under 64 signers (max-sessions=%d)", peak, bound)
}

func TestPKCS11MaxSessionsRefused(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"ec": "EC:prime256v1"})
	for _, v := range []string{"0", "-1", "many", "65537", ""} {
		k, err := Open(context.Background(), tk.URI("ec")+"&max-sessions="+v)
		if err == nil {
			k.Close()
			t.Errorf("max-sessions=%q accepted", v)
			continue
		}
		if !strings.Contains(err.Error(), `"max-sessions"`) || strings.Contains(err.Error(), "1234") {
			t.Errorf("max-sessions=%q: %v; want the attribute named and no PIN", v, err)
		}
	}
}

// sessionBound against the token limits PKCS#11 defines.
func TestSessionBound(t *testing.T) {
	const unavailable = ^uint(0) // CK_UNAVAILABLE_INFORMATION
	for _, c := range []struct {
		tokenMax uint
		attr     string
		want     int
	}{
		{0, "", defaultMaxSessions},           // CK_EFFECTIVELY_INFINITE
		{unavailable, "", defaultMaxSessions}, // unknown
		{4, "", 4},                            // the token's own quota
		{0, "32", 32},                         // no limit: the URI's
		{4, "32", 4},                          // never above the token's
		{64, "2", 2},                          // lowered by the URI
	} {
		u := &PKCS11URI{}
		if c.attr != "" {
			u.VendorQuery = map[string]string{maxSessionsAttr: c.attr}
		}
		got, err := sessionBound(u, pkcs11.TokenInfo{MaxSessionCount: c.tokenMax})
		if err != nil || got != c.want {
			t.Errorf("token max %d, max-sessions %q: %d, %v; want %d", c.tokenMax, c.attr, got, err, c.want)
		}
	}
}

// takeAllSessions checks out sessions until the pool makes the caller
// wait, and returns them still checked out.
func takeAllSessions(t *testing.T, p *p11Key) []pkcs11.SessionHandle {
	t.Helper()
	var held []pkcs11.SessionHandle
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		s, err := p.checkout(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			return held
		}
		held = append(held, s)
	}
}

// peakSessions has n goroutines make each signatures apiece with p and
// returns the most sessions seen open at once.
func peakSessions(t *testing.T, p *p11Key, n, each int) int {
	t.Helper()
	d := sha256.Sum256([]byte("concurrent"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for range n {
		wg.Go(func() {
			for range each {
				if _, err := p.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				peak = max(peak, p.openSessions())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return peak
}

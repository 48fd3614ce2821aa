package kex

import (
	"sync"
	"testing"
	"time"
)

// waitForSpare waits for the background share to land in the slot.
func waitForSpare(t *testing.T) *Private {
	t.Helper()
	for range 1000 {
		x25519Spare.mu.Lock()
		p, making := x25519Spare.share, x25519Spare.making
		x25519Spare.mu.Unlock()
		if p != nil && !making {
			return p
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no spare X25519 share was made")
	return nil
}

// TestSpareIsHandedOutOnce: the share made ahead is the one the next
// Generate returns, it is gone from the slot once taken, and from then on
// every share, spare or not, is a different one, also under concurrent
// handshakes.
func TestSpareIsHandedOutOnce(t *testing.T) {
	SetSpares(true)
	first, err := Generate(X25519)
	if err != nil {
		t.Fatal(err)
	}
	first.Free()
	spare := waitForSpare(t)
	want := string(spare.Public())
	p, err := Generate(X25519)
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Public()) != want {
		t.Fatal("Generate did not hand over the waiting spare")
	}
	p.Free()

	var mu sync.Mutex
	seen := map[string]bool{want: true}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				p, err := Generate(X25519)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[string(p.Public())] {
					t.Error("an X25519 share was handed out twice")
				}
				seen[string(p.Public())] = true
				mu.Unlock()
				// The share works: an exchange with it agrees with the
				// other side.
				peer, s1, err := Respond(X25519, p.Public())
				if err != nil {
					t.Error(err)
					return
				}
				s2, err := p.Shared(peer)
				if err != nil {
					t.Error(err)
					return
				}
				if string(s1.Bytes()) != string(s2.Bytes()) {
					t.Error("the exchange with a spare share disagrees")
				}
				s1.Free()
				s2.Free()
				p.Free()
			}
		})
	}
	wg.Wait()
}

// TestSparesOff: turned off, the waiting share is wiped and none is made.
func TestSparesOff(t *testing.T) {
	SetSpares(true)
	defer SetSpares(true)
	p, err := Generate(X25519)
	if err != nil {
		t.Fatal(err)
	}
	p.Free()
	spare := waitForSpare(t)
	SetSpares(false)
	if spare.scalar != nil {
		t.Error("the waiting share was not freed")
	}
	for range 3 {
		p, err := Generate(X25519)
		if err != nil {
			t.Fatal(err)
		}
		p.Free()
	}
	time.Sleep(10 * time.Millisecond)
	x25519Spare.mu.Lock()
	defer x25519Spare.mu.Unlock()
	if x25519Spare.share != nil || x25519Spare.making {
		t.Error("a share was made with spares off")
	}
}

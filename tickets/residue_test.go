package tickets

import (
	"runtime"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// Once a ticket key expires, no copy of it is left in the process: the
// ring's locked copy is wiped, and in the runtimesecret build so are the
// AES key schedules each Seal and Open built from it. In the default build
// crypto/aes's expanded key (whose first round keys are the key itself)
// stays in unreachable heap memory until reused; the test reports how many
// copies and fails only where erasure is promised.
func TestExpiredTicketKeyResidue(t *testing.T) {
	if residue.RaceEnabled {
		t.Skip("the race detector's shadow copies are outside what the scan can judge; CI runs this test without -race")
	}
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	r, _ := NewRotatingKeyRing(time.Hour, 0)
	defer r.Close()
	r.SetClock(clock.now, nil)
	var needles [][]byte
	var held []*mem.Secret
	defer func() {
		for _, h := range held {
			h.Free()
		}
	}()
	for range 4 {
		for range 50 {
			tk, err := r.Seal([]byte("a session"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := open(t, r, tk); err != nil {
				t.Fatal(err)
			}
		}
		r.mu.RLock()
		n, err := residue.NewNeedle(nil, r.keys[len(r.keys)-1].key.Bytes())
		r.mu.RUnlock()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, n)
		needles = append(needles, n.Bytes())
		clock.add(time.Hour) // the key expires at the next use
	}
	if _, err := r.Seal(nil); err != nil { // rotates and wipes the last
		t.Fatal(err)
	}
	runtime.GC()
	rep, err := residue.Scan(needles)
	if err != nil {
		t.Fatal(err)
	}
	found := len(rep.Findings)
	t.Logf("copies of 4 expired ticket keys left (runtimesecret build: %v): %d", erase.Enabled, found)
	if erase.Enabled && found != 0 {
		t.Errorf("runtimesecret build: %d copies of expired ticket keys left; want 0\n%v", found, rep)
	}
}

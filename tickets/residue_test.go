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
// ring's locked copy is wiped, and so are the AES key schedules (whose
// first round keys are the key itself) that crypto/aes and GCM keep on the
// heap, in both builds.
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
	if found != 0 {
		t.Errorf("%d copies of expired ticket keys left; want 0\n%v", found, rep)
	}
}

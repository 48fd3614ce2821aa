package tickets

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, r *KeyRing, ticket []byte) ([]byte, error) {
	t.Helper()
	dst := make([]byte, len(ticket))
	n, err := r.Open(dst, ticket)
	return dst[:n], err
}

// A rotating ring seals with a new key each period and opens a ticket for
// the period it was sealed in plus the accepted ones, then never again.
func TestRotatingAcceptanceWindow(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	r, err := NewRotatingKeyRing(time.Hour, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.SetClock(clock.now, nil)
	ticket, err := r.Seal([]byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range []bool{true, true, true, false} {
		got, err := open(t, r, ticket)
		if ok && (err != nil || !bytes.Equal(got, []byte("state"))) {
			t.Fatalf("after %d periods: %q, %v; want the state back", i, got, err)
		}
		if !ok && !errors.Is(err, ErrUnknownTicket) {
			t.Fatalf("after %d periods: %v; want ErrUnknownTicket", i, err)
		}
		next, err := r.Seal([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && bytes.Equal(next[:NameSize], ticket[:NameSize]) {
			t.Fatalf("period %d still seals with the first key", i)
		}
		clock.add(time.Hour)
	}
	if n := len(r.Names()); n != 3 {
		t.Fatalf("%d keys held, want 3 (current and two accepted)", n)
	}
}

// Tampered tickets, short ones and unknown key names all open to the same
// error.
func TestOpenRejects(t *testing.T) {
	r, _ := NewRotatingKeyRing(time.Hour, 1)
	defer r.Close()
	ticket, err := r.Seal([]byte("session state"))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"short":      ticket[:Overhead-1],
		"name":       flip(ticket, 0),
		"nonce":      flip(ticket, NameSize),
		"ciphertext": flip(ticket, NameSize+nonceSize),
		"tag":        flip(ticket, len(ticket)-1),
	} {
		if _, err := open(t, r, bad); !errors.Is(err, ErrUnknownTicket) {
			t.Errorf("%s spoiled: %v, want ErrUnknownTicket", name, err)
		}
	}
	other, _ := NewRotatingKeyRing(time.Hour, 1)
	defer other.Close()
	if _, err := open(t, other, ticket); !errors.Is(err, ErrUnknownTicket) {
		t.Errorf("another ring opened the ticket: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

// A provider's keys: introduced before they seal, replaced by name, and
// Seal fails cleanly with no key that may seal.
func TestInstall(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	r := NewKeyRing()
	defer r.Close()
	r.SetClock(clock.now, nil)
	if _, err := r.Seal(nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("empty ring sealed: %v", err)
	}
	a, b := [NameSize]byte{'a'}, [NameSize]byte{'b'}
	key := bytes.Repeat([]byte{7}, KeySize)
	if err := r.Install(a, key, clock.now(), clock.now().Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := r.Install(b, key, clock.now().Add(time.Hour), clock.now().Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ticket, _ := r.Seal([]byte("1"))
	if !bytes.Equal(ticket[:NameSize], a[:]) {
		t.Fatalf("sealed with %x before b's introduction", ticket[:NameSize])
	}
	clock.add(time.Hour)
	ticket2, _ := r.Seal([]byte("2"))
	if !bytes.Equal(ticket2[:NameSize], b[:]) {
		t.Fatalf("sealed with %x after b's introduction", ticket2[:NameSize])
	}
	if _, err := open(t, r, ticket); err != nil {
		t.Fatalf("a's ticket no longer opens: %v", err)
	}
	if err := r.Install(a, make([]byte, KeySize-1), clock.now(), clock.now().Add(time.Hour)); err == nil {
		t.Fatal("a short key was installed")
	}
	if err := r.Install(a, bytes.Repeat([]byte{9}, KeySize), clock.now(), clock.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, r, ticket); !errors.Is(err, ErrUnknownTicket) {
		t.Fatalf("a ticket opened under a replaced key: %v", err)
	}
}

func TestConcurrentSealOpenRotate(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	r, _ := NewRotatingKeyRing(time.Minute, 1)
	defer r.Close()
	r.SetClock(clock.now, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				tk, err := r.Seal([]byte("concurrent"))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := open(t, r, tk); err != nil && !errors.Is(err, ErrUnknownTicket) {
					t.Error(err)
					return
				}
				clock.add(time.Second)
			}
		})
	}
	wg.Wait()
}

func FuzzOpen(f *testing.F) {
	r, _ := NewRotatingKeyRing(time.Hour, 1)
	tk, _ := r.Seal([]byte("seed"))
	f.Add(tk)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ticket []byte) {
		dst := make([]byte, len(ticket))
		n, err := r.Open(dst, ticket)
		if err == nil && !bytes.Equal(dst[:n], []byte("seed")) {
			t.Fatalf("opened a forged ticket to %q", dst[:n])
		}
	})
}

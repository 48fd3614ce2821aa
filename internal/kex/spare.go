package kex

import "sync"

// An X25519 share made ahead of need. A handshake that finds one takes it
// and starts the next; the multiplication (about 20 µs) then runs while
// the handshake waits for its peer, rather than between receiving a hello
// and answering it. Each share is still used for one exchange only: Take
// hands the spare over and the caller frees it like any other share.
//
// Only X25519: its share is a scalar in locked memory and nothing else
// (x25519.go), so a spare that waits holds no library object; P-256,
// P-384 and ML-KEM shares are made when they are needed. A spare is a
// secret that exists before its connection does: memory read at that
// moment gives it away, as it would the share of any connection started
// afterwards, and no earlier connection's.
var x25519Spare = struct {
	mu      sync.Mutex
	share   *Private
	making  bool
	enabled bool
}{enabled: true}

// takeSpare returns the waiting X25519 share, or nil, and asks for the
// next one.
func takeSpare() *Private {
	s := &x25519Spare
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.enabled {
		return nil
	}
	p := s.share
	s.share = nil
	if !s.making {
		s.making = true
		go makeSpare()
	}
	return p
}

// makeSpare makes a share for the spare slot. A failure (locked memory
// exhausted, say) leaves the slot empty, and the next handshake makes its
// own share and meets the error itself.
func makeSpare() {
	p, err := generateNow(X25519)
	s := &x25519Spare
	s.mu.Lock()
	defer s.mu.Unlock()
	s.making = false
	if err != nil {
		return
	}
	if s.share != nil || !s.enabled {
		p.Free()
		return
	}
	s.share = p
}

// SetSpares turns the spare on or off (off also frees a waiting one), for
// tests and benchmarks that compare the two.
func SetSpares(on bool) {
	s := &x25519Spare
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enabled = on
	if !on {
		s.share.Free()
		s.share = nil
	}
}

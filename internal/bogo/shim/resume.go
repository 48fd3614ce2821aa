package main

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/holdfast-tls/holdfast"
	"github.com/holdfast-tls/holdfast/tickets"
)

// Sessions. With -resume-count N the shim makes N+1 connections in one
// process, the first with the initial configuration and the others with
// the resumption one (flags prefixed -on-initial or -on-resume apply to
// only one of them). The connections share what a deployment shares
// between connections: a client's ClientSessionCache, a server's ticket
// KeyRing and, when both connections use the same flags, the very same
// Config (whose TLS 1.2 session-ID cache lives inside it).
//
// What BoringSSL's shim checks about sessions, and how it maps here:
//
//   - a resumption connection resumes unless -expect-session-miss
//     (ConnectionState.DidResume, both sides);
//   - a client caches a new session in a TLS 1.2 full handshake, and
//     receives one after a TLS 1.3 handshake, unless -expect-no-session;
//     -expect-session-id and -expect-no-session-id ask the same of a
//     client's first handshake. The shim counts the sessions in the
//     client's cache: each ClientHello takes the newest one out, each
//     session the client keeps puts one in.
//   - -expect-verify-result: the outcome of the certificate callback in
//     this connection, or, on resumption without a certificate, the outcome
//     of the full handshake that made the session.
//
// What it cannot observe gives exitUnimplemented: whether a server cached
// a session ID (-expect-session-id and -expect-no-session-id on a server),
// whether a resumed TLS 1.2 connection got a renewed ticket rather than
// keeping the old one (Holdfast keeps a session after a resumption either
// way, so -expect-ticket-renewal cannot be told apart; the implicit
// BoringSSL check that a resumption without it caches nothing new is not
// made), tickets that allow early data (Holdfast has no 0-RTT), a client
// that resumes session IDs but not tickets (-no-ticket on a client),
// BoringSSL's ticket format (-ticket-key) and re-verification on
// resumption (-reverify-on-resume is not in known).

// clock is the shim's time: the real clock moved on by -resumption-delay,
// which BoringSSL's shim applies to its own clock between connections.
// Holdfast takes it through Config.Time and KeyRing.SetClock.
type clock struct{ skew atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) }

func (c *clock) advance(d time.Duration) { c.skew.Add(int64(d)) }

// shared is what the connections of one run have in common.
type shared struct {
	clock clock
	cache *holdfast.ClientSessionCache
	ring  *tickets.KeyRing
	// sessionVerifyFailed is the certificate callback's outcome in the
	// latest full handshake: what a resumption of its session inherits.
	sessionVerifyFailed bool
}

func newShared() (*shared, error) {
	sh := &shared{cache: holdfast.NewClientSessionCache(0)}
	ring, err := tickets.NewRotatingKeyRing(time.Hour, 24)
	if err != nil {
		return nil, err
	}
	ring.SetClock(sh.clock.now, nil)
	sh.ring = ring
	return sh, nil
}

// setSessions configures resumption from the session flags. A client
// always has a session cache, as BoringSSL's shim always keeps the
// sessions it is given: its ClientHellos ask for tickets, and a TLS 1.3
// client is expected to receive one.
func setSessions(f *flags, c *holdfast.Config, sh *shared, server bool) error {
	c.Time = sh.clock.now
	if server {
		c.TicketKeys = sh.ring
		// SSL_OP_NO_TICKET on a server: no tickets issued or accepted,
		// in TLS 1.2 and 1.3; session IDs still work.
		c.SessionTicketsDisabled = f.bools["-no-ticket"]
		for _, name := range []string{"-expect-session-id", "-expect-no-session-id"} {
			if f.bools[name] {
				return &errUnimplemented{name, "whether the server cached a session ID is not in ConnectionState"}
			}
		}
	} else {
		c.ClientSessionCache = sh.cache
		if f.bools["-no-ticket"] {
			return &errUnimplemented{"-no-ticket", "a client that resumes session IDs but offers no tickets"}
		}
	}
	if f.bools["-expect-ticket-renewal"] {
		return &errUnimplemented{"-expect-ticket-renewal", "a renewed TLS 1.2 ticket is not observable"}
	}
	if f.bools["-expect-ticket-supports-early-data"] {
		return &errUnimplemented{"-expect-ticket-supports-early-data", "no 0-RTT"}
	}
	// Holdfast never attempts 0-RTT, which BoringSSL reports as the
	// reason "disabled"; it never offers early data either, so
	// -expect-no-offer-early-data always holds.
	if r, ok := f.strings["-expect-early-data-reason"]; ok && r != "disabled" {
		return &errUnimplemented{"-expect-early-data-reason", fmt.Sprintf("reason %q (Holdfast has no 0-RTT)", r)}
	}
	if d := f.ints["-resumption-delay"]; d < 0 {
		return fmt.Errorf("-resumption-delay %d", d)
	}
	return nil
}

// runConnections makes the initial connection and -resume-count
// resumption connections. Both configurations are built before the first
// connection, so that an unimplemented flag on either exits before any.
func runConnections(cl *cmdline) error {
	sh, err := newShared()
	if err != nil {
		return err
	}
	initial, err := newTest(cl.initial, sh)
	if err != nil {
		return err
	}
	resume := initial
	if cl.split {
		if resume, err = newTest(cl.resume, sh); err != nil {
			return err
		}
		if resume.server != initial.server {
			return errors.New("-server differs between the initial and resumption connections")
		}
	}
	count := cl.initial.ints["-resume-count"]
	if count < 0 {
		return fmt.Errorf("-resume-count %d", count)
	}
	for i := range count + 1 {
		t := initial
		if i > 0 {
			t = resume
		}
		t.isResume = i > 0
		if err := t.connect(); err != nil {
			if count == 0 {
				return err
			}
			return fmt.Errorf("connection %d of %d: %w", i+1, count+1, err)
		}
		sh.clock.advance(time.Duration(t.f.ints["-resumption-delay"]) * time.Second)
	}
	return nil
}

// gotSession reports whether the client's cache gained a session in this
// connection.
func (t *test) gotSession() bool { return t.sh.cache.Len() > t.cacheBase }

// checkSession checks the session flags once the handshake is complete.
func (t *test) checkSession(st holdfast.ConnectionState) error {
	f := t.f
	wantResume := t.isResume && !f.bools["-expect-session-miss"]
	if st.DidResume != wantResume {
		if st.DidResume {
			return errors.New("session unexpectedly was reused")
		}
		return errors.New("session unexpectedly was not reused")
	}
	if f.bools["-expect-verify-result"] {
		failed := t.verifyFailed
		if !t.verifyCalled && st.DidResume {
			failed = t.sh.sessionVerifyFailed
		}
		if failed != f.bools["-verify-fail"] {
			return fmt.Errorf("certificate verification failed: %v, want %v", failed, f.bools["-verify-fail"])
		}
	}
	if !st.DidResume {
		t.sh.sessionVerifyFailed = t.verifyFailed
	}
	if t.server {
		return nil
	}
	// TLS 1.3 sessions come after the handshake (checkTickets); a TLS 1.2
	// one is cached when the handshake completes. After a TLS 1.2
	// resumption Holdfast keeps the session, renewed or not, which the
	// count cannot tell apart: no check there (see the top of this file).
	got := st.Version == holdfast.VersionTLS12 && t.gotSession()
	if st.Version == holdfast.VersionTLS12 && !st.DidResume {
		if want := !f.bools["-expect-no-session"]; got != want {
			return fmt.Errorf("new session was cached: %v, want %v", got, want)
		}
	}
	if !t.isResume {
		if f.bools["-expect-session-id"] && !got {
			return errors.New("no session was cached")
		}
		if f.bools["-expect-no-session-id"] && got {
			return errors.New("a session was unexpectedly cached")
		}
	}
	return nil
}

// checkTickets checks, once the runner has closed a TLS 1.3 connection,
// that the client received a session (a NewSessionTicket it kept) unless
// -expect-no-session.
func (t *test) checkTickets(conn *holdfast.Conn) error {
	if t.server || conn.ConnectionState().Version != holdfast.VersionTLS13 {
		return nil
	}
	got, want := t.gotSession(), !t.f.bools["-expect-no-session"]
	if got != want {
		return fmt.Errorf("new session was cached after the handshake: %v, want %v", got, want)
	}
	return nil
}

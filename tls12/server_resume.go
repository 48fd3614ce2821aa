package tls12

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/session"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Server-side TLS 1.2 resumption: an RFC 5077 ticket or a session ID from
// the server's cache starts the abbreviated handshake of RFC 5246 §7.3,
// Figure 2; a full handshake ends by issuing one or the other.

// sessionIDLen is the length of the session IDs this server makes.
const sessionIDLen = 32

// tryResume looks for a session the ClientHello names by ticket or by
// session ID and may resume: same version, extended master secret, a suite
// the client offers and the server allows, the same encrypt_then_mac
// status, and what params.Resumable checks. Anything else is a full
// handshake, never an error.
func (hs *serverHandshake) tryResume() bool {
	ch := hs.hello
	now := hs.p.Time()
	var st *session.State
	if len(ch.SessionTicket) > 0 && hs.p.Tickets != nil {
		if s, err := session.Open(hs.p.Tickets, ch.SessionTicket); err == nil {
			if age := now.Sub(s.Created); age >= 0 && age <= hs.p.TicketLifetime {
				st = s
			} else {
				s.Free()
			}
		}
	}
	if st == nil && len(ch.SessionID) > 0 && hs.p.SessionIDs != nil {
		st, _ = hs.p.SessionIDs.Get(ch.SessionID, now)
	}
	if st == nil {
		return false
	}
	suite, ok := SuiteByID(st.Suite)
	etm := ch.EncryptThenMAC && suite.AEAD == 0
	if !ok || st.Version != 0x0303 || !st.ExtendedMS || !slices.Contains(ch.CipherSuites, st.Suite) ||
		!slices.Contains(hs.p.Suites12, st.Suite) || etm != st.EtM {
		st.Free()
		return false
	}
	cert, peer, chains, ok := hs.p.Resumable(st, ch.ServerName)
	if !ok {
		st.Free()
		return false
	}
	hs.suite, hs.cert, hs.etm = suite, cert, etm
	hs.master, st.Secret = st.Secret, nil
	hs.state.PeerCertificates, hs.state.VerifiedChains = peer, chains
	hs.state.PeerScheme = sigscheme.Scheme(st.PeerScheme)
	st.Free()
	return true
}

// resume runs the abbreviated handshake: ServerHello echoing the client's
// session ID, change_cipher_spec and Finished; then the client's
// change_cipher_spec and Finished.
func (hs *serverHandshake) resume(ctx context.Context) error {
	if err := hs.pickALPN(); err != nil {
		return err
	}
	hs.transcript.start(hs.suite.Hash)
	hs.transcript.add(hs.hello.Raw)
	sh, err := hs.serverHello()
	if err != nil {
		return err
	}
	// RFC 5077 §3.4: a server resuming from a ticket echoes the client's
	// session ID, which is how the client learns it resumed.
	sh.SessionID = hs.hello.SessionID
	if err := hs.write(sh); err != nil {
		return err
	}
	if err := hs.installKeys(); err != nil {
		return err
	}
	if err := hs.sendFinished(); err != nil {
		return err
	}
	if err := hs.tr.ReadChangeCipherSpec(ctx); err != nil {
		return err
	}
	if err := hs.tr.SetReadProtection(hs.pending.takeRead()); err != nil {
		return err
	}
	fin, err := expect(ctx, hs.tr, wire.TypeFinished, "client Finished", wire.ParseFinished)
	if err != nil {
		return err
	}
	if err := checkFinished(hs.suite, hs.master, "client finished", hs.transcript.sum(), fin.VerifyData); err != nil {
		return fmt.Errorf("client %w", err)
	}
	hs.transcript.add(fin.Raw)
	hs.state.DidResume = true
	return nil
}

// offerSession decides, for a full handshake, how the session will be
// resumable: by a ticket when the client asks for one and the server has
// ticket keys, else by a session ID in the server's cache.
func (hs *serverHandshake) offerSession(sh *wire.ServerHello) error {
	switch {
	case hs.hello.TicketSupported && hs.p.Tickets != nil:
		sh.TicketSupported = true
		hs.issueTicket = true
	case hs.p.SessionIDs != nil:
		hs.sessionID = make([]byte, sessionIDLen)
		if _, err := io.ReadFull(hs.p.Rand, hs.sessionID); err != nil {
			return fmt.Errorf("reading randomness: %w", err)
		}
		sh.SessionID = hs.sessionID
	}
	return nil
}

// sessionState is the resumable state of this connection; the secret is
// a copy of the master secret, owned by the caller.
func (hs *serverHandshake) sessionState() (*session.State, error) {
	st := &session.State{Version: 0x0303, Suite: hs.suite.ID, Created: hs.p.Time(), ExtendedMS: true, EtM: hs.etm,
		Lifetime: uint32(hs.p.TicketLifetime / time.Second), ServerName: hs.hello.ServerName, ALPN: hs.alpn}
	params.SessionFor(st, hs.cert, hs.state.PeerCertificates)
	st.PeerScheme = uint16(hs.state.PeerScheme)
	secret, err := hs.master.Clone()
	if err != nil {
		return nil, err
	}
	st.Secret = secret
	return st, nil
}

// sendTicket sends the RFC 5077 NewSessionTicket that ends a full
// handshake's server side, before its change_cipher_spec.
func (hs *serverHandshake) sendTicket() error {
	st, err := hs.sessionState()
	if err != nil {
		return err
	}
	ticket, err := st.Seal(hs.p.Tickets)
	st.Free()
	if err != nil {
		return fmt.Errorf("sealing a session ticket: %w", err)
	}
	return hs.write(&wire.NewSessionTicket12{LifetimeHint: uint32(hs.p.TicketLifetime / time.Second), Ticket: ticket})
}

// cacheSession stores a full handshake's session under the session ID the
// ServerHello gave it.
func (hs *serverHandshake) cacheSession() error {
	if hs.sessionID == nil {
		return nil
	}
	st, err := hs.sessionState()
	if err != nil {
		return err
	}
	hs.p.SessionIDs.Put(hs.sessionID, st, hs.p.Time())
	return nil
}

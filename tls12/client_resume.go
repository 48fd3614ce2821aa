package tls12

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/session"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Client-side TLS 1.2 resumption. The ClientHello (made by the TLS 1.3
// engine, which offers both versions) carried the session's ID and
// ticket; a ServerHello echoing that ID resumes it.

// resuming reports whether the ServerHello resumes the offered session,
// and checks it resumes it faithfully (RFC 5246 §7.4.1.3, RFC 5077 §3.4).
func (hs *clientHandshake) resuming() (bool, error) {
	sh := hs.server
	if len(sh.SessionID) == 0 || !bytes.Equal(sh.SessionID, hs.hello.SessionID) {
		return false, nil
	}
	if hs.offered == nil {
		return false, fmt.Errorf("ServerHello echoes a session ID the client did not offer to resume: %w", alert.ErrIllegalParameter)
	}
	if sh.CipherSuite != hs.offered.Suite {
		return false, fmt.Errorf("server resumed with suite %#04x, not the session's %#04x: %w", sh.CipherSuite, hs.offered.Suite, alert.ErrIllegalParameter)
	}
	if hs.etm != hs.offered.EtM {
		return false, fmt.Errorf("server changed encrypt_then_mac on resumption (RFC 7366 §3.1): %w", alert.ErrIllegalParameter)
	}
	return true, nil
}

// resume runs the client side of the abbreviated handshake: the server's
// optional NewSessionTicket, change_cipher_spec and Finished, then ours.
func (hs *clientHandshake) resume(ctx context.Context) error {
	hs.master, hs.offered.Secret = hs.offered.Secret, nil
	for _, der := range hs.offered.PeerCerts {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		hs.state.PeerCertificates = append(hs.state.PeerCertificates, c)
	}
	hs.state.PeerScheme = sigscheme.Scheme(hs.offered.PeerScheme)
	hs.state.OCSPResponse = hs.offered.OCSPResponse
	kb, err := deriveKeyBlock(hs.suite, hs.master, hs.hello.Random[:], hs.server.Random[:])
	if err != nil {
		return err
	}
	hs.pending.read, hs.pending.write, err = newProtections(hs.suite, kb, true, hs.etm, hs.p.Rand)
	kb.free()
	if err != nil {
		return err
	}
	if err := hs.readNewSessionTicket(ctx); err != nil {
		return err
	}
	if err := hs.readServerFinished(ctx); err != nil {
		return err
	}
	verify, err := finishedData(hs.suite, hs.master, "client finished", hs.transcript.sum())
	if err != nil {
		return err
	}
	if err := hs.tr.WriteChangeCipherSpec(); err != nil {
		return err
	}
	hs.tr.SetWriteProtection(hs.pending.takeWrite())
	if err := hs.write(&wire.Finished{VerifyData: verify}); err != nil {
		return err
	}
	if err := hs.tr.Flush(); err != nil {
		return err
	}
	hs.state.DidResume = true
	return nil
}

// readNewSessionTicket reads the RFC 5077 NewSessionTicket a server that
// answered session_ticket sends before its change_cipher_spec.
func (hs *clientHandshake) readNewSessionTicket(ctx context.Context) error {
	if !hs.server.TicketSupported {
		return nil
	}
	nst, err := expect(ctx, hs.tr, wire.TypeNewSessionTicket, "NewSessionTicket", wire.ParseNewSessionTicket12)
	if err != nil {
		return err
	}
	hs.transcript.add(nst.Raw)
	hs.newTicket = nst
	return nil
}

// storeSession puts the connection's session in the client's store once
// the handshake has finished: with the ticket the server just sent, else
// under the session ID it gave (a resumed session keeps its old ticket).
func (hs *clientHandshake) storeSession() error {
	if hs.p.ClientSessions == nil {
		return nil
	}
	t := &session.ClientTicket{SessionID: append([]byte(nil), hs.server.SessionID...), OCSPResponse: hs.state.OCSPResponse}
	lifetime := hs.p.TicketLifetime
	switch {
	case hs.newTicket != nil && len(hs.newTicket.Ticket) > 0:
		t.Ticket = hs.newTicket.Ticket
		if hint := time.Duration(hs.newTicket.LifetimeHint) * time.Second; hint > 0 && hint < lifetime {
			lifetime = hint
		}
	case hs.state.DidResume && hs.offered != nil:
		t.Ticket = hs.offered.Ticket
	case len(t.SessionID) == 0:
		return nil // the server offered no way to resume
	}
	if len(t.SessionID) == 0 {
		t.SessionID = nil
	}
	lifetime = min(lifetime, session.MaxIDLifetime)
	secret, err := hs.master.Clone()
	if err != nil {
		return err
	}
	t.State = session.State{Version: 0x0303, Suite: hs.suite.ID, Created: hs.p.Time(), Lifetime: uint32(lifetime / time.Second),
		ExtendedMS: true, EtM: hs.etm, ServerName: hs.p.ServerName, ALPN: hs.state.ALPN, PeerScheme: uint16(hs.state.PeerScheme), Secret: secret}
	for _, c := range hs.state.PeerCertificates {
		t.PeerCerts = append(t.PeerCerts, c.Raw)
	}
	hs.p.ClientSessions.Put(hs.p.ServerName, t)
	return nil
}

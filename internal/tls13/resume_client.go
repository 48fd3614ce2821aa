package tls13

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/session"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// SessionKey is the key a client's tickets are stored under: the server
// name it asked for (RFC 8446 §4.6.1: a ticket is only for the server
// that issued it).
func SessionKey(p *Params) string { return p.ServerName }

// offerTicket adds to ch a session from the client's store, if one fits
// this connection: a TLS 1.3 ticket as a PSK identity with a placeholder
// binder that writeHello fills in, or a TLS 1.2 session as its session ID
// and RFC 5077 ticket. A client with a store always asks for tickets:
// psk_dhe_ke for TLS 1.3 (servers send none without it) and an empty
// session_ticket extension for TLS 1.2.
func (hs *clientHandshake) offerTicket(ch *wire.ClientHello, offer13, offer12 bool) {
	if hs.p.ClientSessions == nil {
		return
	}
	if offer13 {
		ch.PSKModes = []uint8{pskModeDHEKE}
	}
	if offer12 {
		ch.TicketSupported = true
	}
	t := hs.p.ClientSessions.Take(SessionKey(hs.p))
	if t == nil {
		return
	}
	now := hs.p.Time()
	age := now.Sub(t.Created)
	if t.ServerName != hs.p.ServerName || age < 0 || age >= time.Duration(t.Lifetime)*time.Second || !leafStillValid(t.PeerCerts, now) {
		t.Free()
		return
	}
	switch {
	case t.Version == 0x0304 && offer13 && isOneOf(t.Suite, hs.p.Suites):
		suite, _ := SuiteByID(t.Suite)
		hs.ticket, hs.ticketSuite = t, suite
		ch.PSKIdentities = []wire.PSKIdentity{{Identity: t.Ticket, ObfuscatedAge: uint32(age/time.Millisecond) + t.AgeAdd}}
		ch.PSKBinders = [][]byte{make([]byte, suite.Hash.Size())}
	case t.Version == 0x0303 && offer12 && isOneOf(t.Suite, hs.p.Suites12) && t.ExtendedMS:
		hs.ticket12 = t
		if len(t.SessionID) > 0 {
			ch.SessionID = t.SessionID
		}
		ch.SessionTicket = t.Ticket
	default:
		t.Free()
	}
}

// leafStillValid: a session resumed lives on the server certificate it
// was made with; once that has expired, a full handshake is due.
func leafStillValid(chain [][]byte, now time.Time) bool {
	if len(chain) == 0 {
		return false
	}
	leaf, err := x509.ParseCertificate(chain[0])
	return err == nil && now.Before(leaf.NotAfter)
}

// fillBinder computes the ticket's binder over the transcript so far and
// the truncated ClientHello, writes it into ch.Raw, and keeps the early
// secret for the handshake if the server accepts the ticket.
func (hs *clientHandshake) fillBinder(ch *wire.ClientHello) error {
	truncated, err := ch.TruncatedForBinders()
	if err != nil {
		return err
	}
	h := hs.ticketSuite.Hash.New()
	if hs.transcript.h != nil {
		h = hs.transcript.fork()
	}
	h.Write(truncated)
	hs.early.Free()
	if hs.early, err = hkdf.NewEarlySecret(hs.ticketSuite.Hash, hs.ticket.Secret); err != nil {
		return err
	}
	key, err := hs.early.BinderKey(false)
	if err != nil {
		return err
	}
	defer key.Free()
	binder, err := finishedMAC(hs.ticketSuite, key, h.Sum(nil))
	if err != nil {
		return err
	}
	return ch.UpdateBinders([][]byte{binder})
}

// dropTicket withdraws the offer: after a HelloRetryRequest for a suite
// whose hash the ticket cannot serve, the second ClientHello goes without.
func (hs *clientHandshake) dropTicket(ch *wire.ClientHello) {
	ch.PSKIdentities, ch.PSKBinders = nil, nil
	hs.ticket.Free()
	hs.early.Free()
	hs.ticket, hs.early = nil, nil
}

// acceptTicket checks the server's pre_shared_key answer (RFC 8446
// §4.2.11): it may select only the identity offered, for a suite with the
// ticket's hash. It then takes the server's certificates from the ticket.
func (hs *clientHandshake) acceptTicket(sh *wire.ServerHello) error {
	if !sh.PSKSelected {
		hs.early.Free()
		hs.early = nil
		return nil
	}
	if hs.ticket == nil || sh.SelectedPSKIdentity != 0 {
		return fmt.Errorf("server selected PSK identity %d, which the client did not offer: %w", sh.SelectedPSKIdentity, alert.ErrIllegalParameter)
	}
	if hs.suite.Hash != hs.ticketSuite.Hash {
		return fmt.Errorf("server resumed with suite %v, whose hash the ticket's suite %v does not share: %w", hs.suite, hs.ticketSuite, alert.ErrIllegalParameter)
	}
	for _, der := range hs.ticket.PeerCerts {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		hs.state.PeerCertificates = append(hs.state.PeerCertificates, c)
	}
	hs.state.PeerScheme = sigscheme.Scheme(hs.ticket.PeerScheme)
	hs.state.OCSPResponse = hs.ticket.OCSPResponse
	hs.resumed = true
	return nil
}

// TicketFromMessage turns a NewSessionTicket received after the handshake
// into a session the client can offer later, or nil for a ticket the
// server says not to use (lifetime 0). The PSK is derived from the
// connection's resumption master secret and the ticket's nonce.
func TicketFromMessage(st *State, msg *wire.NewSessionTicket, now time.Time) (*session.ClientTicket, error) {
	if msg.Lifetime == 0 || st.ResumptionSecret == nil {
		return nil, nil
	}
	if time.Duration(msg.Lifetime)*time.Second > MaxTicketLifetime {
		return nil, fmt.Errorf("NewSessionTicket lifetime %d s is over 7 days: %w", msg.Lifetime, alert.ErrIllegalParameter)
	}
	psk, err := mem.New(st.Suite.Hash.Size())
	if err != nil {
		return nil, err
	}
	if err := hkdf.ResumptionPSK(st.Suite.Hash, psk, st.ResumptionSecret, msg.Nonce); err != nil {
		psk.Free()
		return nil, err
	}
	t := &session.ClientTicket{Ticket: append([]byte(nil), msg.Ticket...), OCSPResponse: st.OCSPResponse}
	t.State = session.State{Version: 0x0304, Suite: st.Suite.ID, Created: now, AgeAdd: msg.AgeAdd, Lifetime: msg.Lifetime,
		ServerName: st.ServerName, ALPN: st.ALPN, PeerScheme: uint16(st.PeerScheme), Secret: psk}
	for _, c := range st.PeerCertificates {
		t.PeerCerts = append(t.PeerCerts, c.Raw)
	}
	return t, nil
}

package tls13

import (
	"crypto/hmac"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"slices"
	"time"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/session"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// PSK key exchange modes (RFC 8446 §4.2.9).
const (
	pskModeKE    = 0 // psk_ke: the PSK alone
	pskModeDHEKE = 1 // psk_dhe_ke: the PSK with a fresh (EC)DHE exchange
)

// maxPSKIdentities bounds how many offered tickets a server tries to
// open: each costs an AES-GCM open, and the client chooses the count.
const maxPSKIdentities = 4

// MaxTicketLifetime is RFC 8446 §4.6.1's cap on ticket_lifetime.
const MaxTicketLifetime = 7 * 24 * time.Hour

// ticketAgeSkew is how far the age the client reports for a ticket may
// run ahead of, or behind, the server's own count (clock rates, round
// trips) before the ticket is refused.
const ticketAgeSkew = time.Minute

// forkTranscript returns a copy of the transcript hash so far, for the
// PSK binders, which cover the transcript up to a truncated ClientHello.
func (t *transcript) fork() hash.Hash {
	return cloneHash(t.h)
}

// cloneHash copies a SHA-2 state; the standard library's always can be.
func cloneHash(h hash.Hash) hash.Hash {
	c, err := h.(hash.Cloner).Clone()
	if err != nil {
		panic("tls13: SHA-2 state cannot be cloned: " + err.Error())
	}
	return c
}

// tryResume looks for an acceptable ticket among the final ClientHello's
// PSK identities (RFC 8446 §4.2.11). preCH is the transcript before that
// ClientHello. On success hs.resumed holds the session, hs.early the
// early secret made from its PSK and hs.pskIndex the identity chosen; with
// none acceptable the handshake goes on in full.
func (hs *serverHandshake) tryResume(preCH hash.Hash) error {
	ch := hs.hello
	if len(ch.PSKIdentities) == 0 {
		return nil
	}
	if len(ch.PSKModes) == 0 {
		return fmt.Errorf("pre_shared_key without psk_key_exchange_modes: %w", alert.ErrMissingExtension)
	}
	if hs.p.Tickets == nil {
		return nil
	}
	if hs.pskOnly != hs.pskOnlyOffer() {
		return nil // the other call of tryResume handles this mode
	}
	if !hs.pskOnly && !slices.Contains(ch.PSKModes, pskModeDHEKE) {
		return nil // no mode both sides support (RFC 8446 §4.2.9): a full handshake
	}
	truncated, err := ch.TruncatedForBinders()
	if err != nil {
		return fmt.Errorf("pre_shared_key: %v: %w", err, alert.ErrDecode)
	}
	now := hs.p.Time()
	for i, id := range ch.PSKIdentities {
		if i == maxPSKIdentities {
			break
		}
		st, err := session.Open(hs.p.Tickets, id.Identity)
		if err != nil {
			continue // not ours, expired key or spoiled: a full handshake
		}
		cert, peer, chains, ok := hs.acceptable(st, id.ObfuscatedAge, now)
		if !ok {
			st.Free()
			continue
		}
		early, err := hkdf.NewEarlySecret(hs.suite.Hash, st.Secret)
		if err != nil {
			st.Free()
			return err
		}
		h := cloneHash(preCH)
		h.Write(truncated)
		if err := checkBinder(hs.suite, early, h.Sum(nil), ch.PSKBinders[i]); err != nil {
			early.Free()
			st.Free()
			return err
		}
		expiry := st.Created.Add(time.Duration(st.Lifetime) * time.Second)
		if hs.p.Used != nil && !hs.p.Used.FirstUse(id.Identity, now, expiry) {
			early.Free()
			st.Free()
			continue // seen before: single-use tickets get a full handshake
		}
		hs.resumed, hs.early, hs.pskIndex, hs.cert = st, early, i, cert
		hs.state.PeerCertificates, hs.state.VerifiedChains = peer, chains
		hs.state.PeerScheme = sigscheme.Scheme(st.PeerScheme)
		return nil
	}
	return nil
}

// pskOnlyOffer: the client offers psk_ke and the server's operator opted
// in to it, so a resumed handshake skips the (EC)DHE exchange, trading
// forward secrecy for the resumed connection for speed.
func (hs *serverHandshake) pskOnlyOffer() bool {
	return hs.p.AllowPSKOnly && slices.Contains(hs.hello.PSKModes, pskModeKE)
}

// checkBinder compares a PSK binder with the one the early secret gives
// over the truncated transcript, in constant time. A wrong binder means
// the ClientHello was altered or the client does not hold the PSK: the
// handshake fails with decrypt_error (RFC 8446 §4.2.11).
func checkBinder(s Suite, early *hkdf.EarlySecret, th, binder []byte) error {
	key, err := early.BinderKey(false)
	if err != nil {
		return err
	}
	defer key.Free()
	want, err := finishedMAC(s, key, th)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, binder) {
		return fmt.Errorf("PSK binder does not verify: %w", alert.ErrDecryptError)
	}
	return nil
}

// acceptable reports whether a decrypted session may be resumed on this
// connection, and with which of the configured certificates.
func (hs *serverHandshake) acceptable(st *session.State, obfuscatedAge uint32, now time.Time) (cert *Certificate, peer []*x509.Certificate, chains [][]*x509.Certificate, ok bool) {
	if st.Version != 0x0304 {
		return nil, nil, nil, false
	}
	if s, ok := SuiteByID(st.Suite); !ok || s.Hash != hs.suite.Hash {
		return nil, nil, nil, false
	}
	age := now.Sub(st.Created)
	life := min(time.Duration(st.Lifetime)*time.Second, hs.p.TicketLifetime, MaxTicketLifetime)
	if age < -ticketAgeSkew || age > life {
		return nil, nil, nil, false
	}
	// The client's view of the age (RFC 8446 §4.2.11.1) must agree with
	// ours, give or take the skew: a ticket replayed much later, or one
	// whose age_add was lost, is refused.
	clientAge := time.Duration(obfuscatedAge-st.AgeAdd) * time.Millisecond
	if clientAge > age+ticketAgeSkew || clientAge+ticketAgeSkew < age {
		return nil, nil, nil, false
	}
	return hs.p.Resumable(st, hs.hello.ServerName)
}

// sendTickets sends TicketCount NewSessionTickets after the client's
// Finished (RFC 8446 §4.6.1), each a sealed session whose PSK derives from
// the resumption master secret and the ticket's nonce.
func (hs *serverHandshake) sendTickets() error {
	if hs.p.Tickets == nil || hs.p.TicketCount <= 0 || len(hs.hello.PSKModes) == 0 {
		return nil
	}
	if !slices.Contains(hs.hello.PSKModes, pskModeDHEKE) && !(hs.p.AllowPSKOnly && slices.Contains(hs.hello.PSKModes, pskModeKE)) {
		return nil
	}
	res, err := hs.master.ResumptionMasterSecret(hs.transcript.sum())
	if err != nil {
		return err
	}
	defer res.Free()
	life := min(hs.p.TicketLifetime, MaxTicketLifetime)
	st := session.State{
		Version:    0x0304,
		Suite:      hs.suite.ID,
		Created:    hs.p.Time(),
		Lifetime:   uint32(life / time.Second),
		ServerName: hs.hello.ServerName,
		ALPN:       hs.alpn,
	}
	params.SessionFor(&st, hs.cert, hs.state.PeerCertificates)
	st.PeerScheme = uint16(hs.state.PeerScheme)
	for i := range hs.p.TicketCount {
		nonce := []byte{byte(i)}
		var rnd [4]byte
		if _, err := io.ReadFull(hs.p.Rand, rnd[:]); err != nil {
			return fmt.Errorf("reading randomness: %w", err)
		}
		st.AgeAdd = binary.BigEndian.Uint32(rnd[:])
		if st.Secret, err = mem.New(hs.suite.Hash.Size()); err != nil {
			return err
		}
		err := hkdf.ResumptionPSK(hs.suite.Hash, st.Secret, res, nonce)
		var ticket []byte
		if err == nil {
			ticket, err = st.Seal(hs.p.Tickets)
		}
		st.Free()
		if err != nil {
			return fmt.Errorf("sealing a session ticket: %w", err)
		}
		msg := &wire.NewSessionTicket{Lifetime: st.Lifetime, AgeAdd: st.AgeAdd, Nonce: nonce, Ticket: ticket}
		raw, err := msg.Marshal()
		if err != nil {
			return err
		}
		if err := hs.tr.WriteHandshake(raw); err != nil {
			return err
		}
	}
	return hs.tr.Flush()
}

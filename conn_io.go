package holdfast

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/internal/tls13"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// Read reads application data, running the handshake first if needed.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.in.Lock()
	defer c.in.Unlock()
	for len(c.in.pending) == 0 {
		if c.in.err != nil {
			return 0, c.in.err
		}
		if err := c.readRecord(); err != nil {
			c.in.err = err
			return 0, err
		}
	}
	n := copy(b, c.in.pending)
	c.in.pending = c.in.pending[n:]
	return n, nil
}

// readRecord reads one record after the handshake: application data is
// left in c.in.pending, post-handshake messages are handled, alerts end
// the connection. c.in is held.
func (c *Conn) readRecord() error {
	typ, payload, err := c.in.rl.Next()
	if errors.Is(err, io.EOF) {
		// The transport ended without close_notify: the data may have
		// been truncated (RFC 8446 §6.1, RFC 5246 §7.2.1). Only the
		// peer's close_notify reads as io.EOF.
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return c.failRead(err)
	}
	switch typ {
	case record.TypeApplicationData:
		if len(payload) == 0 {
			return c.countIdle(idleEmpty)
		}
		c.in.idle = [idleKinds]int{}
		c.in.pending = payload
		return nil
	case record.TypeAlert:
		if c.ignorableWarning(payload) {
			return c.countIdle(idleWarning)
		}
		return c.readAlert(payload)
	case record.TypeHandshake:
		if len(payload) == 0 {
			return c.failRead(fmt.Errorf("empty handshake record: %w", alert.ErrUnexpectedMessage))
		}
		c.in.msgs.Add(payload)
		for {
			msg, ok, err := c.in.msgs.Next()
			if err != nil {
				return c.failRead(err)
			}
			if !ok {
				return nil
			}
			kind := idleMessage
			if msg[0] == wire.TypeKeyUpdate {
				kind = idleKeyUpdate
			}
			if err := c.countIdle(kind); err != nil {
				return err
			}
			if err := c.handlePostHandshake(msg); err != nil {
				return c.failRead(err)
			}
		}
	default:
		return c.failRead(fmt.Errorf("%v record after the handshake: %w", typ, alert.ErrUnexpectedMessage))
	}
}

// Kinds of records that carry no application data, and how many of each
// may arrive in a row before the peer is cut off. The bounds leave room
// for what honest peers do (a few tickets, key updates, a warning) while
// a flood ends with unexpected_message instead of busy work without end.
const (
	idleEmpty     = iota // empty application data records
	idleWarning          // warning alerts that do not end the connection
	idleKeyUpdate        // KeyUpdate messages
	idleMessage          // other post-handshake messages: tickets, renegotiation attempts
	idleKinds
)

var floodLimits = [idleKinds]int{idleEmpty: 32, idleWarning: 4, idleKeyUpdate: 32, idleMessage: 32}

var idleNames = [idleKinds]string{"empty records", "warning alerts", "KeyUpdates", "post-handshake messages"}

// countIdle counts one record of kind and fails the connection once the
// peer has sent more of them in a row than floodLimits allows. c.in is
// held.
func (c *Conn) countIdle(kind int) error {
	c.in.idle[kind]++
	if c.in.idle[kind] > floodLimits[kind] {
		return c.failRead(fmt.Errorf("%d %s in a row without application data: %w", c.in.idle[kind], idleNames[kind], alert.ErrUnexpectedMessage))
	}
	return nil
}

// ignorableWarning reports whether an alert record is a warning the
// connection carries on after: in TLS 1.2 any warning but close_notify
// (RFC 5246 §7.2); in TLS 1.3 only user_canceled, since every other alert
// but close_notify is fatal whatever its level (RFC 8446 §6).
func (c *Conn) ignorableWarning(payload []byte) bool {
	if len(payload) != 2 || payload[0] != 1 || alert.Alert(payload[1]) == alert.CloseNotify {
		return false
	}
	return c.vers == VersionTLS12 || alert.Alert(payload[1]) == alert.UserCanceled
}

// failRead sends the alert for a read-side failure. c.in is held.
func (c *Conn) failRead(err error) error {
	c.out.Lock()
	defer c.out.Unlock()
	err = c.fail(err)
	c.out.err = err
	return err
}

// handlePostHandshake processes a message after the handshake (RFC 8446
// §4.6). c.in is held.
func (c *Conn) handlePostHandshake(msg []byte) error {
	if c.vers == VersionTLS12 {
		return c.refuseRenegotiation(msg)
	}
	switch msg[0] {
	case wire.TypeNewSessionTicket:
		if !c.isClient {
			return fmt.Errorf("client sent NewSessionTicket: %w", alert.ErrUnexpectedMessage)
		}
		nst, err := wire.ParseNewSessionTicket(msg)
		if err != nil {
			return fmt.Errorf("parsing NewSessionTicket: %w", err)
		}
		p, _ := c.config.resolve()
		if p == nil || p.ClientSessions == nil {
			return nil
		}
		t, err := tls13.TicketFromMessage(c.state, nst, p.Time())
		if err != nil || t == nil {
			return err
		}
		p.ClientSessions.Put(tls13.SessionKey(p), t)
		return nil
	case wire.TypeKeyUpdate:
		ku, err := wire.ParseKeyUpdate(msg)
		if err != nil {
			return fmt.Errorf("parsing KeyUpdate: %w", err)
		}
		if c.in.msgs.Buffered() > 0 {
			return fmt.Errorf("KeyUpdate not at a record boundary: %w", alert.ErrUnexpectedMessage)
		}
		if err := c.rotateRead(); err != nil {
			return err
		}
		if ku.UpdateRequested {
			c.out.Lock()
			defer c.out.Unlock()
			if c.out.answeredUpdate {
				return nil
			}
			c.out.answeredUpdate = true
			return c.sendKeyUpdateLocked(false)
		}
		return nil
	}
	return fmt.Errorf("handshake message type %d after the handshake: %w", msg[0], alert.ErrUnexpectedMessage)
}

// refuseRenegotiation answers a TLS 1.2 HelloRequest (to a client) or
// ClientHello (to a server) with a no_renegotiation warning and carries on
// (RFC 5246 §7.4.1.1, RFC 5746 §4.2); anything else is unexpected. c.in
// is held.
func (c *Conn) refuseRenegotiation(msg []byte) error {
	if c.isClient && msg[0] == wire.TypeHelloRequest || !c.isClient && msg[0] == wire.TypeClientHello {
		c.out.Lock()
		defer c.out.Unlock()
		if c.out.err == nil {
			c.out.rl.Append(record.TypeAlert, []byte{1, byte(alert.NoRenegotiation)})
			c.out.rl.Flush()
		}
		return nil
	}
	return fmt.Errorf("handshake message type %d after a TLS 1.2 handshake: %w", msg[0], alert.ErrUnexpectedMessage)
}

// peerSecret and ownSecret are the application traffic secrets by
// direction.
func (c *Conn) peerSecret() **mem.Secret {
	if c.isClient {
		return &c.state.ServerTrafficSecret
	}
	return &c.state.ClientTrafficSecret
}

func (c *Conn) ownSecret() **mem.Secret {
	if c.isClient {
		return &c.state.ClientTrafficSecret
	}
	return &c.state.ServerTrafficSecret
}

// nextSecret replaces *cur with application_traffic_secret_N+1 (RFC 8446
// §7.2), wiping the old one.
func (c *Conn) nextSecret(cur **mem.Secret) error {
	h := c.state.Suite.Hash
	next, err := mem.New(h.Size())
	if err != nil {
		return err
	}
	if err := hkdf.NextTrafficSecret(h, next, *cur); err != nil {
		next.Free()
		return err
	}
	(*cur).Free()
	*cur = next
	return nil
}

// rotateRead moves the read direction to the peer's next key. c.in is held.
func (c *Conn) rotateRead() error {
	s := c.peerSecret()
	if err := c.nextSecret(s); err != nil {
		return err
	}
	o, err := tls13.NewProtection(c.state.Suite, *s)
	if err != nil {
		return err
	}
	c.in.rl.SetOpener(o, record.MaxBody13)
	return nil
}

// sendKeyUpdateLocked sends KeyUpdate and moves the write direction to the
// next key. c.out is held.
func (c *Conn) sendKeyUpdateLocked(requestPeer bool) error {
	if c.out.err != nil {
		return c.out.err
	}
	ku := &wire.KeyUpdate{UpdateRequested: requestPeer}
	raw, err := ku.Marshal()
	if err != nil {
		return err
	}
	if err := c.out.rl.Append(record.TypeHandshake, raw); err != nil {
		return err
	}
	if err := c.out.rl.Flush(); err != nil {
		return err
	}
	s := c.ownSecret()
	if err := c.nextSecret(s); err != nil {
		return err
	}
	w, err := tls13.NewProtection(c.state.Suite, *s)
	if err != nil {
		return err
	}
	c.out.rl.SetSealer(w)
	return nil
}

// KeyUpdate sends a KeyUpdate (RFC 8446 §4.6.3), moving this side's
// writes to a new key; with requestPeer the peer is asked to do the same.
func (c *Conn) KeyUpdate(requestPeer bool) error {
	if err := c.Handshake(); err != nil {
		return err
	}
	if c.vers != VersionTLS13 {
		return errors.New("holdfast: KeyUpdate needs TLS 1.3")
	}
	c.out.Lock()
	defer c.out.Unlock()
	return c.sendKeyUpdateLocked(requestPeer)
}

// maxWriteBatch is how much application data one flush carries.
const maxWriteBatch = 4 * record.MaxPlaintext

// Write writes application data in records of at most 16 KiB, running
// the handshake first if needed. A key nearing its usage limit is
// replaced by a KeyUpdate before more is sealed.
func (c *Conn) Write(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return 0, c.out.err
	}
	n := 0
	for len(b) > 0 {
		if c.out.rl.NeedsKeyUpdate() {
			if err := c.sendKeyUpdateLocked(false); err != nil {
				c.out.err = err
				return n, err
			}
		}
		chunk := b[:min(len(b), maxWriteBatch)]
		c.out.answeredUpdate = false
		if err := c.out.rl.Append(record.TypeApplicationData, chunk); err != nil {
			c.out.err = err
			return n, err
		}
		if err := c.out.rl.Flush(); err != nil {
			c.out.err = err
			return n, err
		}
		n += len(chunk)
		b = b[len(chunk):]
	}
	return n, nil
}

// ErrClosed is returned by writes after CloseWrite or Close.
var ErrClosed = errors.New("holdfast: connection closed for writing")

// CloseWrite sends close_notify and stops writing, leaving the read side
// open (half-close, RFC 8446 §6.1).
func (c *Conn) CloseWrite() error {
	if !c.handshakeDone.Load() {
		return errors.New("holdfast: CloseWrite before the handshake completed")
	}
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return nil
	}
	c.sendAlertLocked(alert.CloseNotify)
	c.out.err = ErrClosed
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		// Once a peer's reset has arrived the kernel answers ENOTCONN:
		// there is no write side left to close, which is what was asked.
		if err := cw.CloseWrite(); err != nil && !errors.Is(err, syscall.ENOTCONN) {
			return err
		}
	}
	return nil
}

// Close sends close_notify (if the handshake completed), closes the
// underlying connection and wipes every secret the connection holds. It is
// safe to call more than once.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if c.handshakeDone.Load() {
			// Bound the close_notify so a stalled peer cannot hang Close.
			c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.out.Lock()
			if c.out.err == nil {
				c.sendAlertLocked(alert.CloseNotify)
				c.out.err = ErrClosed
			}
			c.out.Unlock()
		}
		err = c.conn.Close()
		// Closing the socket unblocks a Read in progress; then the
		// secrets can be wiped under both locks.
		c.handshakeMu.Lock()
		c.in.Lock()
		c.out.Lock()
		c.in.rl.Close()
		c.out.rl.Close()
		c.state.Free()
		c.state12.Free()
		c.in.pending = nil
		c.out.Unlock()
		c.in.Unlock()
		c.handshakeMu.Unlock()
	})
	return err
}

// ConnectionState describes a completed handshake.
type ConnectionState struct {
	Version            uint16
	HandshakeComplete  bool
	CipherSuite        uint16
	CurveID            CurveID
	NegotiatedProtocol string
	ServerName         string
	PeerCertificates   []*x509.Certificate
	VerifiedChains     [][]*x509.Certificate
	DidHelloRetry      bool
	DidResume          bool // the handshake resumed a session

	// PeerSignatureScheme is the TLS SignatureScheme code point (RFC 8446
	// §4.2.3; the constants are in package signer) with which the peer
	// proved it holds its certificate's key, or 0 if it signed nothing:
	//
	//   - TLS 1.3, client: the server's CertificateVerify (RFC 8446 §4.4.3).
	//   - TLS 1.3, server: the client's CertificateVerify; 0 without a
	//     client certificate.
	//   - TLS 1.2, client: the server's ServerKeyExchange signature (RFC
	//     5246 §7.4.3); 0 for RSA key transport suites, where the server
	//     signs nothing.
	//   - TLS 1.2, server: the client's CertificateVerify (RFC 5246
	//     §7.4.8); 0 without a client certificate.
	//
	// A resumed handshake signs nothing: it reports the scheme of the
	// handshake that made the session, as PeerCertificates reports that
	// handshake's chain.
	PeerSignatureScheme uint16

	// OCSPResponse is, on a client, the DER OCSP response the server
	// stapled to its certificate (RFC 6066 §8 in TLS 1.2, RFC 8446
	// §4.4.2.1 in TLS 1.3), or nil if it stapled none. Holdfast does not
	// check it: whether it is signed by the issuer, current and "good" is
	// the application's to judge (golang.org/x/crypto/ocsp parses it). A
	// resumed handshake reports the response of the handshake that made
	// the session. Always nil on a server.
	OCSPResponse []byte
}

// ConnectionState returns the connection's negotiated parameters.
func (c *Conn) ConnectionState() ConnectionState {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if !c.handshakeDone.Load() {
		return ConnectionState{}
	}
	return c.connectionStateLocked()
}

// connectionStateLocked describes the handshake the engine finished;
// c.handshakeMu must be held.
func (c *Conn) connectionStateLocked() ConnectionState {
	switch {
	case c.state12 != nil:
		st := c.state12
		return ConnectionState{
			Version:            VersionTLS12,
			HandshakeComplete:  true,
			CipherSuite:        st.Suite.ID,
			CurveID:            CurveID(st.Group),
			NegotiatedProtocol: st.ALPN,
			ServerName:         st.ServerName,
			PeerCertificates:   st.PeerCertificates,
			VerifiedChains:     st.VerifiedChains,
			DidResume:          st.DidResume,

			PeerSignatureScheme: uint16(st.PeerScheme),
			OCSPResponse:        st.OCSPResponse,
		}
	case c.state != nil:
		st := c.state
		return ConnectionState{
			Version:            VersionTLS13,
			HandshakeComplete:  true,
			CipherSuite:        st.Suite.ID,
			CurveID:            CurveID(st.Group),
			NegotiatedProtocol: st.ALPN,
			ServerName:         st.ServerName,
			PeerCertificates:   st.PeerCertificates,
			VerifiedChains:     st.VerifiedChains,
			DidHelloRetry:      st.DidHRR,
			DidResume:          st.DidResume,

			PeerSignatureScheme: uint16(st.PeerScheme),
			OCSPResponse:        st.OCSPResponse,
		}
	}
	return ConnectionState{}
}

// VerifyHostname checks that the server's chain, verified in the
// handshake, is valid for host, as crypto/tls's does: for a client that
// connected under one name and must serve another. It fails on a server,
// before the handshake, and when no chain was verified
// (InsecureSkipVerify).
func (c *Conn) VerifyHostname(host string) error {
	if !c.isClient {
		return errors.New("holdfast: VerifyHostname called on a server connection")
	}
	st := c.ConnectionState()
	switch {
	case !st.HandshakeComplete:
		return errors.New("holdfast: VerifyHostname called before the handshake")
	case len(st.VerifiedChains) == 0:
		return errors.New("holdfast: VerifyHostname: the handshake verified no chain (InsecureSkipVerify)")
	}
	return st.PeerCertificates[0].VerifyHostname(host)
}

// OCSPResponse is ConnectionState().OCSPResponse: the server's stapled
// OCSP response, nil if none (or on a server).
func (c *Conn) OCSPResponse() []byte { return c.ConnectionState().OCSPResponse }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline. A write that times out leaves
// the connection unusable for further writes.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

var _ io.ReadWriteCloser = (*Conn)(nil)

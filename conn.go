package holdfast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/internal/tls13"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/tls12"
)

// Conn is a TLS connection over a net.Conn. It implements net.Conn. Read
// and Write may be called concurrently with each other; the handshake runs
// once, on first use or on HandshakeContext.
type Conn struct {
	conn     net.Conn
	config   *Config
	isClient bool

	handshakeMu   sync.Mutex
	handshakeDone atomic.Bool
	handshakeErr  error
	vers          uint16       // negotiated version, set before the engine runs
	state         *tls13.State // TLS 1.3 secrets; guarded by in.mu and out.mu after the handshake
	state12       *tls12.State // TLS 1.2 secrets, likewise

	in struct {
		sync.Mutex
		rl      *record.In
		msgs    wire.Reassembler
		pending []byte // application data read but not yet returned
		err     error
		sawCCS  bool
		// keyChanges counts read-key switches during the handshake.
		keyChanges int
		// idle counts, by kind, the records since the last non-empty
		// application data that carried none: a peer may send a few
		// (tickets, key updates, warnings), but a flood of them is a
		// denial of service (see floodLimits).
		idle [idleKinds]int
	}
	out struct {
		sync.Mutex
		rl  *record.Out
		err error
		// answeredUpdate: we sent a KeyUpdate answering the peer's
		// update_requested and have written nothing since; further
		// requests before our next write need no answer of their own
		// (RFC 8446 §4.6.3).
		answeredUpdate bool
	}
	closeOnce sync.Once
	closed    atomic.Bool
}

// Server returns a server-side TLS connection over conn.
func Server(conn net.Conn, config *Config) *Conn { return newConn(conn, config, false) }

// Client returns a client-side TLS connection over conn. config must set
// ServerName or InsecureSkipVerify.
func Client(conn net.Conn, config *Config) *Conn { return newConn(conn, config, true) }

func newConn(conn net.Conn, config *Config, isClient bool) *Conn {
	c := &Conn{conn: conn, config: config, isClient: isClient}
	c.in.rl = record.NewIn(conn)
	c.out.rl = record.NewOut(conn)
	if !isClient {
		// Only a client's first ClientHello may carry 0x0301 (RFC 8446
		// §5.1); everything else says 0x0303.
		c.out.rl.SetPlainVersion(record.VersionTLS12)
	}
	return c
}

// Handshake runs the handshake if it has not run yet.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext runs the handshake if it has not run yet. The context's
// deadline and cancellation bound the network I/O and reach the key
// backend's signer.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	if c.handshakeDone.Load() {
		return nil
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.handshakeDone.Load() || c.handshakeErr != nil {
		return c.handshakeErr
	}
	c.in.Lock()
	defer c.in.Unlock()
	c.out.Lock()
	defer c.out.Unlock()
	c.handshakeErr = c.runHandshake(ctx)
	if c.handshakeErr == nil {
		c.handshakeDone.Store(true)
	}
	return c.handshakeErr
}

func (c *Conn) runHandshake(ctx context.Context) (err error) {
	p, err := c.config.resolve()
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		timeout := c.config.HandshakeTimeout
		if timeout == 0 {
			timeout = time.Minute
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// The context's deadline bounds every read and write of the
	// handshake; cancellation interrupts them by moving the deadline.
	if d, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(d)
		defer c.conn.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tr := (*transport)(c)
	if c.isClient {
		if p.ServerName == "" && !p.InsecureSkipVerify {
			return errors.New("holdfast: Config.ServerName must be set (or InsecureSkipVerify) for a client")
		}
		st, err := tls13.ClientHandshake(ctx, p, tr)
		if fb, ok := errors.AsType[*tls13.FallbackTo12](err); ok {
			c.vers = VersionTLS12
			c.state12, err = tls12.ClientHandshake(ctx, p, (*transport12)(c), fb.Hello, fb.ServerHello, fb.Session)
		} else if err == nil {
			c.vers, c.state = VersionTLS13, st
		}
		if err == nil {
			err = c.verifyConnection()
		}
		return c.handshakeFailed(ctx, err)
	}
	err = c.serverHandshake(ctx, p, tr)
	if err == nil {
		err = c.verifyConnection()
	}
	return c.handshakeFailed(ctx, err)
}

// verifyConnection runs Config.VerifyConnection on the finished
// handshake; a refusal is sent as bad_certificate.
func (c *Conn) verifyConnection() error {
	if c.config.VerifyConnection == nil {
		return nil
	}
	if err := c.config.VerifyConnection(c.connectionStateLocked()); err != nil {
		return fmt.Errorf("holdfast: connection refused by VerifyConnection: %w: %w", err, alert.ErrBadCertificate)
	}
	return nil
}

// handshakeFailed turns a handshake error into what the caller sees: a
// deadline or cancellation named as such, and the alert sent for err.
func (c *Conn) handshakeFailed(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if isTimeout(err) {
		cause := ctx.Err()
		if d, ok := ctx.Deadline(); cause == nil && ok && !time.Now().Before(d) {
			cause = context.DeadlineExceeded
		}
		if cause != nil {
			err = fmt.Errorf("holdfast: handshake: %w (%w)", cause, err)
		}
	}
	return c.fail(err)
}

// serverHandshake reads the first ClientHello and runs the engine for the
// highest version both sides allow (RFC 8446 §4.2.1, RFC 5246 §E.1).
func (c *Conn) serverHandshake(ctx context.Context, p *tls13.Params, tr *transport) error {
	msg, err := tr.ReadHandshake(ctx)
	if err != nil {
		return err
	}
	if len(msg) == 0 || msg[0] != wire.TypeClientHello {
		return fmt.Errorf("expected ClientHello: %w", alert.ErrUnexpectedMessage)
	}
	hello, err := wire.ParseClientHello(msg)
	if err != nil {
		return fmt.Errorf("parsing ClientHello: %w", err)
	}
	cfg, p, err := c.config.forClient(ctx, c.conn, p, hello)
	if err != nil {
		return err
	}
	c.config = cfg
	switch {
	case p.MaxVersion >= VersionTLS13 && slices.Contains(hello.SupportedVersions, VersionTLS13):
		c.vers = VersionTLS13
		c.state, err = tls13.ServerHandshake(ctx, p, tr, hello)
	case p.MinVersion <= VersionTLS12 && offers12(hello):
		c.vers = VersionTLS12
		c.out.rl.SetPlainVersion(record.VersionTLS12)
		c.state12, err = tls12.ServerHandshake(ctx, p, (*transport12)(c), hello)
	default:
		err = fmt.Errorf("client offers versions %#04x (legacy %#04x), server allows %#04x to %#04x: %w",
			hello.SupportedVersions, hello.Vers, p.MinVersion, p.MaxVersion, alert.ErrProtocolVersion)
		if p.VersionCapped != "" {
			err = fmt.Errorf("%w; %s", err, p.VersionCapped)
		}
	}
	return err
}

// offers12 reports whether a ClientHello offers TLS 1.2: by its
// supported_versions list when it has one, which then replaces
// legacy_version entirely (RFC 8446 §4.2.1), else by legacy_version.
func offers12(hello *wire.ClientHello) bool {
	if len(hello.SupportedVersions) > 0 {
		return slices.Contains(hello.SupportedVersions, VersionTLS12)
	}
	return hello.Vers >= VersionTLS12
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fail sends the alert for err (unless err is the peer's alert or a
// broken connection) and returns err as an *AlertError carrying its cause.
// c.out must be held.
func (c *Conn) fail(err error) error {
	if e, ok := errors.AsType[*AlertError](err); ok {
		return e
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return err
	}
	a := alert.For(err)
	c.sendAlertLocked(a)
	return &AlertError{Alert: a, Sent: true, Err: err}
}

// sendAlertLocked writes a fatal alert, ignoring write errors: the
// connection is failing anyway. c.out must be held.
func (c *Conn) sendAlertLocked(a alert.Alert) {
	level := byte(2)
	if a == alert.CloseNotify || a == alert.UserCanceled {
		level = 1
	}
	c.out.rl.Append(record.TypeAlert, []byte{level, byte(a)})
	c.out.rl.Flush()
}

// transport is the Conn as the handshake engine sees it.
type transport Conn

func (t *transport) ReadHandshake(ctx context.Context) ([]byte, error) {
	c := (*Conn)(t)
	for {
		msg, ok, err := c.in.msgs.Next()
		if err != nil {
			return nil, err
		}
		if ok {
			if trace := c.config.HandshakeTrace; trace != nil {
				trace(false, msg)
			}
			return msg, nil
		}
		typ, payload, err := c.in.rl.Next()
		if err != nil {
			return nil, err
		}
		switch typ {
		case record.TypeHandshake:
			if len(payload) == 0 {
				return nil, fmt.Errorf("empty handshake record: %w", alert.ErrUnexpectedMessage)
			}
			c.in.msgs.Add(payload)
		case record.TypeChangeCipherSpec:
			// RFC 8446 §5: one change_cipher_spec of value 1, unprotected,
			// may arrive during a TLS 1.3 handshake; ignore it. In TLS 1.2
			// it is a protocol step the engine waits for explicitly.
			if c.vers == VersionTLS12 || len(payload) != 1 || payload[0] != 1 || c.in.sawCCS {
				return nil, fmt.Errorf("bad change_cipher_spec: %w", alert.ErrUnexpectedMessage)
			}
			c.in.sawCCS = true
		case record.TypeAlert:
			return nil, c.readAlert(payload)
		default:
			return nil, fmt.Errorf("%v record during the handshake: %w", typ, alert.ErrUnexpectedMessage)
		}
	}
}

func (t *transport) WriteHandshake(msg []byte) error {
	if trace := t.config.HandshakeTrace; trace != nil {
		trace(true, msg)
	}
	if err := t.out.rl.Append(record.TypeHandshake, msg); err != nil {
		return err
	}
	// After the first ClientHello every record says 0x0303.
	t.out.rl.SetPlainVersion(record.VersionTLS12)
	return nil
}

func (t *transport) WriteChangeCipherSpec() error {
	return t.out.rl.AppendPlain(record.TypeChangeCipherSpec, []byte{1})
}

func (t *transport) Flush() error { return t.out.rl.Flush() }

func (t *transport) SetReadProtection(o record.Opener) error {
	if t.in.msgs.Buffered() > 0 {
		o.Free()
		return fmt.Errorf("handshake message spans a key change: %w", alert.ErrUnexpectedMessage)
	}
	t.in.rl.SetOpener(o, record.MaxBody13)
	t.in.keyChanges++
	if !t.isClient && t.in.keyChanges == 1 {
		// The client's handshake keys: until its first protected record,
		// an alert rejecting our flight may come unprotected.
		t.in.rl.AllowPlainAlerts()
	}
	return nil
}

func (t *transport) SetWriteProtection(s record.Sealer) {
	t.out.rl.SetPlainVersion(record.VersionTLS12)
	t.out.rl.SetSealer(s)
}

// readAlert turns a received alert into an error: io.EOF for
// close_notify, an *AlertError for anything else (RFC 8446 §6: in TLS 1.3
// every other alert ends the connection).
func (c *Conn) readAlert(payload []byte) error {
	if len(payload) != 2 {
		return fmt.Errorf("alert record of %d bytes: %w", len(payload), alert.ErrDecode)
	}
	a := alert.Alert(payload[1])
	if a == alert.CloseNotify {
		return io.EOF
	}
	return &AlertError{Alert: a}
}

// transport12 is the Conn as the TLS 1.2 engine sees it: change_cipher_spec
// is an explicit protocol step there.
type transport12 Conn

func (t *transport12) ReadHandshake(ctx context.Context) ([]byte, error) {
	return (*transport)(t).ReadHandshake(ctx)
}

func (t *transport12) ReadChangeCipherSpec(ctx context.Context) error {
	c := (*Conn)(t)
	if c.in.msgs.Buffered() > 0 {
		return fmt.Errorf("handshake data before change_cipher_spec: %w", alert.ErrUnexpectedMessage)
	}
	typ, payload, err := c.in.rl.Next()
	if err != nil {
		return err
	}
	switch typ {
	case record.TypeChangeCipherSpec:
		if len(payload) != 1 || payload[0] != 1 {
			return fmt.Errorf("change_cipher_spec of %d bytes: %w", len(payload), alert.ErrDecode)
		}
		return nil
	case record.TypeAlert:
		return c.readAlert(payload)
	}
	return fmt.Errorf("%v record where change_cipher_spec was expected: %w", typ, alert.ErrUnexpectedMessage)
}

func (t *transport12) WriteHandshake(msg []byte) error {
	if trace := t.config.HandshakeTrace; trace != nil {
		trace(true, msg)
	}
	return t.out.rl.Append(record.TypeHandshake, msg)
}

func (t *transport12) WriteChangeCipherSpec() error {
	return t.out.rl.Append(record.TypeChangeCipherSpec, []byte{1})
}

func (t *transport12) Flush() error { return t.out.rl.Flush() }

func (t *transport12) SetReadProtection(o record.Opener) error {
	t.in.rl.SetOpener(o, record.MaxBody12)
	return nil
}

func (t *transport12) SetWriteProtection(s record.Sealer) {
	t.out.rl.SetSealer(s)
}

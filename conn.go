package holdfast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/internal/tls13"
	"github.com/holdfast-tls/holdfast/internal/wire"
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
	state         *tls13.State // secrets; guarded by in.mu and out.mu after the handshake

	in struct {
		sync.Mutex
		rl      *record.In
		msgs    wire.Reassembler
		pending []byte // application data read but not yet returned
		err     error
		sawCCS  bool
	}
	out struct {
		sync.Mutex
		rl  *record.Out
		err error
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
	var st *tls13.State
	if c.isClient {
		if p.ServerName == "" && !p.InsecureSkipVerify {
			return errors.New("holdfast: Config.ServerName must be set (or InsecureSkipVerify) for a client")
		}
		st, err = tls13.ClientHandshake(ctx, p, tr)
	} else {
		st, err = c.serverHandshake(ctx, p, tr)
	}
	if err != nil {
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
	c.state = st
	return nil
}

// serverHandshake reads the first ClientHello and runs the engine for the
// version it offers. TLS 1.2 has its own issue and engine.
func (c *Conn) serverHandshake(ctx context.Context, p *tls13.Params, tr *transport) (*tls13.State, error) {
	msg, err := tr.ReadHandshake(ctx)
	if err != nil {
		return nil, err
	}
	if len(msg) == 0 || msg[0] != wire.TypeClientHello {
		return nil, fmt.Errorf("expected ClientHello: %w", alert.ErrUnexpectedMessage)
	}
	hello, err := wire.ParseClientHello(msg)
	if err != nil {
		return nil, fmt.Errorf("parsing ClientHello: %w", err)
	}
	return tls13.ServerHandshake(ctx, p, tr, hello)
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
			// may arrive during the handshake; ignore it.
			if len(payload) != 1 || payload[0] != 1 || c.in.sawCCS {
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

package holdfast

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// Hostile peers: each gets the right alert or a clear error within its
// bound, never a hang, and leaves no locked memory behind.

func hostileServer(t *testing.T) (*Config, *testPKI) {
	t.Helper()
	pki := newTestPKI(t)
	return &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")},
		HandshakeTimeout: 300 * time.Millisecond}, pki
}

// serveOne runs a server handshake and reports its error and how long it
// took.
func serveOne(t *testing.T, cfg *Config, client func(net.Conn)) (time.Duration, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		client(c)
	}()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sv := Server(raw, cfg)
	start := time.Now()
	err = sv.Handshake()
	took := time.Since(start)
	sv.Close()
	<-done
	return took, err
}

func TestHostileSilentAndSlowClients(t *testing.T) {
	cfg, _ := hostileServer(t)
	before := mem.Default().Stats().LiveSecrets
	for name, client := range map[string]func(net.Conn){
		"silent": func(c net.Conn) { io.Copy(io.Discard, c) },
		"one-byte-a-tick": func(c net.Conn) {
			hello := []byte{22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3}
			for _, b := range hello {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		},
	} {
		took, err := serveOne(t, cfg, client)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
			t.Errorf("%s client: handshake ended after %v with %v; want the handshake timeout", name, took, err)
		}
	}
	if after := mem.Default().Stats().LiveSecrets; after > before {
		t.Errorf("%d secrets still live after the timed-out handshakes (before: %d)", after, before)
	}
}

func TestHostileOversizedInput(t *testing.T) {
	cfg, _ := hostileServer(t)
	for _, tc := range []struct {
		name  string
		bytes []byte
		want  Alert
	}{
		// A handshake message claiming 16 MiB: refused from its header.
		{"handshake-message", []byte{22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff}, AlertDecodeError},
		// A record longer than any TLS record may be.
		{"record", []byte{22, 3, 1, 0x48, 0x01}, AlertRecordOverflow},
	} {
		var got [7]byte
		var n int
		_, err := serveOne(t, cfg, func(c net.Conn) {
			c.Write(tc.bytes)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _ = io.ReadFull(c, got[:])
		})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: server error %v, want %v", tc.name, err, tc.want)
		}
		if n != 7 || got[0] != 21 || got[5] != 2 || Alert(got[6]) != tc.want {
			t.Errorf("%s: peer received % x, want a fatal %v alert", tc.name, got[:n], tc.want)
		}
	}
}

// fragmenter splits every handshake record the client writes into
// one-byte records: the ClientHello arrives a byte at a time.
type fragmenter struct {
	net.Conn
	buf []byte
}

func (f *fragmenter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	for len(f.buf) >= 5 {
		n := int(f.buf[3])<<8 | int(f.buf[4])
		if len(f.buf) < 5+n {
			break
		}
		rec := f.buf[:5+n]
		if rec[0] == 22 {
			for _, b := range rec[5:] {
				if _, err := f.Conn.Write([]byte{22, rec[1], rec[2], 0, 1, b}); err != nil {
					return 0, err
				}
			}
		} else if _, err := f.Conn.Write(rec); err != nil {
			return 0, err
		}
		f.buf = f.buf[5+n:]
	}
	return len(p), nil
}

func TestHostileFragmentedClientHello(t *testing.T) {
	cfg, pki := hostileServer(t)
	cfg.HandshakeTimeout = 10 * time.Second
	_, err := serveOne(t, cfg, func(c net.Conn) {
		cl := tls.Client(&fragmenter{Conn: c}, &tls.Config{RootCAs: pki.pool, ServerName: "server.test"})
		cl.Handshake()
		cl.Close()
	})
	if err != nil {
		t.Fatalf("a ClientHello in one-byte records: %v", err)
	}
}

// Floods of records that carry no data: bounded, then unexpected_message.
func TestHostileFloods(t *testing.T) {
	cfg, pki := hostileServer(t)
	for _, tc := range []struct {
		name  string
		max   uint16
		count int
		send  func(c *Conn) error
	}{
		{"empty-records", VersionTLS13, 40, func(c *Conn) error {
			return c.out.rl.Append(record.TypeApplicationData, nil)
		}},
		{"key-updates", VersionTLS13, 40, func(c *Conn) error { return c.sendKeyUpdateLocked(false) }},
		{"warning-alerts", VersionTLS12, 10, func(c *Conn) error {
			return c.out.rl.Append(record.TypeAlert, []byte{1, byte(AlertNoRenegotiation)})
		}},
		// After the handshake a change_cipher_spec is out of place in TLS
		// 1.3 (RFC 8446 §5): the first one ends the connection.
		{"change-cipher-spec", VersionTLS13, 40, func(c *Conn) error {
			return c.out.rl.Append(record.TypeChangeCipherSpec, []byte{1})
		}},
		// TLS 1.2 renegotiation attempts: each gets a no_renegotiation
		// warning until the idle-message bound.
		{"renegotiation", VersionTLS12, 40, func(c *Conn) error {
			ch, err := (&wire.ClientHello{Vers: 0x0303, Random: [32]byte{1}, CipherSuites: []uint16{0xc02b},
				CompressionMethods: []byte{0}}).Marshal()
			if err != nil {
				return err
			}
			return c.out.rl.Append(record.TypeHandshake, ch)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var serverErr error
			cerr, _ := pair(t, func(raw net.Conn) error {
				cl := Client(raw, &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.max})
				defer cl.Close()
				if err := cl.Handshake(); err != nil {
					return err
				}
				cl.out.Lock()
				for range tc.count {
					if err := tc.send(cl); err != nil {
						break
					}
				}
				cl.out.rl.Flush()
				cl.out.Unlock()
				cl.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := cl.Read(make([]byte, 1))
				if !errors.Is(err, AlertUnexpectedMessage) {
					t.Errorf("client read %v, want the server's unexpected_message", err)
				}
				return nil
			}, func(raw net.Conn) error {
				sv := Server(raw, cfg)
				defer sv.Close()
				_, serverErr = sv.Read(make([]byte, 1))
				return nil
			})
			if cerr != nil {
				t.Fatal(cerr)
			}
			if !errors.Is(serverErr, AlertUnexpectedMessage) {
				t.Fatalf("server: %v, want unexpected_message after the flood", serverErr)
			}
			t.Logf("server: %v", serverErr)
		})
	}
}

// slowSigner signs with a real key but only after its context ends or a
// long delay: a key backend that hangs.
type slowSigner struct {
	crypto.Signer
	cancelled atomic.Bool
}

func (s *slowSigner) SignContext(ctx context.Context, rnd io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	select {
	case <-ctx.Done():
		s.cancelled.Store(true)
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		return s.Signer.Sign(rnd, d, o)
	}
}

// A client that vanishes while the server's key backend is busy: the
// handshake's deadline reaches the backend call, which gives up, and the
// handshake ends.
func TestHostileVanishDuringSign(t *testing.T) {
	cfg, pki := hostileServer(t)
	slow := &slowSigner{Signer: ecKey(t, elliptic.P256())}
	cfg.Certificates = []Certificate{pki.leaf(t, slow, "server.test")}
	took, err := serveOne(t, cfg, func(c net.Conn) {
		cl := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test"})
		go cl.Handshake()
		time.Sleep(100 * time.Millisecond)
		c.Close()
	})
	if err == nil || took > 3*time.Second || !slow.cancelled.Load() {
		t.Fatalf("handshake ended after %v with %v; backend call cancelled: %v", took, err, slow.cancelled.Load())
	}
}

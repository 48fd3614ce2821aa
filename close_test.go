package holdfast

import (
	"crypto/elliptic"
	"io"
	"net"
	"testing"
	"time"
)

// TestCloseWrite: a half-close sends close_notify, the peer reads EOF and
// can still answer, and the answer is read (RFC 8446 §6.1).
func TestCloseWrite(t *testing.T) {
	pki := newTestPKI(t)
	srv := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")}}
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		cerr, serr := pair(t, func(c net.Conn) error {
			tc := Client(c, &Config{ServerName: "server.test", RootCAs: pki.pool, MaxVersion: vers})
			if err := tc.CloseWrite(); err == nil {
				t.Errorf("version %x: CloseWrite before the handshake succeeded", vers)
			}
			if err := tc.Handshake(); err != nil {
				return err
			}
			if err := tc.CloseWrite(); err != nil {
				t.Errorf("version %x: CloseWrite: %v", vers, err)
			}
			if _, err := tc.Write([]byte("late")); err != ErrClosed {
				t.Errorf("version %x: Write after CloseWrite: %v, want ErrClosed", vers, err)
			}
			got, err := io.ReadAll(tc)
			if string(got) != "answer" || err != nil {
				t.Errorf("version %x: read %q, %v after the half-close, want the answer", vers, got, err)
			}
			return tc.Close()
		}, func(c net.Conn) error {
			ts := Server(c, srv)
			if got, err := io.ReadAll(ts); len(got) != 0 || err != nil {
				t.Errorf("version %x: server read %q, %v, want EOF at once", vers, got, err)
			}
			if _, err := ts.Write([]byte("answer")); err != nil {
				return err
			}
			return ts.Close()
		})
		if cerr != nil || serr != nil {
			t.Fatalf("version %x: client %v, server %v", vers, cerr, serr)
		}
	}
}

// TestCloseWriteAfterPeerReset: when the peer has reset the connection,
// there is no write side left to close and CloseWrite reports no error
// (the kernel's ENOTCONN once the reset has arrived), as BoGo's
// Unclean-Shutdown-Ignored expects of a shim that shuts down after its
// peer has gone.
func TestCloseWriteAfterPeerReset(t *testing.T) {
	pki := newTestPKI(t)
	srv := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")}}
	reset := make(chan struct{})
	cerr, serr := pair(t, func(c net.Conn) error {
		if err := Client(c, &Config{ServerName: "server.test", RootCAs: pki.pool}).Handshake(); err != nil {
			return err
		}
		// Linger 0: Close sends a reset rather than a FIN.
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		close(reset)
		return nil
	}, func(c net.Conn) error {
		ts := Server(c, srv)
		if err := ts.Handshake(); err != nil {
			return err
		}
		<-reset
		time.Sleep(50 * time.Millisecond) // for the reset to land
		if err := ts.CloseWrite(); err != nil {
			t.Errorf("CloseWrite after the peer's reset: %v", err)
		}
		return nil
	})
	if cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
}

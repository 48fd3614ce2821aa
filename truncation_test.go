package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
)

// A peer that closes the transport without close_notify may have had its
// data cut short: Read reports io.ErrUnexpectedEOF, and only a real
// close_notify reads as io.EOF (RFC 8446 §6.1).
func TestTruncationIsNotEOF(t *testing.T) {
	pki := newTestPKI(t)
	server := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")}}
	for _, clean := range []bool{true, false} {
		var readErr error
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test"})
			if err := cl.Handshake(); err != nil {
				return err
			}
			if _, err := cl.Write([]byte("last words")); err != nil {
				return err
			}
			if clean {
				return cl.Close() // close_notify, then the socket
			}
			return c.Close() // the socket alone
		}, func(c net.Conn) error {
			sv := Server(c, server)
			defer sv.Close()
			buf := make([]byte, 64)
			if _, err := io.ReadAtLeast(sv, buf, len("last words")); err != nil {
				return err
			}
			_, readErr = sv.Read(buf)
			return nil
		})
		if cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
		want := io.ErrUnexpectedEOF
		if clean {
			want = io.EOF
		}
		if !errors.Is(readErr, want) || (!clean && errors.Is(readErr, io.EOF)) {
			t.Errorf("clean close %v: Read returned %v, want %v", clean, readErr, want)
		}
	}
}

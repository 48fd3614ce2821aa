package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
)

// BenchmarkResumedHandshake is a resumed handshake (X25519 for TLS 1.3's
// psk_dhe_ke; a ticket for TLS 1.2), Holdfast and crypto/tls on the same
// work, both ends in this process over loopback TCP:
//
//	go test -run '^$' -bench ResumedHandshake -benchmem .
func BenchmarkResumedHandshake(b *testing.B) {
	pki := newTestPKI(b)
	cert := pki.leaf(b, ecKey(b, elliptic.P256()), "server.test")
	for _, v := range []struct {
		name string
		hf   uint16
		std  uint16
	}{{"TLS1.3", VersionTLS13, tls.VersionTLS13}, {"TLS1.2", VersionTLS12, tls.VersionTLS12}} {
		hfServer := &Config{Certificates: []Certificate{cert}, MaxVersion: v.hf, CurvePreferences: []CurveID{X25519}}
		hfClient := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: v.hf, CurvePreferences: []CurveID{X25519},
			ClientSessionCache: NewClientSessionCache(4)}
		stdServer := &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, MaxVersion: v.std, CurvePreferences: []tls.CurveID{tls.X25519}}
		stdClient := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: v.std, CurvePreferences: []tls.CurveID{tls.X25519},
			ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		b.Run(v.name+"/holdfast", func(b *testing.B) {
			benchResumed(b, func(c net.Conn) resumer { return Server(c, hfServer) }, func(c net.Conn) resumer { return Client(c, hfClient) })
		})
		b.Run(v.name+"/crypto-tls", func(b *testing.B) {
			benchResumed(b, func(c net.Conn) resumer { return tls.Server(c, stdServer) }, func(c net.Conn) resumer { return tls.Client(c, stdClient) })
		})
	}
}

type resumer interface {
	handshaker
	Read([]byte) (int, error)
	Write([]byte) (int, error)
}

// benchResumed runs one full handshake to fill the client's cache, then
// b.N handshakes, each of which must resume. The client sends a byte and
// reads it back, which also takes in the TLS 1.3 tickets that keep the
// cache filled.
func benchResumed(b *testing.B, server, client func(net.Conn) resumer) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	one := func() bool {
		done := make(chan error, 1)
		go func() {
			a, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			s := server(a)
			var in [1]byte
			if _, err = s.Read(in[:]); err == nil {
				_, err = s.Write(in[:])
			}
			done <- err
			s.Close()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		cl := client(c)
		var buf [1]byte
		_, rerr := cl.Write(buf[:])
		if rerr == nil {
			_, rerr = cl.Read(buf[:])
		}
		if err := <-done; err != nil {
			b.Fatalf("server: %v (client read: %v)", err, rerr)
		}
		// crypto/tls's TLS 1.2 client reports EOF here although the
		// server wrote its byte (the server's close_notify overtakes it);
		// what matters is that the next handshake resumes.
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			b.Fatal(rerr)
		}
		resumed := didResume(cl)
		cl.Close()
		return resumed
	}
	one()
	b.ReportAllocs()
	for b.Loop() {
		if !one() {
			b.Fatal("handshake did not resume")
		}
	}
}

func didResume(c resumer) bool {
	switch c := c.(type) {
	case *Conn:
		return c.ConnectionState().DidResume
	case *tls.Conn:
		return c.ConnectionState().DidResume
	}
	return false
}

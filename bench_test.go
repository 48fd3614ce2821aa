package holdfast

import (
	"crypto"
	"crypto/elliptic"
	"crypto/tls"
	"io"
	"net"
	"testing"
)

// The benchmarks run the same work through Holdfast and through crypto/tls
// in one run: a full handshake (both ends in this process, over loopback
// TCP, X25519, AES-128-GCM) and bulk transfer over loopback TCP. Neither
// server keeps resumption state (crypto/tls's tickets are off, and so are
// Holdfast's tickets and TLS 1.2 session-ID cache), so a handshake is the
// full handshake alone; BenchmarkResumedHandshake measures resumption.

type benchEnds struct {
	hfServer, hfClient   *Config
	hfClientNoCache      *Config // hfClient with VerifiedChainCacheSize -1
	stdServer, stdClient *tls.Config
}

func newBenchEnds(b *testing.B, key crypto.Signer) *benchEnds {
	pki := newTestPKI(b)
	cert := pki.leaf(b, key, "server.test")
	return &benchEnds{
		hfServer: &Config{Certificates: []Certificate{cert}, CurvePreferences: []CurveID{X25519}, CipherSuites: []uint16{TLS_AES_128_GCM_SHA256},
			SessionTicketsDisabled: true, SessionCacheSize: -1},
		hfClient: &Config{RootCAs: pki.pool, ServerName: "server.test", CurvePreferences: []CurveID{X25519}, CipherSuites: []uint16{TLS_AES_128_GCM_SHA256}},
		hfClientNoCache: &Config{RootCAs: pki.pool, ServerName: "server.test", CurvePreferences: []CurveID{X25519}, CipherSuites: []uint16{TLS_AES_128_GCM_SHA256},
			VerifiedChainCacheSize: -1},
		stdServer: &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, CurvePreferences: []tls.CurveID{tls.X25519}, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true},
		stdClient: &tls.Config{RootCAs: pki.pool, ServerName: "server.test", CurvePreferences: []tls.CurveID{tls.X25519}, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true},
	}
}

type handshaker interface {
	Handshake() error
	Close() error
}

func benchHandshake(b *testing.B, server, client func(net.Conn) handshaker) {
	ln := benchListener(b)
	b.ReportAllocs()
	for b.Loop() {
		handshakeOnce(b, ln, server, client)
	}
}

// benchListener listens on loopback TCP rather than net.Pipe: Close
// writes close_notify, which a synchronous pipe would block on until the
// peer reads.
func benchListener(b *testing.B) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return ln
}

// handshakeOnce connects to ln and runs one handshake between the
// connection's two ends.
func handshakeOnce(b *testing.B, ln net.Listener, server, client func(net.Conn) handshaker) {
	done := make(chan error, 1)
	go func() {
		a, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		s := server(a)
		done <- s.Handshake()
		s.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	cl := client(c)
	if err := cl.Handshake(); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	cl.Close()
}

func BenchmarkHandshake(b *testing.B) {
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"P256", ecKey(b, elliptic.P256())}, {"RSA2048", rsaKey(b)}} {
		e := newBenchEnds(b, k.key)
		b.Run(k.name+"/holdfast", func(b *testing.B) {
			benchHandshake(b, func(c net.Conn) handshaker { return Server(c, e.hfServer) },
				func(c net.Conn) handshaker { return Client(c, e.hfClient) })
		})
		// The same with the verified-chain cache off: the client parses
		// and verifies the chain in every handshake, as crypto/tls does.
		noCache := e.hfClientNoCache
		b.Run(k.name+"/holdfast-nochaincache", func(b *testing.B) {
			benchHandshake(b, func(c net.Conn) handshaker { return Server(c, e.hfServer) },
				func(c net.Conn) handshaker { return Client(c, noCache) })
		})
		b.Run(k.name+"/crypto-tls", func(b *testing.B) {
			benchHandshake(b, func(c net.Conn) handshaker { return tls.Server(c, e.stdServer) },
				func(c net.Conn) handshaker { return tls.Client(c, e.stdClient) })
		})
	}
}

type rwHandshaker interface {
	handshaker
	io.ReadWriter
}

// benchBulk sends b.N × 64 KiB from client to server over loopback TCP.
func benchBulk(b *testing.B, server, client func(net.Conn) rwHandshaker) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		s := server(c)
		defer s.Close()
		_, err = io.Copy(io.Discard, s)
		done <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	cl := client(raw)
	if err := cl.Handshake(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := cl.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cl.Close()
	<-done
}

func BenchmarkBulk(b *testing.B) {
	e := newBenchEnds(b, ecKey(b, elliptic.P256()))
	b.Run("holdfast", func(b *testing.B) {
		benchBulk(b, func(c net.Conn) rwHandshaker { return Server(c, e.hfServer) },
			func(c net.Conn) rwHandshaker { return Client(c, e.hfClient) })
	})
	b.Run("crypto-tls", func(b *testing.B) {
		benchBulk(b, func(c net.Conn) rwHandshaker { return tls.Server(c, e.stdServer) },
			func(c net.Conn) rwHandshaker { return tls.Client(c, e.stdClient) })
	})
}

func newBenchEnds12(b *testing.B, key crypto.Signer, suite uint16) *benchEnds {
	e := newBenchEnds(b, key)
	// In TLS 1.2 supported_groups also names the curves the client takes
	// ECDSA certificates on (RFC 8422 §5.1): the clients list P-256 after
	// X25519, which the exchange still uses.
	e.hfClient.CurvePreferences = []CurveID{X25519, CurveP256}
	e.hfClientNoCache.CurvePreferences = []CurveID{X25519, CurveP256}
	e.stdClient.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
	e.hfServer.CipherSuites, e.hfClient.CipherSuites, e.hfClientNoCache.CipherSuites = []uint16{suite}, []uint16{suite}, []uint16{suite}
	e.hfClient.MaxVersion, e.hfClientNoCache.MaxVersion = VersionTLS12, VersionTLS12
	e.stdServer.MaxVersion, e.stdClient.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	e.stdServer.MinVersion, e.stdClient.MinVersion = tls.VersionTLS12, tls.VersionTLS12
	e.stdServer.CipherSuites, e.stdClient.CipherSuites = []uint16{suite}, []uint16{suite}
	return e
}

// BenchmarkHandshake12 is a full TLS 1.2 ECDHE handshake (X25519,
// ECDSA P-256, AES-128-GCM), Holdfast and crypto/tls.
func BenchmarkHandshake12(b *testing.B) {
	e := newBenchEnds12(b, ecKey(b, elliptic.P256()), tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	b.Run("ECDHE-ECDSA-AES128GCM/holdfast", func(b *testing.B) {
		benchHandshake(b, func(c net.Conn) handshaker { return Server(c, e.hfServer) },
			func(c net.Conn) handshaker { return Client(c, e.hfClient) })
	})
	noCache := e.hfClientNoCache
	b.Run("ECDHE-ECDSA-AES128GCM/holdfast-nochaincache", func(b *testing.B) {
		benchHandshake(b, func(c net.Conn) handshaker { return Server(c, e.hfServer) },
			func(c net.Conn) handshaker { return Client(c, noCache) })
	})
	b.Run("ECDHE-ECDSA-AES128GCM/crypto-tls", func(b *testing.B) {
		benchHandshake(b, func(c net.Conn) handshaker { return tls.Server(c, e.stdServer) },
			func(c net.Conn) handshaker { return tls.Client(c, e.stdClient) })
	})
}

// BenchmarkBulk12 is TLS 1.2 bulk transfer over AES-128-GCM (ECDHE) and
// over the seed's AES-128-CBC-SHA (RSA key transport).
func BenchmarkBulk12(b *testing.B) {
	for _, c := range []struct {
		name  string
		key   crypto.Signer
		suite uint16
	}{
		{"AES128GCM", ecKey(b, elliptic.P256()), tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"AES128CBCSHA", rsaKey(b), tls.TLS_RSA_WITH_AES_128_CBC_SHA},
	} {
		e := newBenchEnds12(b, c.key, c.suite)
		b.Run(c.name+"/holdfast", func(b *testing.B) {
			benchBulk(b, func(c net.Conn) rwHandshaker { return Server(c, e.hfServer) },
				func(c net.Conn) rwHandshaker { return Client(c, e.hfClient) })
		})
		b.Run(c.name+"/crypto-tls", func(b *testing.B) {
			benchBulk(b, func(c net.Conn) rwHandshaker { return tls.Server(c, e.stdServer) },
				func(c net.Conn) rwHandshaker { return tls.Client(c, e.stdClient) })
		})
	}
}

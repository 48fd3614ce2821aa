package holdfast

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"
)

// recordingConn keeps what a connection reads.
type recordingConn struct {
	net.Conn
	mu  *sync.Mutex
	got *bytes.Buffer
}

func (c recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.got.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

// The fully random premaster (Config.RandomPremaster) between Holdfast
// peers with RSA key transport and mutual TLS: the ServerHello carries the
// acknowledgement and the handshake completes; with one side off, or
// crypto/tls on either side, the standard premaster is used.
func TestRandomPremasterHandshake(t *testing.T) {
	pki := newTestPKI(t)
	serverCert := pki.leaf(t, rsaKey(t), "server.test")
	clientCert := pki.leaf(t, rsaKey(t), "client.test")
	suites := []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
	connect := func(t *testing.T, clientOn, serverOn bool) bool {
		var mu sync.Mutex
		var fromServer bytes.Buffer
		client := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: VersionTLS12, CipherSuites: suites,
			Certificates: []Certificate{clientCert}, RandomPremaster: clientOn}
		server := &Config{Certificates: []Certificate{serverCert}, CipherSuites: suites, ClientAuth: RequireAndVerifyClientCert,
			ClientCAs: pki.pool, RandomPremaster: serverOn}
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(recordingConn{c, &mu, &fromServer}, client)
			defer cl.Close()
			return sendAndCheck(cl, []byte("random premaster"))
		}, func(c net.Conn) error {
			sv := Server(c, server)
			defer sv.Close()
			return echoOnce(sv)
		})
		if cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
		mu.Lock()
		defer mu.Unlock()
		// The empty extension in the cleartext ServerHello.
		return bytes.Contains(fromServer.Bytes(), []byte{0xFF, 0xC3, 0, 0})
	}
	if !connect(t, true, true) {
		t.Fatal("both ends opted in, but the ServerHello did not agree")
	}
	if connect(t, true, false) || connect(t, false, true) {
		t.Fatal("the ServerHello agreed although one end did not opt in")
	}
	// crypto/tls on either side: the standard premaster.
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: VersionTLS12, CipherSuites: suites, RandomPremaster: true})
		defer cl.Close()
		return sendAndCheck(cl, []byte("to crypto/tls"))
	}, func(c net.Conn) error {
		sv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(serverCert)}, CipherSuites: suites, MaxVersion: tls.VersionTLS12})
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("Holdfast client to crypto/tls: %v, %v", cerr, serr)
	}
	cerr, serr = pair(t, func(c net.Conn) error {
		cl := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test", CipherSuites: suites, MaxVersion: tls.VersionTLS12})
		defer cl.Close()
		return sendAndCheck(cl, []byte("from crypto/tls"))
	}, func(c net.Conn) error {
		sv := Server(c, &Config{Certificates: []Certificate{serverCert}, CipherSuites: suites, RandomPremaster: true})
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("crypto/tls client: %v, %v", cerr, serr)
	}
}

// The server-generated premaster (Config.ServerGeneratedPremaster) between
// Holdfast peers, TLS 1.2 RSA key transport with mutual TLS and the
// proffered client certificate: the first handshake is ordinary and lets
// the server hold the client's chain; in the second the server sends the
// premaster encrypted to the client's key and signed (ServerKeyExchange),
// the client's chain goes as a digest and its ClientKeyExchange is empty.
func TestServerGeneratedPremaster(t *testing.T) {
	pki := newTestPKI(t)
	serverCert := pki.leaf(t, rsaKey(t), "server.test")
	clientCert := pki.leaf(t, rsaKey(t), "client.test")
	suites := []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
	var trace traced
	server := &Config{Certificates: []Certificate{serverCert}, CipherSuites: suites, ClientAuth: RequireAndVerifyClientCert,
		ClientCAs: pki.pool, ProfferClientCertificate: true, ServerGeneratedPremaster: true, SessionTicketsDisabled: true}
	client := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: VersionTLS12, CipherSuites: suites,
		Certificates: []Certificate{clientCert}, ProfferClientCertificate: true, ServerGeneratedPremaster: true,
		HandshakeTrace: trace.hook}
	connect := func(t *testing.T, server *Config) []string {
		t.Helper()
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(c, client)
			defer cl.Close()
			return sendAndCheck(cl, []byte("server premaster"))
		}, func(c net.Conn) error {
			sv := Server(c, server)
			defer sv.Close()
			if err := echoOnce(sv); err != nil {
				return err
			}
			if len(sv.ConnectionState().VerifiedChains) == 0 {
				return errors.New("client chain not verified")
			}
			return nil
		})
		if cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
		return trace.take()
	}
	first := connect(t, server)
	second := connect(t, server)
	t.Logf("first:  %v", first)
	t.Logf("second: %v", second)
	if has(first, "<", 12, -1) || !has(first, ">", 16, 258) {
		t.Error("first handshake: want the client's encrypted premaster and no server premaster")
	}
	if !has(second, "<", 12, -1) || !has(second, ">", 16, 2) || !has(second, ">", 11, 33) {
		t.Error("second handshake: want the server premaster, an empty ClientKeyExchange and the client's chain as a digest")
	}
	// A server without the option: ordinary RSA key transport (the proffer
	// still shortens the client's chain once the server holds it).
	plain := &Config{Certificates: []Certificate{serverCert}, CipherSuites: suites, ClientAuth: RequireAndVerifyClientCert,
		ClientCAs: pki.pool, ProfferClientCertificate: true, SessionTicketsDisabled: true}
	connect(t, plain)
	if lines := connect(t, plain); has(lines, "<", 12, -1) || !has(lines, ">", 16, 258) || !has(lines, ">", 11, 33) {
		t.Errorf("without the option on the server: %v", lines)
	}
}

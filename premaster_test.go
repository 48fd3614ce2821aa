package holdfast

import (
	"bytes"
	"crypto/tls"
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

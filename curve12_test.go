package holdfast

import (
	"bytes"
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"strings"
	"testing"
)

// TestTLS12ECDSACertificateOnClientCurve: a TLS 1.2 server serves an
// ECDSA chain only if its curve is in the client's supported_groups (RFC
// 8422 §5.1); with a P-384 and a P-256 chain it picks the P-256 one for a
// client that lists P-256 only, and with the P-384 chain alone it refuses
// with handshake_failure. A TLS 1.3 client gets the P-384 chain: there the
// signature scheme names the curve.
func TestTLS12ECDSACertificateOnClientCurve(t *testing.T) {
	pki := newTestPKI(t)
	p384 := pki.leaf(t, ecKey(t, elliptic.P384()), "server.test")
	p256 := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	clientFor := func(vers uint16) *tls.Config {
		return &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: vers, MaxVersion: vers,
			CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}
	}
	var serverErr error
	leafServed := func(client *tls.Config, server *Config) ([]byte, error) {
		var leaf []byte
		var cerr error
		cerr, serverErr = pair(t, func(c net.Conn) error {
			cl := tls.Client(c, client)
			defer cl.Close()
			if err := cl.Handshake(); err != nil {
				return err
			}
			leaf = cl.ConnectionState().PeerCertificates[0].Raw
			return nil
		}, func(c net.Conn) error {
			sv := Server(c, server)
			defer sv.Close()
			return sv.Handshake()
		})
		return leaf, cerr
	}

	both := &Config{Certificates: []Certificate{p384, p256}}
	if leaf, err := leafServed(clientFor(tls.VersionTLS12), both); err != nil || !bytes.Equal(leaf, p256.Certificate[0]) {
		t.Fatalf("TLS 1.2, P-384 and P-256 chains, client on P-256: err %v, P-256 chain served: %v", err, bytes.Equal(leaf, p256.Certificate[0]))
	}
	if leaf, err := leafServed(clientFor(tls.VersionTLS13), both); err != nil || !bytes.Equal(leaf, p384.Certificate[0]) {
		t.Fatalf("TLS 1.3: err %v, P-384 chain served: %v", err, bytes.Equal(leaf, p384.Certificate[0]))
	}
	only384 := &Config{Certificates: []Certificate{p384}}
	_, err := leafServed(clientFor(tls.VersionTLS12), only384)
	if err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("TLS 1.2, P-384 chain only, client on P-256: %v, want a handshake_failure alert", err)
	}
	if serverErr == nil || !strings.Contains(serverErr.Error(), "P-384 is not in the client's supported_groups") {
		t.Fatalf("the server's error does not say why: %v", serverErr)
	}
}

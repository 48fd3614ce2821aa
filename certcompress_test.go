package holdfast

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the bytes a connection reads.
type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// Certificate compression (RFC 8879, zlib) between Holdfast peers: the
// server's flight shrinks, the chain still verifies; crypto/tls, which
// does not offer it, gets the plain Certificate.
func TestCertificateCompression(t *testing.T) {
	root := newNamedPKI(t, "Holdfast Compression Root")
	// A three-certificate chain: leaf, intermediate, root.
	inter := root.intermediate(t, "Holdfast Compression Intermediate")
	leaf := inter.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	leaf.Certificate = append(leaf.Certificate, inter.caCert.Raw, root.caCert.Raw)
	server := &Config{Certificates: []Certificate{leaf}}
	flight := func(client *Config) int64 {
		var n atomic.Int64
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(countingConn{c, &n}, client)
			defer cl.Close()
			return sendAndCheck(cl, []byte("compressed?"))
		}, func(c net.Conn) error {
			sv := Server(c, server)
			defer sv.Close()
			return echoOnce(sv)
		})
		if cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
		return n.Load()
	}
	plain := flight(&Config{RootCAs: root.pool, ServerName: "server.test", DisableCertificateCompression: true})
	compressed := flight(&Config{RootCAs: root.pool, ServerName: "server.test"})
	t.Logf("bytes from the server with a 3-certificate chain: %d plain, %d compressed (%.0f%%)", plain, compressed, 100*float64(compressed)/float64(plain))
	if compressed >= plain {
		t.Fatalf("compression did not shrink the server's bytes (%d vs %d)", compressed, plain)
	}
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := tls.Client(c, &tls.Config{RootCAs: root.pool, ServerName: "server.test"})
		defer cl.Close()
		return sendAndCheck(cl, []byte("crypto/tls is unaffected"))
	}, func(c net.Conn) error {
		sv := Server(c, server)
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("crypto/tls client: %v, server %v", cerr, serr)
	}
}

// intermediate makes a CA under p with its own key; leaves it issues
// verify against p's pool when the intermediate is sent along.
func (p *testPKI) intermediate(t testing.TB, name string) *testPKI {
	t.Helper()
	key := ecKey(t, elliptic.P256())
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &testPKI{caCert: ca, caKey: key, pool: p.pool}
}

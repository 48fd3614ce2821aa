package holdfast

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/certcompress/brotli"
	"github.com/holdfast-tls/holdfast/certcompress/zstd"
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

// Certificate compression (RFC 8879) between Holdfast peers, for each
// algorithm: the server's flight shrinks and the chain still verifies;
// with mutual TLS the client's Certificate is compressed too, with the
// algorithm the server's CertificateRequest lists. crypto/tls, which
// offers none, gets the plain Certificate.
func TestCertificateCompression(t *testing.T) {
	root := newNamedPKI(t, "Holdfast Compression Root")
	// Three-certificate chains: leaf, intermediate, root.
	inter := root.intermediate(t, "Holdfast Compression Intermediate")
	leaf := inter.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	leaf.Certificate = append(leaf.Certificate, inter.caCert.Raw, root.caCert.Raw)
	clientLeaf := inter.leaf(t, ecKey(t, elliptic.P256()), "client.test")
	clientLeaf.Certificate = append(clientLeaf.Certificate, inter.caCert.Raw, root.caCert.Raw)

	// run makes one mTLS connection and returns the bytes each side read.
	run := func(t *testing.T, cfgs [2]*Config) (fromServer, fromClient int64) {
		server, client := cfgs[0], cfgs[1]
		var sn, cn atomic.Int64
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(countingConn{c, &sn}, client)
			defer cl.Close()
			return sendAndCheck(cl, []byte("compressed?"))
		}, func(c net.Conn) error {
			sv := Server(countingConn{c, &cn}, server)
			defer sv.Close()
			if err := echoOnce(sv); err != nil {
				return err
			}
			if len(sv.ConnectionState().PeerCertificates) != 3 {
				return fmt.Errorf("server got %d client certificates", len(sv.ConnectionState().PeerCertificates))
			}
			return nil
		})
		if cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
		return sn.Load(), cn.Load()
	}
	configs := func(server, client []certcompress.Compressor, off bool) [2]*Config {
		return [2]*Config{{Certificates: []Certificate{leaf}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: root.pool,
			CertificateCompressors: server, DisableCertificateCompression: off},
			&Config{RootCAs: root.pool, ServerName: "server.test", Certificates: []Certificate{clientLeaf},
				CertificateCompressors: client, DisableCertificateCompression: off}}
	}
	plainS, plainC := run(t, configs(nil, nil, true))
	t.Logf("plain: %d bytes from the server, %d from the client", plainS, plainC)
	for _, tc := range []struct {
		name           string
		server, client []certcompress.Compressor
	}{
		{"zlib (default)", nil, nil},
		{"brotli", []certcompress.Compressor{brotli.New()}, []certcompress.Compressor{brotli.New(), certcompress.Zlib()}},
		{"zstd", []certcompress.Compressor{zstd.New(), certcompress.Zlib()}, []certcompress.Compressor{zstd.New()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := run(t, configs(tc.server, tc.client, false))
			t.Logf("%s: %d bytes from the server (%.0f%%), %d from the client (%.0f%%)", tc.name,
				s, 100*float64(s)/float64(plainS), c, 100*float64(c)/float64(plainC))
			if s >= plainS || c >= plainC {
				t.Fatalf("compression did not shrink both flights: server %d vs %d, client %d vs %d", s, plainS, c, plainC)
			}
		})
	}
	// No algorithm in common: both Certificates go plain.
	s, c := run(t, configs([]certcompress.Compressor{zstd.New()}, []certcompress.Compressor{brotli.New()}, false))
	if s < plainS-64 || c < plainC-64 {
		t.Fatalf("without a common algorithm the flights shrank: server %d vs %d, client %d vs %d", s, plainS, c, plainC)
	}

	server := configs(nil, nil, false)[0]
	server.ClientAuth = NoClientCert
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

func TestCertificateCompressorsValidated(t *testing.T) {
	for _, list := range [][]certcompress.Compressor{{nil}, {certcompress.Zlib(), certcompress.Zlib()}} {
		c := &Config{CertificateCompressors: list}
		if _, err := c.resolve(); err == nil || !strings.Contains(err.Error(), "CertificateCompressors") {
			t.Errorf("%v: %v", list, err)
		}
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

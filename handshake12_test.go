package holdfast

import (
	"bytes"
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
)

var suites12 = []struct {
	id    uint16
	rsa   bool // needs an RSA certificate
	std   uint16
	needs string
}{
	{0xc02b, false, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ""},
	{0xc02c, false, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, ""},
	{0xcca9, false, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, ""},
	{0xc02f, true, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ""},
	{0xc030, true, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, ""},
	{0xcca8, true, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, ""},
	{0x009c, true, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "legacy"},
	{0x002f, true, tls.TLS_RSA_WITH_AES_128_CBC_SHA, "legacy"},
	{0x0035, true, tls.TLS_RSA_WITH_AES_256_CBC_SHA, "legacy"},
}

// TLS 1.2 against crypto/tls, both directions, every suite.
func TestTLS12InteropCryptoTLS(t *testing.T) {
	pki := newTestPKI(t)
	ecCert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	rsaCert := pki.leaf(t, rsaKey(t), "server.test")
	for _, s := range suites12 {
		cert := ecCert
		if s.rsa {
			cert = rsaCert
		}
		name := CipherSuiteName(s.id)
		t.Run("holdfast-server/"+name, func(t *testing.T) {
			cerr, serr := pair(t, func(c net.Conn) error {
				cl := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{s.std}})
				defer cl.Close()
				if err := sendAndCheck(cl, bytes.Repeat([]byte("tls12 "), 4000)); err != nil {
					return err
				}
				if st := cl.ConnectionState(); st.Version != tls.VersionTLS12 || st.CipherSuite != s.std {
					return fmt.Errorf("state %+v", st)
				}
				return nil
			}, func(c net.Conn) error {
				sv := Server(c, &Config{Certificates: []Certificate{cert}, CipherSuites: []uint16{s.id}})
				defer sv.Close()
				return echoN(sv, 24000)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client: %v; server: %v", cerr, serr)
			}
		})
		t.Run("holdfast-client/"+name, func(t *testing.T) {
			cerr, serr := pair(t, func(c net.Conn) error {
				cl := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test", CipherSuites: []uint16{s.id}})
				defer cl.Close()
				if err := sendAndCheck(cl, bytes.Repeat([]byte("tls12 "), 4000)); err != nil {
					return err
				}
				if st := cl.ConnectionState(); st.Version != VersionTLS12 || st.CipherSuite != s.id {
					return fmt.Errorf("state %+v", st)
				}
				return nil
			}, func(c net.Conn) error {
				sv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{s.std}})
				defer sv.Close()
				return echoN(sv, 24000)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client: %v; server: %v", cerr, serr)
			}
		})
	}
}

// echoN reads n bytes and writes them back.
func echoN(rw io.ReadWriter, n int) error {
	buf := make([]byte, n)
	if _, err := io.ReadFull(rw, buf); err != nil {
		return err
	}
	_, err := rw.Write(buf)
	return err
}

// The seed's flow: TLS_RSA_WITH_AES_128_CBC_SHA with mutual
// authentication, both directions, against crypto/tls.
func TestTLS12SeedFlowMutualAuth(t *testing.T) {
	pki := newTestPKI(t)
	srv := pki.leaf(t, rsaKey(t), "server.test")
	cli := pki.leaf(t, rsaKey(t), "client.test")
	var peer string
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}, Certificates: []tls.Certificate{toStd(cli)}})
		defer cl.Close()
		return sendAndCheck(cl, []byte("seed flow"))
	}, func(c net.Conn) error {
		sv := Server(c, &Config{Certificates: []Certificate{srv}, CipherSuites: []uint16{0x002f}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: pki.pool})
		defer sv.Close()
		if err := sv.Handshake(); err != nil {
			return err
		}
		peer = sv.ConnectionState().PeerCertificates[0].Subject.CommonName
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil || peer != "client.test" {
		t.Fatalf("client: %v; server: %v; peer %q", cerr, serr, peer)
	}
	cerr, serr = pair(t, func(c net.Conn) error {
		cl := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test", CipherSuites: []uint16{0x002f}, Certificates: []Certificate{cli}, MaxVersion: VersionTLS12})
		defer cl.Close()
		return sendAndCheck(cl, []byte("seed flow"))
	}, func(c net.Conn) error {
		sv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(srv)}, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool})
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
}

// A Holdfast server that speaks TLS 1.3 writes the downgrade sentinel into
// a TLS 1.2 ServerHello, and a Holdfast client that offered TLS 1.3
// refuses such a ServerHello (RFC 8446 §4.1.3): a server that could do
// TLS 1.3 was made to answer with TLS 1.2.
func TestDowngradeSentinel(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	// Strip supported_versions from the client's hello on the way, as a
	// downgrading attacker would: the server falls back to TLS 1.2 and
	// marks its random; the client notices.
	cerr, serr := pair(t, func(c net.Conn) error {
		return Client(&stripVersions{Conn: c}, &Config{RootCAs: pki.pool, ServerName: "server.test"}).Handshake()
	}, func(c net.Conn) error {
		return Server(c, &Config{Certificates: []Certificate{cert}}).Handshake()
	})
	if ae, ok := errors.AsType[*AlertError](cerr); !ok || ae.Alert != 47 { // illegal_parameter
		t.Fatalf("client: %v, want illegal_parameter for the downgrade sentinel (server: %v)", cerr, serr)
	}
}

// stripVersions rewrites the supported_versions extension type in the
// first record written (the ClientHello) to an unknown one, leaving the
// lengths intact.
type stripVersions struct {
	net.Conn
	done bool
}

func (s *stripVersions) Write(p []byte) (int, error) {
	if !s.done {
		s.done = true
		q := append([]byte(nil), p...)
		// extension type 43 (0x002b) followed by a length of 5 and a list of 4 bytes
		if i := bytes.Index(q, []byte{0x00, 0x2b, 0x00, 0x05, 0x04}); i >= 0 {
			q[i], q[i+1] = 0xfa, 0xfa
		}
		return s.Conn.Write(q)
	}
	return s.Conn.Write(p)
}

// The server's CertificateRequest names the ClientCAs, in TLS 1.2 and 1.3,
// as crypto/tls's client sees them.
func TestCertificateRequestNamesCAs(t *testing.T) {
	pki := newTestPKI(t)
	srv := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	cli := pki.leaf(t, ecKey(t, elliptic.P256()), "client.test")
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		var got [][]byte
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: v,
				GetClientCertificate: func(info *tls.CertificateRequestInfo) (*tls.Certificate, error) {
					got = info.AcceptableCAs
					c := toStd(cli)
					return &c, nil
				}})
			defer cl.Close()
			return sendAndCheck(cl, []byte("ca names"))
		}, func(c net.Conn) error {
			sv := Server(c, &Config{Certificates: []Certificate{srv}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: pki.pool})
			defer sv.Close()
			return echoOnce(sv)
		})
		if cerr != nil || serr != nil {
			t.Fatalf("version %#04x: client %v, server %v", v, cerr, serr)
		}
		if len(got) != 1 || !bytes.Equal(got[0], pki.caCert.RawSubject) {
			t.Fatalf("version %#04x: AcceptableCAs %q, want the test CA's subject", v, got)
		}
	}
}

package holdfast

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// testPKI is a CA and leaf certificates for tests.
type testPKI struct {
	caCert *x509.Certificate
	caKey  crypto.Signer
	pool   *x509.CertPool
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	return newNamedPKI(t, "Holdfast Test CA")
}

// newNamedPKI makes a CA with its own key and the given name.
func newNamedPKI(t testing.TB, name string) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{caCert: ca, caKey: key, pool: pool}
}

var serial int64 = 100

func (p *testPKI) leaf(t testing.TB, key crypto.Signer, names ...string) Certificate {
	t.Helper()
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if _, ok := key.Public().(*rsa.PublicKey); ok {
		// RSA keys also serve TLS 1.2 RSA key transport.
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func ecKey(t testing.TB, c elliptic.Curve) crypto.Signer {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t testing.TB) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func edKey(t testing.TB) crypto.Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// toStd converts a Certificate for crypto/tls.
func toStd(c Certificate) tls.Certificate {
	return tls.Certificate{Certificate: c.Certificate, PrivateKey: c.PrivateKey, Leaf: c.Leaf}
}

// pair runs a handshake between a client and a server over a socket pair
// and returns both ends' results.
func pair(t *testing.T, client func(net.Conn) error, server func(net.Conn) error) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			serverErr = err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		serverErr = server(c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	clientErr = client(c)
	c.Close()
	wg.Wait()
	return clientErr, serverErr
}

// echoOnce reads a message and writes it back.
func echoOnce(rw io.ReadWriter) error {
	buf := make([]byte, 64<<10)
	n, err := rw.Read(buf)
	if err != nil {
		return err
	}
	_, err = rw.Write(buf[:n])
	return err
}

func sendAndCheck(rw io.ReadWriter, msg []byte) error {
	if _, err := rw.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(rw, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return errors.New("echo differs")
	}
	return nil
}

func TestHoldfastToHoldfast(t *testing.T) {
	pki := newTestPKI(t)
	for _, tc := range []struct {
		name  string
		key   crypto.Signer
		suite uint16
		group CurveID
	}{
		{"P256/AES128/X25519", ecKey(t, elliptic.P256()), TLS_AES_128_GCM_SHA256, X25519},
		{"P384/AES256/P384", ecKey(t, elliptic.P384()), TLS_AES_256_GCM_SHA384, CurveP384},
		{"RSA/ChaCha/P256", rsaKey(t), TLS_CHACHA20_POLY1305_SHA256, CurveP256},
		{"Ed25519/AES128/MLKEM", edKey(t), TLS_AES_128_GCM_SHA256, X25519MLKEM768},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := pki.leaf(t, tc.key, "server.test")
			srvCfg := &Config{Certificates: []Certificate{cert}}
			cliCfg := &Config{RootCAs: pki.pool, ServerName: "server.test", CipherSuites: []uint16{tc.suite}, CurvePreferences: []CurveID{tc.group}}
			var state ConnectionState
			cerr, serr := pair(t, func(c net.Conn) error {
				tc := Client(c, cliCfg)
				defer tc.Close()
				if err := tc.Handshake(); err != nil {
					return err
				}
				state = tc.ConnectionState()
				return sendAndCheck(tc, bytes.Repeat([]byte("holdfast "), 5000))
			}, func(c net.Conn) error {
				tc := Server(c, srvCfg)
				defer tc.Close()
				buf := make([]byte, 45000)
				if _, err := io.ReadFull(tc, buf); err != nil {
					return err
				}
				_, err := tc.Write(buf)
				return err
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client: %v; server: %v", cerr, serr)
			}
			if state.CipherSuite != tc.suite || state.CurveID != tc.group || state.Version != VersionTLS13 {
				t.Fatalf("negotiated %+v", state)
			}
		})
	}
}

// Interop with Go's crypto/tls, both directions.
func TestInteropCryptoTLS(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	for _, suite := range []uint16{TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256} {
		for _, group := range []CurveID{X25519, CurveP256, CurveP384, X25519MLKEM768} {
			name := fmt.Sprintf("%#04x/%v", suite, group)
			t.Run("holdfast-client/"+name, func(t *testing.T) {
				cerr, serr := pair(t, func(c net.Conn) error {
					tc := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test", CipherSuites: []uint16{suite}, CurvePreferences: []CurveID{group}, NextProtos: []string{"h2", "http/1.1"}})
					defer tc.Close()
					if err := sendAndCheck(tc, []byte("ping from holdfast")); err != nil {
						return err
					}
					if st := tc.ConnectionState(); st.NegotiatedProtocol != "h2" || st.CurveID != group {
						return fmt.Errorf("state %+v", st)
					}
					return nil
				}, func(c net.Conn) error {
					s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS13,
						CurvePreferences: []tls.CurveID{tls.CurveID(group)}})
					defer s.Close()
					return echoOnce(s)
				})
				if cerr != nil || serr != nil {
					t.Fatalf("client: %v; server: %v", cerr, serr)
				}
			})
		}
		t.Run(fmt.Sprintf("holdfast-server/%#04x", suite), func(t *testing.T) {
			cerr, serr := pair(t, func(c net.Conn) error {
				s := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: tls.VersionTLS13, CipherSuites: []uint16{suite}})
				defer s.Close()
				if err := sendAndCheck(s, []byte("ping from crypto/tls")); err != nil {
					return err
				}
				if s.ConnectionState().CipherSuite != suite {
					return errors.New("wrong suite")
				}
				return nil
			}, func(c net.Conn) error {
				tc := Server(c, &Config{Certificates: []Certificate{cert}, CipherSuites: []uint16{suite}})
				defer tc.Close()
				return echoOnce(tc)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client: %v; server: %v", cerr, serr)
			}
		})
	}
}

// The server prefers a group the client offered no share for: a
// HelloRetryRequest round trip, with crypto/tls on the other side.
func TestHelloRetryRequest(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	// Holdfast server, crypto/tls client sending only an X25519 share.
	var hrr bool
	cerr, serr := pair(t, func(c net.Conn) error {
		s := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test", CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP384}})
		defer s.Close()
		return sendAndCheck(s, []byte("retry"))
	}, func(c net.Conn) error {
		tc := Server(c, &Config{Certificates: []Certificate{cert}, CurvePreferences: []CurveID{CurveP384}})
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return err
		}
		hrr = tc.ConnectionState().DidHelloRetry
		return echoOnce(tc)
	})
	if cerr != nil || serr != nil || !hrr {
		t.Fatalf("client: %v; server: %v; HRR %v", cerr, serr, hrr)
	}
	// Holdfast client sending one X25519 share, crypto/tls server wanting P-384.
	cerr, serr = pair(t, func(c net.Conn) error {
		tc := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test", CurvePreferences: []CurveID{X25519, CurveP384}})
		defer tc.Close()
		if err := sendAndCheck(tc, []byte("retry")); err != nil {
			return err
		}
		if st := tc.ConnectionState(); !st.DidHelloRetry || st.CurveID != CurveP384 {
			return fmt.Errorf("state %+v", st)
		}
		return nil
	}, func(c net.Conn) error {
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, CurvePreferences: []tls.CurveID{tls.CurveP384}})
		defer s.Close()
		return echoOnce(s)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
}

func TestMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	srv := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	cli := pki.leaf(t, rsaKey(t), "client.test")
	var peer string
	cerr, serr := pair(t, func(c net.Conn) error {
		s := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test", Certificates: []tls.Certificate{toStd(cli)}})
		defer s.Close()
		return sendAndCheck(s, []byte("mtls"))
	}, func(c net.Conn) error {
		tc := Server(c, &Config{Certificates: []Certificate{srv}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: pki.pool})
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return err
		}
		peer = tc.ConnectionState().PeerCertificates[0].Subject.CommonName
		return echoOnce(tc)
	})
	if cerr != nil || serr != nil || peer != "client.test" {
		t.Fatalf("client: %v; server: %v; peer %q", cerr, serr, peer)
	}
	// Holdfast client presenting its certificate to crypto/tls.
	cerr, serr = pair(t, func(c net.Conn) error {
		tc := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test", Certificates: []Certificate{cli}})
		defer tc.Close()
		return sendAndCheck(tc, []byte("mtls"))
	}, func(c net.Conn) error {
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(srv)}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool})
		defer s.Close()
		return echoOnce(s)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
	// No client certificate where one is required: certificate_required.
	cerr, serr = pair(t, func(c net.Conn) error {
		s := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "server.test"})
		defer s.Close()
		return sendAndCheck(s, []byte("x"))
	}, func(c net.Conn) error {
		tc := Server(c, &Config{Certificates: []Certificate{srv}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: pki.pool})
		defer tc.Close()
		return tc.Handshake()
	})
	if !errors.Is(serr, AlertCertificateRequired) {
		t.Fatalf("server error %v, want certificate_required", serr)
	}
	if cerr == nil {
		t.Fatal("client succeeded without a certificate")
	}
}

// KeyUpdate both ways under traffic, against crypto/tls.
func TestKeyUpdate(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	cerr, serr := pair(t, func(c net.Conn) error {
		tc := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test"})
		defer tc.Close()
		for i := range 5 {
			if err := tc.KeyUpdate(i%2 == 0); err != nil {
				return err
			}
			if err := sendAndCheck(tc, bytes.Repeat([]byte{byte(i)}, 70000)); err != nil {
				return fmt.Errorf("round %d: %w", i, err)
			}
		}
		return nil
	}, func(c net.Conn) error {
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(cert)}})
		defer s.Close()
		buf := make([]byte, 70000)
		for range 5 {
			if _, err := io.ReadFull(s, buf); err != nil {
				return err
			}
			if _, err := s.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
}

func TestBadChainAlerts(t *testing.T) {
	pki, other := newTestPKI(t), newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	for _, tc := range []struct {
		name string
		cfg  *Config
		want Alert
	}{
		{"unknown CA", &Config{RootCAs: other.pool, ServerName: "server.test"}, AlertUnknownCA},
		{"wrong name", &Config{RootCAs: pki.pool, ServerName: "other.test"}, AlertBadCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cerr, serr := pair(t, func(c net.Conn) error {
				return Client(c, tc.cfg).Handshake()
			}, func(c net.Conn) error {
				return Server(c, &Config{Certificates: []Certificate{cert}}).Handshake()
			})
			ae, ok := errors.AsType[*AlertError](cerr)
			if !ok || ae.Alert != tc.want || !ae.Sent {
				t.Fatalf("client error %v, want sent %v", cerr, tc.want)
			}
			if pe, ok := errors.AsType[*AlertError](serr); !ok || pe.Alert != tc.want || pe.Sent {
				t.Fatalf("server error %v, want received %v", serr, tc.want)
			}
		})
	}
}

func TestHandshakeContextDeadline(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	pki := newTestPKI(t)
	c := Client(a, &Config{RootCAs: pki.pool, ServerName: "x"})
	go io.Copy(io.Discard, b) // a peer that never answers
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.HandshakeContext(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("handshake did not honour the deadline")
	}
}

func TestConfigValidation(t *testing.T) {
	pki := newTestPKI(t)
	good := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	mismatched := good
	mismatched.PrivateKey = ecKey(t, elliptic.P256())
	if _, err := (&Config{Certificates: []Certificate{mismatched}}).resolve(); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched key: %v", err)
	}
	if _, err := (&Config{CipherSuites: []uint16{0x000a}}).resolve(); err == nil {
		t.Error("TLS_RSA_WITH_3DES_EDE_CBC_SHA accepted")
	}
	if _, err := (&Config{CurvePreferences: []CurveID{0x0019}}).resolve(); err == nil {
		t.Error("P-521 accepted")
	}
	if _, err := Listen("tcp", "127.0.0.1:0", &Config{}); err == nil {
		t.Error("Listen without a certificate succeeded")
	}
}

package wire

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Real peers: crypto/tls and the openssl command line, on loopback. Each
// captured message must parse and re-marshal to exactly its bytes.

const recordHandshake = 22

// readFlight reads plaintext records from c until want messages are whole
// or a record of another type arrives (a ChangeCipherSpec, or protected
// records), and returns the messages.
func readFlight(t testing.TB, c net.Conn, want int) [][]byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var r Reassembler
	var msgs [][]byte
	hdr := make([]byte, 5)
	for len(msgs) < want {
		if _, err := io.ReadFull(c, hdr); err != nil {
			t.Fatalf("reading a record header after %d messages: %v", len(msgs), err)
		}
		body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
		if _, err := io.ReadFull(c, body); err != nil {
			t.Fatalf("reading a record: %v", err)
		}
		if hdr[0] != recordHandshake {
			break
		}
		r.Add(body)
		msgs = append(msgs, drain(t, &r)...)
	}
	return msgs
}

// record frames a handshake message as one plaintext record.
func record(msg []byte) []byte {
	return cat([]byte{recordHandshake, 3, 1}, u16(len(msg)), msg)
}

// goClientHello returns the ClientHello crypto/tls sends with cfg.
func goClientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c, s := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = tls.Client(c, cfg).Handshake() // fails when s closes
	}()
	msgs := readFlight(t, s, 1)
	s.Close()
	<-done
	c.Close()
	if len(msgs) != 1 {
		t.Fatal("no ClientHello")
	}
	return msgs[0]
}

// goServerReply replays a ClientHello to a crypto/tls server and returns
// the server's plaintext handshake messages.
func goServerReply(t testing.TB, cfg *tls.Config, ch []byte) [][]byte {
	t.Helper()
	c, s := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = tls.Server(s, cfg).Handshake()
	}()
	go func() { _, _ = c.Write(record(ch)) }()
	msgs := readFlight(t, c, 1)
	c.Close()
	<-done
	s.Close()
	return msgs
}

type testCert struct {
	tls  tls.Certificate
	pool *x509.CertPool
	der  []byte
	key  *ecdsa.PrivateKey
}

func newTestCert(t testing.TB) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.test"},
		DNSNames:     []string{"example.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return testCert{tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, der, key}
}

// canonical parses a captured ClientHello and checks it re-marshals to
// the same bytes.
func canonicalClientHello(t *testing.T, in []byte) *ClientHello {
	t.Helper()
	ch, err := ParseClientHello(in)
	if err != nil {
		t.Fatalf("ParseClientHello: %v\n%x", err, in)
	}
	remarshal(t, "ClientHello", ch, in)
	t.Logf("ClientHello of %d bytes, extensions %d", len(in), ch.ExtensionOrder)
	return ch
}

func canonicalServerHello(t *testing.T, in []byte) *ServerHello {
	t.Helper()
	sh, err := ParseServerHello(in)
	if err != nil {
		t.Fatalf("ParseServerHello: %v\n%x", err, in)
	}
	remarshal(t, "ServerHello", sh, in)
	t.Logf("ServerHello of %d bytes, extensions %d", len(in), sh.ExtensionOrder)
	return sh
}

func hasShare(ch *ClientHello, group uint16) bool {
	return slices.ContainsFunc(ch.KeyShares, func(k KeyShare) bool { return k.Group == group })
}

func TestGoClientHello(t *testing.T) {
	ch := canonicalClientHello(t, goClientHello(t, &tls.Config{
		ServerName: "example.test",
		NextProtos: []string{"h2", "http/1.1"},
	}))
	if ch.ServerName != "example.test" {
		t.Errorf("ServerName %q", ch.ServerName)
	}
	if !slices.Contains(ch.SupportedVersions, tls.VersionTLS13) || !slices.Contains(ch.SupportedVersions, tls.VersionTLS12) {
		t.Errorf("SupportedVersions %04x", ch.SupportedVersions)
	}
	if !hasShare(ch, uint16(tls.X25519)) {
		t.Errorf("no X25519 share: %v", ch.KeyShares)
	}
	if !slices.Equal(ch.ALPN, []string{"h2", "http/1.1"}) {
		t.Errorf("ALPN %q", ch.ALPN)
	}
	if !ch.ExtendedMasterSecret || !ch.SecureRenegotiationSupported || len(ch.SessionID) != 32 {
		t.Errorf("TLS 1.2 compatibility fields misread")
	}
}

// TestGoResumptionClientHello drives a full crypto/tls handshake to get a
// ticket, then captures the resuming ClientHello with its PSK offer.
func TestGoResumptionClientHello(t *testing.T) {
	cert := newTestCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	scfg := &tls.Config{Certificates: []tls.Certificate{cert.tls}}
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		srv := tls.Server(conn, scfg)
		_, err = srv.Write([]byte("x")) // runs the handshake, then the ticket goes first
		srv.Close()
		served <- err
	}()
	ccfg := &tls.Config{
		ServerName:         "example.test",
		RootCAs:            cert.pool,
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil { // reads the ticket on the way
		t.Fatal(err)
	}
	conn.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}

	in := goClientHello(t, ccfg)
	ch := canonicalClientHello(t, in)
	if len(ch.PSKIdentities) != 1 || len(ch.PSKBinders) != 1 {
		t.Fatalf("no PSK offer in the resuming ClientHello")
	}
	if ch.ExtensionOrder[len(ch.ExtensionOrder)-1] != ExtPreSharedKey {
		t.Fatal("pre_shared_key is not last")
	}
	trunc, err := ch.TruncatedForBinders()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cat(trunc, v16(v8(ch.PSKBinders[0]))), in) {
		t.Fatal("truncated hello and binders do not make up the message")
	}
	// Rewriting the same binder in place changes nothing.
	if err := ch.UpdateBinders([][]byte{bytes.Clone(ch.PSKBinders[0])}); err != nil || !bytes.Equal(ch.Raw, in) {
		t.Fatalf("UpdateBinders with the same binder changed Raw (%v)", err)
	}
}

func TestGoServerHello(t *testing.T) {
	cert := newTestCert(t)
	ch := goClientHello(t, &tls.Config{ServerName: "example.test"})
	msgs := goServerReply(t, &tls.Config{Certificates: []tls.Certificate{cert.tls}}, ch)
	if len(msgs) != 1 {
		t.Fatalf("%d plaintext messages", len(msgs))
	}
	sh := canonicalServerHello(t, msgs[0])
	if sh.IsHelloRetryRequest() || sh.SupportedVersion != tls.VersionTLS13 || len(sh.KeyShare.Data) == 0 {
		t.Fatalf("ServerHello misread: %+v", sh)
	}
}

func TestGoHelloRetryRequest(t *testing.T) {
	cert := newTestCert(t)
	ch := goClientHello(t, &tls.Config{
		ServerName:       "example.test",
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},
	})
	msgs := goServerReply(t, &tls.Config{
		Certificates:     []tls.Certificate{cert.tls},
		CurvePreferences: []tls.CurveID{tls.CurveP256},
	}, ch)
	if len(msgs) != 1 {
		t.Fatalf("%d plaintext messages", len(msgs))
	}
	hrr := canonicalServerHello(t, msgs[0])
	if !hrr.IsHelloRetryRequest() || hrr.HRRSelectedGroup != uint16(tls.CurveP256) || hrr.KeyShare.Data != nil {
		t.Fatalf("HelloRetryRequest misread: %+v", hrr)
	}
}

// --- openssl --------------------------------------------------------------

func needOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: the interop captures need it")
	}
	return path
}

// opensslClientHello runs openssl s_client against a listener that reads
// its first flight, and returns the ClientHello.
func opensslClientHello(t *testing.T, openssl string, args ...string) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := append([]string{"s_client", "-connect", ln.Addr().String(), "-servername", "example.test"}, args...)
	cmd := exec.CommandContext(ctx, openssl, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }() // it fails: the peer hangs up
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := readFlight(t, conn, 1)
	if len(msgs) != 1 {
		t.Fatalf("no ClientHello from openssl: %s", out.String())
	}
	return msgs[0]
}

func TestOpenSSLClientHello(t *testing.T) {
	openssl := needOpenSSL(t)
	for _, tc := range []struct {
		name    string
		args    []string
		tls13   bool
		tls12   bool
		alpn    []string
		minExts int
	}{
		{"tls1_3", []string{"-tls1_3"}, true, false, nil, 5},
		{"tls1_2", []string{"-tls1_2"}, false, true, nil, 5},
		{"default with alpn", []string{"-alpn", "h2,http/1.1", "-status"}, true, true, []string{"h2", "http/1.1"}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := canonicalClientHello(t, opensslClientHello(t, openssl, tc.args...))
			if ch.ServerName != "example.test" {
				t.Errorf("ServerName %q", ch.ServerName)
			}
			if got := slices.Contains(ch.SupportedVersions, tls.VersionTLS13); got != tc.tls13 {
				t.Errorf("TLS 1.3 offered: %v, want %v (%04x)", got, tc.tls13, ch.SupportedVersions)
			}
			if tc.tls13 && len(ch.KeyShares) == 0 {
				t.Error("TLS 1.3 offered without key shares")
			}
			if tc.tls12 && !ch.ExtendedMasterSecret {
				t.Error("TLS 1.2 offered without extended_master_secret")
			}
			if !slices.Equal(ch.ALPN, tc.alpn) {
				t.Errorf("ALPN %q", ch.ALPN)
			}
			if tc.alpn != nil && !ch.StatusRequest {
				t.Error("-status sent no status_request")
			}
			if len(ch.ExtensionOrder) < tc.minExts {
				t.Errorf("only %d extensions", len(ch.ExtensionOrder))
			}
		})
	}
}

// opensslServerReply starts openssl s_server, sends it ch and returns its
// plaintext handshake messages, up to want.
func opensslServerReply(t *testing.T, openssl string, cert testCert, ch []byte, want int, args ...string) [][]byte {
	t.Helper()
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	// Find a free port, then hand it to openssl.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := append([]string{"s_server", "-accept", addr, "-cert", certPath, "-key", keyPath, "-naccept", "1", "-quiet"}, args...)
	cmd := exec.CommandContext(ctx, openssl, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	var conn net.Conn
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if conn, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("openssl s_server did not listen on %s: %v\n%s", addr, err, out.String())
		}
	}
	defer conn.Close()
	if _, err := conn.Write(record(ch)); err != nil {
		t.Fatal(err)
	}
	return readFlight(t, conn, want)
}

func TestOpenSSLServerHello(t *testing.T) {
	openssl := needOpenSSL(t)
	cert := newTestCert(t)

	t.Run("tls1_3", func(t *testing.T) {
		ch := canonicalClientHello(t, opensslClientHello(t, openssl, "-tls1_3"))
		msgs := opensslServerReply(t, openssl, cert, ch.Raw, 1, "-tls1_3")
		if len(msgs) != 1 {
			t.Fatalf("%d plaintext messages", len(msgs))
		}
		sh := canonicalServerHello(t, msgs[0])
		if sh.SupportedVersion != tls.VersionTLS13 || !hasShare(ch, sh.KeyShare.Group) ||
			!bytes.Equal(sh.SessionID, ch.SessionID) {
			t.Fatalf("ServerHello misread: %+v", sh)
		}
	})

	t.Run("tls1_2", func(t *testing.T) {
		ch := canonicalClientHello(t, opensslClientHello(t, openssl, "-tls1_2"))
		// ServerHello, Certificate, ServerKeyExchange, ServerHelloDone.
		msgs := opensslServerReply(t, openssl, cert, ch.Raw, 4, "-tls1_2")
		if len(msgs) != 4 || msgs[3][0] != TypeServerHelloDone {
			t.Fatalf("%d plaintext messages", len(msgs))
		}
		sh := canonicalServerHello(t, msgs[0])
		if sh.Vers != tls.VersionTLS12 || sh.SupportedVersion != 0 || !sh.ExtendedMasterSecret || !sh.SecureRenegotiationSupported {
			t.Fatalf("ServerHello misread: %+v", sh)
		}
		c12, err := ParseCertificate12(msgs[1])
		if err != nil {
			t.Fatal(err)
		}
		if len(c12.Certificates) != 1 || !bytes.Equal(c12.Certificates[0], cert.der) {
			t.Fatal("TLS 1.2 Certificate does not hold the server's certificate")
		}
		remarshal(t, "Certificate12", c12, msgs[1])
	})
}

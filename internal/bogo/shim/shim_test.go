package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// buildShim compiles the shim once per test binary run.
func buildShim(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shim")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeCredential writes a self-signed P-256 certificate and its key as
// PEM files, as the runner does for -cert-file and -key-file.
func writeCredential(t *testing.T) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bogo shim test"},
		DNSNames:     []string{"test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// runShim starts the shim with the runner's plumbing flags and returns the
// listener-side connection after checking the shim ID, and the process.
func runShim(t *testing.T, bin string, ln net.Listener, ipv6 bool, extra ...string) (net.Conn, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	const shimID = 4242
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	args := []string{"-port", port, "-shim-id", strconv.Itoa(shimID)}
	if ipv6 {
		args = append(args, "-ipv6")
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("shim did not connect: %v; stderr: %s", err, &stderr)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var id [8]byte
	if _, err := io.ReadFull(conn, id[:]); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint64(id[:]); got != shimID {
		t.Fatalf("shim sent ID %d, want %d", got, shimID)
	}
	return conn, cmd, &stderr
}

// listen opens a loopback listener, on [::1] when ipv6 is set, as the
// runner does.
func listen(t *testing.T, ipv6 bool) net.Listener {
	t.Helper()
	addr := "127.0.0.1:0"
	if ipv6 {
		addr = "[::1]:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("no loopback listener on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// echo plays the runner's part after the handshake: it checks the
// exporter output and the shim's first write, sends a message and expects
// it back with every byte inverted, then closes with close_notify.
func echo(t *testing.T, tc *tls.Conn, cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	cs := tc.ConnectionState()
	want, err := cs.ExportKeyingMaterial("EXPORTER-bogo", []byte("ctx"), 20)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 20)
	if _, err := io.ReadFull(tc, got); err != nil {
		t.Fatalf("reading exported keying material: %v; stderr: %s", err, stderr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("exporter: shim %x, crypto/tls %x", got, want)
	}
	hello := make([]byte, 5)
	if _, err := io.ReadFull(tc, hello); err != nil || string(hello) != "hello" {
		t.Fatalf("shim's first write: %q, %v", hello, err)
	}
	msg := []byte("BoGo smoke test message")
	if _, err := tc.Write(msg); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, len(msg))
	if _, err := io.ReadFull(tc, reply); err != nil {
		t.Fatalf("reading the echo: %v; stderr: %s", err, stderr)
	}
	for i := range reply {
		if reply[i] != msg[i]^0xff {
			t.Fatalf("echo %x, want the inverse of %x", reply, msg)
		}
	}
	tc.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("shim exited with %v; stderr: %s", err, stderr)
	}
}

// TestShimHandshake runs one BoGo-style exchange per direction: the shim
// is configured only by the runner's flags and crypto/tls plays the
// runner.
func TestShimHandshake(t *testing.T) {
	bin := buildShim(t)
	certPath, keyPath := writeCredential(t)
	common := []string{
		"-export-keying-material", "20", "-export-label", "EXPORTER-bogo",
		"-export-context", "ctx", "-use-export-context", "-shim-writes-first",
	}
	for _, tc := range []struct {
		name   string
		server bool
		ipv6   bool
		vers   uint16
		flags  []string
	}{
		{name: "server-TLS13-ipv6", server: true, ipv6: true, vers: tls.VersionTLS13, flags: []string{"-expect-version", "772", "-curves", "29", "-expect-curve-id", "29"}},
		{name: "client-TLS12-async", vers: tls.VersionTLS12, flags: []string{"-max-version", "771", "-async", "-advertise-alpn", "\x03foo", "-expect-alpn", "foo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t, tc.ipv6)
			flags := append(append([]string(nil), common...), tc.flags...)
			if tc.server {
				flags = append(flags, "-server", "-cert-file", certPath, "-key-file", keyPath)
			} else {
				flags = append(flags, "-trust-cert", certPath)
			}
			conn, cmd, stderr := runShim(t, bin, ln, tc.ipv6, flags...)
			var tconn *tls.Conn
			if tc.server {
				tconn = tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tc.vers, MaxVersion: tc.vers})
			} else {
				pair, err := tls.LoadX509KeyPair(certPath, keyPath)
				if err != nil {
					t.Fatal(err)
				}
				tconn = tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{pair}, MaxVersion: tc.vers, NextProtos: []string{"foo"}})
			}
			if err := tconn.Handshake(); err != nil {
				t.Fatalf("handshake: %v; shim stderr: %s", err, stderr)
			}
			if v := tconn.ConnectionState().Version; v != tc.vers {
				t.Fatalf("negotiated %#x, want %#x", v, tc.vers)
			}
			echo(t, tconn, cmd, stderr)
		})
	}
}

// TestShimUnimplemented checks the unimplemented exit code for a flag the
// shim does not handle and for a value it cannot honour, before any
// connection is made.
func TestShimUnimplemented(t *testing.T) {
	bin := buildShim(t)
	for _, args := range [][]string{
		{"-port", "1", "-shim-id", "0", "-resume-count", "1", "-ticket-key", "AAAA"},
		{"-port", "1", "-shim-id", "0", "-on-resume-expect-ticket-renewal"},
		{"-port", "1", "-shim-id", "0", "-expect-ticket-supports-early-data"},
		{"-port", "1", "-shim-id", "0", "-max-version", "769"},
		{"-port", "1", "-shim-id", "0", "-curves", "25"},
	} {
		err := exec.Command(bin, args...).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUnimplemented {
			t.Errorf("%q: got %v, want exit code %d", args, err, exitUnimplemented)
		}
	}
	out, err := exec.Command(bin, "-is-handshaker-supported").Output()
	if err != nil || string(out) != "No\n" {
		t.Errorf("-is-handshaker-supported: %q, %v", out, err)
	}
}

// acceptNext plays the runner's side of one more connection of a
// -resume-count run: it accepts the shim's next connection and checks the
// shim ID.
func acceptNext(t *testing.T, ln net.Listener, stderr *bytes.Buffer) net.Conn {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("shim did not connect again: %v; stderr: %s", err, stderr)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var id [8]byte
	if _, err := io.ReadFull(conn, id[:]); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestShimResume runs -resume-count 1 with crypto/tls as the runner: two
// TLS 1.3 connections in one shim process, the second resuming the first's
// session. The shim fails (exit 1) unless it reports the resumption on the
// second connection and none on the first; crypto/tls checks its side.
func TestShimResume(t *testing.T) {
	bin := buildShim(t)
	certPath, keyPath := writeCredential(t)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, server := range []bool{true, false} {
		name := "client"
		if server {
			name = "server"
		}
		t.Run(name, func(t *testing.T) {
			ln := listen(t, false)
			flags := []string{"-resume-count", "1", "-expect-version", "772"}
			if server {
				flags = append(flags, "-server", "-cert-file", certPath, "-key-file", keyPath)
			} else {
				flags = append(flags, "-trust-cert", certPath)
			}
			conn, cmd, stderr := runShim(t, bin, ln, false, flags...)
			cache := tls.NewLRUClientSessionCache(4)
			srvConfig := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS13}
			for i := range 2 {
				if i > 0 {
					conn = acceptNext(t, ln, stderr)
				}
				var tc *tls.Conn
				if server {
					// The cache is keyed by server name; without one, by the
					// peer address, which is the shim's ephemeral port.
					tc = tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "test", MinVersion: tls.VersionTLS13, ClientSessionCache: cache})
				} else {
					tc = tls.Server(conn, srvConfig)
				}
				if err := tc.Handshake(); err != nil {
					t.Fatalf("connection %d: handshake: %v; shim stderr: %s", i+1, err, stderr)
				}
				if got := tc.ConnectionState().DidResume; got != (i > 0) {
					t.Fatalf("connection %d: crypto/tls DidResume %v", i+1, got)
				}
				msg := []byte("resume")
				if _, err := tc.Write(msg); err != nil {
					t.Fatal(err)
				}
				reply := make([]byte, len(msg))
				if _, err := io.ReadFull(tc, reply); err != nil {
					t.Fatalf("connection %d: reading the echo: %v; stderr: %s", i+1, err, stderr)
				}
				if reply[0] != msg[0]^0xff {
					t.Fatalf("connection %d: echo %x", i+1, reply)
				}
				tc.Close()
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("shim exited with %v; stderr: %s", err, stderr)
			}
		})
	}
}

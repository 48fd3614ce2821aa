package holdfast

// Helpers shared by the interop tests against real peers
// (interop_openssl_test.go, interop_gnutls_test.go): a fixture of
// certificates written as PEM files, a peer subprocess whose output is
// captured and can be waited on, and line-oriented I/O on a Holdfast Conn.

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// interopTimeout bounds each interop subtest: every peer process, socket
// deadline, handshake and wait.
const interopTimeout = 20 * time.Second

// interopTool returns the path of a peer binary. A missing peer is a
// failure, not a skip: CI installs it.
func interopTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("interop peer %q is not installed (%v): ci/test.sh installs it (Debian package %s); run `bash ci/test.sh` or `apt-get install %s`",
			name, err, debianPackage, debianPackage)
	}
	return path
}

// interopSuite is a TLS 1.3 cipher suite with its name for each peer.
type interopSuite struct {
	id      uint16
	openssl string // -ciphersuites
	gnutls  string // priority string cipher keyword
}

var interopSuites = []interopSuite{
	{TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", "AES-128-GCM"},
	{TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", "AES-256-GCM"},
	{TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305"},
}

// interopGroup is a key-exchange group with its name for each peer.
type interopGroup struct {
	id      CurveID
	openssl string // -groups
	gnutls  string // priority string group keyword
	hybrid  bool   // post-quantum hybrid: needs ML-KEM in the peer
}

var interopGroups = []interopGroup{
	{X25519, "X25519", "GROUP-X25519", false},
	{CurveP256, "P-256", "GROUP-SECP256R1", false},
	{CurveP384, "P-384", "GROUP-SECP384R1", false},
	{X25519MLKEM768, "X25519MLKEM768", "GROUP-X25519-MLKEM768", true},
}

// interopCert is a certificate with its chain and key written as PEM.
type interopCert struct {
	cert     Certificate
	certFile string // leaf certificate, PEM
	keyFile  string // PKCS#8 private key, PEM (test keys only)
}

// interopKey is a server key type and how each peer names the signature
// scheme it produces.
type interopKey struct {
	name        string
	interopCert // leaf for server.test
	alg         x509.PublicKeyAlgorithm
	opensslType string // s_client "Peer signature type:"
	opensslHash string // s_client "Peer signing digest:", "" for Ed25519
	gnutlsSig   string // gnutls session description signature part
}

// interopFixture is the PKI for one interop test: a trusted CA, an
// unrelated CA nobody trusts, server leaves of every key type and client
// leaves, all also written as PEM files.
type interopFixture struct {
	pki         *testPKI
	caFile      string
	otherPool   *x509.CertPool // trusts only the unrelated CA
	otherCAFile string
	keys        []*interopKey // keys[0] is ECDSA P-256, used for the suite × group matrix
	clientEC    interopCert   // client.test, ECDSA P-256
	clientRSA   interopCert   // client.test, RSA-2048
}

func newInteropFixture(t *testing.T) *interopFixture {
	t.Helper()
	dir := t.TempDir()
	f := &interopFixture{pki: newTestPKI(t)}
	f.caFile = writePEMFile(t, dir, "ca.pem", "CERTIFICATE", f.pki.caCert.Raw)
	other := untrustedCA(t)
	f.otherPool = x509.NewCertPool()
	f.otherPool.AddCert(other)
	f.otherCAFile = writePEMFile(t, dir, "other-ca.pem", "CERTIFICATE", other.Raw)
	f.keys = []*interopKey{
		{name: "ECDSA-P256", alg: x509.ECDSA, opensslType: "ECDSA", opensslHash: "SHA256", gnutlsSig: "ECDSA-SECP256R1-SHA256"},
		{name: "ECDSA-P384", alg: x509.ECDSA, opensslType: "ECDSA", opensslHash: "SHA384", gnutlsSig: "ECDSA-SECP384R1-SHA384"},
		{name: "RSA-2048", alg: x509.RSA, opensslType: "RSA-PSS", opensslHash: "SHA256", gnutlsSig: "RSA-PSS-RSAE-SHA256"},
		{name: "Ed25519", alg: x509.Ed25519, opensslType: "ed25519", gnutlsSig: "EdDSA-Ed25519"},
	}
	signers := []crypto.Signer{ecKey(t, elliptic.P256()), ecKey(t, elliptic.P384()), rsaKey(t), edKey(t)}
	for i, k := range f.keys {
		k.interopCert = writeInteropCert(t, dir, "server-"+k.name, f.pki.leaf(t, signers[i], "server.test"))
	}
	f.clientEC = writeInteropCert(t, dir, "client-ec", f.pki.leaf(t, ecKey(t, elliptic.P256()), "client.test"))
	f.clientRSA = writeInteropCert(t, dir, "client-rsa", f.pki.leaf(t, rsaKey(t), "client.test"))
	return f
}

// untrustedCA is a CA with its own name and key, unrelated to newTestPKI's,
// so that a chain to the test CA has no issuer at all in its pool.
func untrustedCA(t *testing.T) *x509.Certificate {
	t.Helper()
	return newNamedPKI(t, "Holdfast Interop Untrusted CA").caCert
}

func writePEMFile(t *testing.T, dir, name, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeInteropCert(t *testing.T, dir, name string, c Certificate) interopCert {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatalf("%s: encoding the test key: %v", name, err)
	}
	return interopCert{
		cert:     c,
		certFile: writePEMFile(t, dir, name+".pem", "CERTIFICATE", c.Certificate[0]),
		keyFile:  writePEMFile(t, dir, name+"-key.pem", "PRIVATE KEY", keyDER),
	}
}

// lockedBuffer collects a peer's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// peerProc is a running peer binary (openssl, gnutls-cli, gnutls-serv)
// with its stdin a pipe and its stdout and stderr captured. It is stopped
// at cleanup, and its command line and output are logged if the test
// failed.
type peerProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  lockedBuffer
	stderr  lockedBuffer
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

func startPeer(t *testing.T, bin string, args ...string) *peerProc {
	t.Helper()
	// Not t.Context(): that is cancelled before cleanup, and the cleanup
	// below stops the peer itself, gently first so that it flushes.
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	p := &peerProc{exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = 2 * time.Second
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	p.stdin = stdin
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", p.cmdline(), err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		cancel()
		if t.Failed() {
			t.Logf("peer command: %s\npeer exit: %v\n%s", p.cmdline(), p.waitErr, p.transcript())
		}
	})
	return p
}

func (p *peerProc) cmdline() string { return strings.Join(p.cmd.Args, " ") }

// transcript is the peer's output so far, for failure messages.
func (p *peerProc) transcript() string {
	return fmt.Sprintf("--- peer stdout ---\n%s\n--- peer stderr ---\n%s\n--- end of peer output ---", p.stdout.String(), p.stderr.String())
}

func (p *peerProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop closes the peer's stdin, then asks it to terminate, then kills it.
// It returns once the process has been reaped and its output collected.
func (p *peerProc) stop() {
	p.stdin.Close()
	if p.hasExited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return
	case <-time.After(2 * time.Second):
	}
	p.cmd.Process.Kill()
	<-p.exited // WaitDelay bounds this once the process is gone
}

// send writes a line to the peer's stdin.
func (p *peerProc) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatalf("writing %q to %s: %v", line, p.cmdline(), err)
	}
}

// closeStdin ends the peer's input; peers in their default mode then
// shut the connection down.
func (p *peerProc) closeStdin(t *testing.T) {
	t.Helper()
	if err := p.stdin.Close(); err != nil {
		t.Fatalf("closing stdin of %s: %v", p.cmdline(), err)
	}
}

// waitExit waits for the peer to exit by itself and returns its status.
func (p *peerProc) waitExit(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(interopTimeout):
		t.Fatalf("%s did not exit within %v", p.cmdline(), interopTimeout)
		return nil
	}
}

// waitFor polls the peer's output until ok accepts it, failing the test
// if the peer exits first or the time runs out. It returns stdout.
func (p *peerProc) waitFor(t *testing.T, what string, ok func(stdout, stderr string) bool) string {
	t.Helper()
	deadline := time.Now().Add(interopTimeout)
	for {
		// Read the output after checking for exit, so that an exited
		// peer's output is complete when ok sees it.
		exited := p.hasExited()
		stdout, stderr := p.stdout.String(), p.stderr.String()
		if ok(stdout, stderr) {
			return stdout
		}
		if exited {
			t.Fatalf("%s exited (%v) before %s", p.cmdline(), p.waitErr, what)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s within %v", p.cmdline(), what, interopTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStdout waits until the peer's stdout contains s.
func (p *peerProc) waitStdout(t *testing.T, s string) string {
	t.Helper()
	return p.waitFor(t, fmt.Sprintf("%q on stdout", s), func(stdout, _ string) bool { return strings.Contains(stdout, s) })
}

// waitStderr waits until the peer's stderr contains s.
func (p *peerProc) waitStderr(t *testing.T, s string) string {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("%q on stderr", s), func(_, stderr string) bool { return strings.Contains(stderr, s) })
	return p.stderr.String()
}

// output is everything the peer wrote, stdout then stderr.
func (p *peerProc) output() string { return p.stdout.String() + "\n" + p.stderr.String() }

// requireOutput fails the test unless the peer's output contains every
// one of wants.
func (p *peerProc) requireOutput(t *testing.T, wants ...string) {
	t.Helper()
	out := p.output()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q", p.cmdline(), w)
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago, for
// peers that cannot be told to pick one.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// interopListen returns a loopback listener for a Holdfast server that a
// peer client connects to.
func interopListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// interopAccept accepts the peer's connection and runs the Holdfast server
// handshake on it, returning the connection and the handshake's error.
func interopAccept(t *testing.T, ln net.Listener, cfg *Config, p *peerProc) (*Conn, error) {
	t.Helper()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	var a accepted
	select {
	case a = <-ch:
	case <-p.exited:
		// A peer that connected and then gave up has left its
		// connection in the backlog: give Accept a moment to return it.
		select {
		case a = <-ch:
		case <-time.After(time.Second):
			ln.Close()
			t.Fatalf("%s exited (%v) without connecting", p.cmdline(), p.waitErr)
		}
	case <-time.After(interopTimeout):
		ln.Close()
		t.Fatalf("%s did not connect within %v", p.cmdline(), interopTimeout)
	}
	if a.err != nil {
		t.Fatalf("accepting the peer's connection: %v", a.err)
	}
	c := Server(a.c, cfg)
	t.Cleanup(func() { c.Close() })
	return c, interopHandshake(c)
}

// interopDial connects a Holdfast client to a peer server and runs the
// handshake, returning the connection and the handshake's error.
func interopDial(t *testing.T, addr string, cfg *Config) (*Conn, error) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, interopTimeout)
	if err != nil {
		t.Fatalf("dialing the peer at %s: %v", addr, err)
	}
	c := Client(raw, cfg)
	t.Cleanup(func() { c.Close() })
	return c, interopHandshake(c)
}

// interopHandshake runs the handshake under the interop timeout, then
// bounds the rest of the connection's I/O by it too.
func interopHandshake(c *Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	err := c.HandshakeContext(ctx)
	// The handshake clears the deadline it set; bound what follows.
	c.SetDeadline(time.Now().Add(interopTimeout))
	return err
}

// checkNegotiated fails the test unless the connection negotiated TLS 1.3
// with the suite and group given.
func checkNegotiated(t *testing.T, c *Conn, suite uint16, group CurveID) ConnectionState {
	t.Helper()
	st := c.ConnectionState()
	if !st.HandshakeComplete || st.Version != VersionTLS13 || st.CipherSuite != suite || st.CurveID != group {
		t.Fatalf("Holdfast negotiated version %#04x, %s, %v; want TLS 1.3 (0x0304), %s, %v",
			st.Version, CipherSuiteName(st.CipherSuite), st.CurveID, CipherSuiteName(suite), group)
	}
	return st
}

// interopLines is line-oriented I/O on a Holdfast connection.
type interopLines struct {
	c *Conn
	r *bufio.Reader
}

func newInteropLines(c *Conn) *interopLines { return &interopLines{c: c, r: bufio.NewReader(c)} }

// send writes a line.
func (l *interopLines) send(t *testing.T, line string) {
	t.Helper()
	if _, err := l.c.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("Holdfast Write of %q: %v", line, err)
	}
}

// recv reads a line, without its line ending.
func (l *interopLines) recv(t *testing.T) string {
	t.Helper()
	line, err := l.r.ReadString('\n')
	if err != nil {
		t.Fatalf("Holdfast Read (after %q): %v", line, err)
	}
	return strings.TrimRight(line, "\r\n")
}

// expect reads a line and fails the test unless it is want.
func (l *interopLines) expect(t *testing.T, want string) {
	t.Helper()
	if got := l.recv(t); got != want {
		t.Fatalf("Holdfast read %q, want %q", got, want)
	}
}

// expectEOF reads until the peer's close_notify.
func (l *interopLines) expectEOF(t *testing.T) {
	t.Helper()
	rest, err := io.ReadAll(l.r)
	if err != nil {
		t.Fatalf("Holdfast Read, waiting for close_notify: %v (after %q)", err, rest)
	}
	if len(rest) > 0 {
		t.Fatalf("Holdfast read %q, want close_notify", rest)
	}
}

// expectAlert fails the test unless err is an *AlertError for want, sent
// by Holdfast (sent true) or received from the peer.
func expectAlert(t *testing.T, err error, want Alert, sent bool) {
	t.Helper()
	ae, ok := errors.AsType[*AlertError](err)
	if !ok {
		t.Fatalf("Holdfast error %v (%T), want an *AlertError for %v", err, err, want)
	}
	if ae.Alert != want || ae.Sent != sent {
		t.Fatalf("Holdfast error %v: alert %v sent=%v, want %v sent=%v", err, ae.Alert, ae.Sent, want, sent)
	}
}

// interopCase is one cell of the handshake matrix.
type interopCase struct {
	name  string
	suite interopSuite
	group interopGroup
	key   *interopKey
}

// matrix is every suite × group with the ECDSA P-256 key, then every
// other key type with the first suite and group.
func (f *interopFixture) matrix() []interopCase {
	var cases []interopCase
	add := func(s interopSuite, g interopGroup, k *interopKey) {
		cases = append(cases, interopCase{fmt.Sprintf("%s/%v/%s", CipherSuiteName(s.id), g.id, k.name), s, g, k})
	}
	for _, s := range interopSuites {
		for _, g := range interopGroups {
			add(s, g, f.keys[0])
		}
	}
	for _, k := range f.keys[1:] {
		add(interopSuites[0], interopGroups[0], k)
	}
	return cases
}

// reverse is s reversed by bytes, as openssl s_server -rev answers ASCII.
func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

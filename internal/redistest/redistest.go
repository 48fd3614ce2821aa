// Package redistest starts a real redis-server for tests: the Redis the
// ticket-key farm is tested against, never a mock. Each server listens on
// a free loopback port with a temporary directory, can be stopped and
// started again on the same port (with its data when persistence is on),
// and is killed when the test ends. It is a test helper; nothing outside
// tests imports it.
package redistest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast-tls/holdfast/internal/testdaemon"
)

// TB is the part of testing.TB the helper uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
	Cleanup(func())
	Failed() bool
}

// Options choose how the server keeps its data.
type Options struct {
	// Persist turns on the append-only file (fsync on every write), so
	// that Stop and Start keep every key, as a Redis restarted after a
	// crash with appendfsync always would. Without it a restart loses
	// everything.
	Persist bool
	// Password makes the server require AUTH with it (requirepass).
	Password string
	// TLS makes the server speak only TLS (tls-port, no plain port),
	// with a certificate for 127.0.0.1 from a CA made for it; ClientTLS
	// gives a client configuration that trusts that CA.
	TLS bool
}

// Server is a running (or stopped) redis-server.
type Server struct {
	t    TB
	Port int
	Dir  string // working directory: dump.rdb, appendonly files, log
	opts Options
	proc testdaemon.Proc
	ca   *x509.CertPool // with TLS
}

// startTimeout bounds how long a fresh server may take to answer PING.
const startTimeout = 10 * time.Second

// Start runs redis-server on a free loopback port in a fresh directory,
// waits until it answers PING, and kills it when the test ends. A missing
// redis-server fails the test with what to install.
func Start(t TB, opts Options) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is required (ci/test.sh installs it; or `apt-get install redis-server`): %v", err)
	}
	s := &Server{t: t, Dir: t.TempDir(), opts: opts}
	s.proc.Name, s.proc.LogFile = "redis-server", filepath.Join(s.Dir, "redis.log")
	s.Port = freePort(t)
	if opts.TLS {
		s.makeCertificates()
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b := s.proc.Log(4096); len(b) > 0 {
				t.Logf("redis-server log (last 4 KiB):\n%s", b)
			}
		}
	})
	s.Start()
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Start starts a stopped server again on the same port and directory and
// waits until it answers PING. Starting a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	args := []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--logfile", s.proc.LogFile, "--daemonize", "no", "--protected-mode", "yes", "--save", ""}
	if s.opts.TLS {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(s.Port),
			"--tls-cert-file", filepath.Join(s.Dir, "server.pem"), "--tls-key-file", filepath.Join(s.Dir, "server-key.pem"),
			"--tls-ca-cert-file", filepath.Join(s.Dir, "ca.pem"), "--tls-auth-clients", "no")
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	if s.opts.Persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	s.proc.Start(s.t, exec.Command("redis-server", args...), func() error { return s.ping() }, startTimeout)
}

// Stop kills the server (SIGKILL, like a crash) and waits for it to go.
// With Persist every acknowledged write is already on disk. Stopping a
// stopped server does nothing.
func (s *Server) Stop() { s.proc.Stop() }

// Files returns the contents of every file in the server's directory
// (snapshots, append-only files and the log), by path: what a backup of
// the server would hold.
func (s *Server) Files() map[string][]byte {
	s.t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(s.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = b
		return nil
	})
	if err != nil {
		s.t.Fatalf("redistest: reading %s: %v", s.Dir, err)
	}
	return out
}

// ping sends PING in the inline protocol (after AUTH, over TLS, as the
// server wants) and wants +PONG: a server that is still loading its data
// answers -LOADING instead.
func (s *Server) ping() error {
	var c net.Conn
	var err error
	if s.opts.TLS {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", s.Addr(), s.ClientTLS())
	} else {
		c, err = net.DialTimeout("tcp", s.Addr(), time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(c)
	if s.opts.Password != "" {
		if _, err := fmt.Fprintf(c, "AUTH %s\r\n", s.opts.Password); err != nil {
			return err
		}
		if line, err := r.ReadString('\n'); err != nil || strings.TrimSpace(line) != "+OK" {
			return fmt.Errorf("AUTH answered %q (%v)", strings.TrimSpace(line), err)
		}
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// ClientTLS is a client configuration that verifies the server's
// certificate (TLS servers only).
func (s *Server) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: s.ca, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// makeCertificates writes a CA and a server certificate for 127.0.0.1
// into the server's directory.
func (s *Server) makeCertificates() {
	s.t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":         {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem":     {Type: "CERTIFICATE", Bytes: der},
		"server-key.pem": {Type: "PRIVATE KEY", Bytes: pkcs8},
	} {
		if err := os.WriteFile(filepath.Join(s.Dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			s.t.Fatalf("redistest: %v", err)
		}
	}
	s.ca = x509.NewCertPool()
	s.ca.AddCert(ca)
}

func freePort(t TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: finding a port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

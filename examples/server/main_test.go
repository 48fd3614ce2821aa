//go:build cgo

package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
)

// TestMain lets a test run this binary's main as a subprocess, with the
// command-line flags the README shows.
func TestMain(m *testing.M) {
	if os.Getenv("HOLDFAST_EXAMPLE_SERVER") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// The README's SoftHSM walkthrough: a token and a P-256 key made with
// softhsm2-util and pkcs11-tool, the server started with -key pkcs11:...
// and no -cert (so it self-signs through the token and writes the
// certificate), and a client that trusts that certificate.
func TestServerWithKeyInSoftHSM(t *testing.T) {
	for _, typ := range []string{"EC:prime256v1", "rsa:2048"} {
		t.Run(typ, func(t *testing.T) {
			tk := softhsm.New(t, map[string]string{"web": typ})
			certPath := filepath.Join(t.TempDir(), "hsm.pem")
			addr := startServer(t, []string{"-key", tk.URI("web"), "-write-cert", certPath})
			pemData, err := os.ReadFile(certPath)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemData) {
				t.Fatal("-write-cert wrote no certificate")
			}
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
			resp, err := client.Get("https://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), "Holdfast: TLS 1.3") {
				t.Fatalf("GET / answered %q", body)
			}
		})
	}
}

// startServer runs this command as a subprocess with args on a free
// loopback port and returns its address once it serves.
func startServer(t *testing.T, args []string) string {
	t.Helper()
	addr, _ := startServerCmd(t, args)
	return addr
}

// startServerCmd is startServer that also returns the process.
func startServerCmd(t *testing.T, args []string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "HOLDFAST_EXAMPLE_SERVER=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server said nothing: %v", err)
	}
	fields := strings.Fields(line)
	if len(fields) < 2 {
		t.Fatalf("unexpected first line %q", line)
	}
	return strings.TrimSuffix(strings.TrimPrefix(fields[1], "https://"), "/"), cmd
}

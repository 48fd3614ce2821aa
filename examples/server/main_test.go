//go:build cgo

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
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
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-listen", "127.0.0.1:0", "-key", tk.URI("web"), "-write-cert", certPath)
			cmd.Env = append(os.Environ(), "HOLDFAST_EXAMPLE_SERVER=1")
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			// "serving https://127.0.0.1:PORT/ on Holdfast"
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				t.Fatalf("server said nothing: %v", err)
			}
			addr := strings.TrimSuffix(strings.TrimPrefix(strings.Fields(line)[1], "https://"), "/")
			if _, _, err := net.SplitHostPort(addr); err != nil {
				t.Fatalf("no address in %q", line)
			}
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

package holdfast

import (
	"context"
	"crypto/elliptic"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// serveHTTP runs net/http on a Holdfast listener, HTTP/2 when ALPN chose
// h2 (net/http sees the decrypted stream as HTTP/2 with prior knowledge),
// HTTP/1.1 otherwise, and answers with the protocol and TLS version.
func serveHTTP(t *testing.T, cfg *Config) string {
	t.Helper()
	ln, err := Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Protocols:         &protocols,
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "proto=%s", r.Proto)
		}),
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestHTTP2OverALPN(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	addr := serveHTTP(t, &Config{Certificates: []Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})

	// Go's HTTP client over crypto/tls negotiates h2 by ALPN.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		ForceAttemptHTTP2: true,
		TLSClientConfig:   &tls.Config{RootCAs: pki.pool, ServerName: "server.test"},
	}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "proto=HTTP/2.0" {
		t.Fatalf("Go client: %s, %q", resp.Proto, body)
	}

	// curl, as users test a server.
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is required (ci/test.sh installs it)")
	}
	host, port, _ := net.SplitHostPort(addr)
	for flag, want := range map[string]string{"--http2": "proto=HTTP/2.0", "--http1.1": "proto=HTTP/1.1"} {
		out, err := exec.Command(curl, "-sS", "--max-time", "10", flag, "--cacert", "/dev/null", "-k",
			"--resolve", "server.test:"+port+":"+host, "https://server.test:"+port+"/").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("curl %s: %q, %v; want %q", flag, out, err, want)
		}
	}
}

// A Holdfast client fetches over HTTP/1.1 with net/http's transport.
func TestHTTPClientOverHoldfast(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	addr := serveHTTP(t, &Config{Certificates: []Certificate{cert}})
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			return DialContext(ctx, network, addr, &Config{RootCAs: pki.pool, ServerName: "server.test", NextProtos: []string{"http/1.1"}})
		},
	}}
	resp, err := client.Get("https://server.test/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "proto=HTTP/1.1" {
		t.Fatalf("body %q", body)
	}
}

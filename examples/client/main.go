// Command client connects to a TLS server with Holdfast, verifies it, and
// prints the connection state.
//
//	go run ./examples/client -connect example.test:443
//	go run ./examples/client -connect 127.0.0.1:8443 -insecure   # against examples/server's self-signed default
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/holdfast-tls/holdfast"
)

func main() {
	var (
		addr     = flag.String("connect", "127.0.0.1:8443", "host:port to connect to")
		name     = flag.String("servername", "", "server name to send and verify (default: the host)")
		caFile   = flag.String("ca", "", "PEM CA bundle to verify the server with (default: system roots)")
		insecure = flag.Bool("insecure", false, "skip certificate verification (testing only)")
		alpn     = flag.String("alpn", "h2,http/1.1", "ALPN protocols to offer")
		timeout  = flag.Duration("timeout", 10*time.Second, "handshake timeout")
	)
	flag.Parse()
	cfg := &holdfast.Config{ServerName: *name, InsecureSkipVerify: *insecure}
	cfg.NextProtos = splitComma(*alpn)
	if *caFile != "" {
		data, err := os.ReadFile(*caFile)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(data) {
			log.Fatalf("-ca %s: no certificates (%v)", *caFile, err)
		}
		cfg.RootCAs = pool
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := holdfast.DialContext(ctx, "tcp", *addr, cfg)
	if err != nil {
		if ae, ok := errors.AsType[*holdfast.AlertError](err); ok {
			log.Fatalf("handshake failed with alert %v (sent by us: %v): %v", ae.Alert, ae.Sent, err)
		}
		log.Fatal(err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	version := "TLS 1.3"
	if st.Version == holdfast.VersionTLS12 {
		version = "TLS 1.2"
	}
	fmt.Printf("connected to %s\n  version:      %s\n  cipher suite: %s\n  group:        %s\n  ALPN:         %q\n  HRR:          %v\n",
		conn.RemoteAddr(), version, holdfast.CipherSuiteName(st.CipherSuite), st.CurveID, st.NegotiatedProtocol, st.DidHelloRetry)
	for i, c := range st.PeerCertificates {
		fmt.Printf("  cert %d:       %s (issuer %s, expires %s)\n", i, c.Subject, c.Issuer, c.NotAfter.Format(time.DateOnly))
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

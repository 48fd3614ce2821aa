//go:build testssl && cgo

package main

// testssl.sh, what an auditor runs on day one, against this server in its
// default configuration and with the second seed's TLS 1.2 suite
// (TLS_RSA_WITH_AES_128_CBC_SHA) enabled. It takes minutes, so it has its
// own build tag and its own step in ci/test.sh:
//
//	go test -tags testssl -run TestTestSSL -v ./examples/server

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// outsideOurControl lists findings rated MEDIUM or worse that no server
// configuration can change, with the reason; anything else fails the test.
var outsideOurControl = map[string]string{
	"engine_problem": "about testssl's own OpenSSL build (no GOST engine), not the server",
}

// testPKI writes a CA and a leaf for localhost that a scanner finds
// nothing to fault in: a year's validity, revocation pointers, key usage
// that fits the key.
func testPKI(t *testing.T, dir string, leafKey crypto.Signer) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	serial := func() *big.Int {
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	caTmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "Holdfast testssl CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		OCSPServer: []string{"http://ocsp.holdfast.invalid/"}, CRLDistributionPoints: []string{"http://crl.holdfast.invalid/ca.crl"}}
	if _, ok := leafKey.Public().(*rsa.PublicKey); ok {
		leaf.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der ...[]byte) string {
		var out []byte
		for _, d := range der {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("chain.pem", "CERTIFICATE", leafDER, caDER), write("key.pem", "PRIVATE KEY", keyDER)
}

type testsslFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

func TestTestSSL(t *testing.T) {
	bin, err := exec.LookPath("testssl")
	if err != nil {
		t.Fatalf("testssl is not installed (Debian package testssl.sh; ci/test.sh installs it): %v", err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tc := range []struct {
		name   string
		key    crypto.Signer
		flags  []string
		cipher string // a testssl finding id that must be present
	}{
		{"default", ecKey, nil, ""},
		{"seed-suite", rsaKey, []string{"-ciphers", "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256," +
			"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_RSA_WITH_AES_128_CBC_SHA"}, "cipher_x2f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			caFile, certFile, keyFile := testPKI(t, dir, tc.key)
			addr := startServer(t, append([]string{"-cert", certFile, "-key", "file:" + keyFile}, tc.flags...))
			_, port, _ := net.SplitHostPort(addr)
			out := filepath.Join(dir, "testssl.json")
			ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
			defer cancel()
			// --ssl-native: testssl's own hand-made TLS 1.2 ClientHellos
			// leave out extended_master_secret, which Holdfast requires
			// (RFC 7627), so without it testssl would see no TLS 1.2 at
			// all and scan nothing of the seed's suite.
			cmd := exec.CommandContext(ctx, bin, "--quiet", "--color", "0", "--warnings", "off", "--ssl-native", "--add-ca", caFile,
				"--ip", "127.0.0.1", "--jsonfile", out, "localhost:"+port)
			cmd.Dir = dir
			if text, err := cmd.CombinedOutput(); err != nil && ctx.Err() != nil {
				t.Fatalf("testssl did not finish: %v\n%s", err, text)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("testssl wrote no JSON: %v", err)
			}
			var findings []testsslFinding
			if err := json.Unmarshal(data, &findings); err != nil {
				t.Fatal(err)
			}
			if len(findings) < 50 {
				t.Fatalf("testssl reported only %d findings: it did not scan the server", len(findings))
			}
			seen := map[string]string{}
			for _, f := range findings {
				seen[f.ID] = f.Finding
			}
			for _, want := range []string{"TLS1_2", "TLS1_3"} {
				if !strings.HasPrefix(seen[want], "offered") {
					t.Errorf("testssl found %s %q, want offered", want, seen[want])
				}
			}
			if _, ok := seen[tc.cipher]; tc.cipher != "" && !ok {
				t.Errorf("testssl did not see %s", tc.cipher)
			}
			for _, f := range findings {
				switch f.Severity {
				case "MEDIUM", "HIGH", "CRITICAL":
					if why, ok := outsideOurControl[f.ID]; ok {
						t.Logf("%s %s (%s): outside the server's control: %s", f.Severity, f.ID, f.Finding, why)
						continue
					}
					t.Errorf("%s %s: %s", f.Severity, f.ID, f.Finding)
				case "LOW", "WARN":
					t.Logf("%s %s: %s", f.Severity, f.ID, f.Finding)
				}
			}
		})
	}
}

package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/swtpm"
)

// tpmkey against swtpm: the key file, a CSR and a self-signed
// certificate, both signed in the TPM; then tpm2-openssl reads the key
// file and reports the certificate's public key.
func TestTPMKey(t *testing.T) {
	tp := swtpm.Start(t)
	dir := t.TempDir()
	authFile := filepath.Join(dir, "auth")
	os.WriteFile(authFile, []byte("provisioning-auth\n"), 0o600)
	for _, alg := range []string{"ecdsa-p256", "rsa2048"} {
		key, csrFile, certFile := filepath.Join(dir, alg+".pem"), filepath.Join(dir, alg+".csr"), filepath.Join(dir, alg+".crt")
		if err := run([]string{"-device", tp.Device(), "-alg", alg, "-out", key, "-auth-file", authFile,
			"-cn", "tpm.test", "-csr", csrFile, "-cert", certFile}); err != nil {
			t.Fatal(err)
		}
		csr, err := x509.ParseCertificateRequest(readPEM(t, csrFile, "CERTIFICATE REQUEST"))
		if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != "tpm.test" {
			t.Fatalf("%s CSR: %v", alg, err)
		}
		cert, err := x509.ParseCertificate(readPEM(t, certFile, "CERTIFICATE"))
		if err != nil || cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) != nil {
			t.Fatalf("%s certificate: %v", alg, err)
		}
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Fatalf("openssl with tpm2-openssl is required (ci/test.sh installs them): %v", err)
		}
		cmd := exec.Command("openssl", "pkey", "-provider", "tpm2", "-provider", "default", "-in", key, "-pubout", "-passin", "pass:provisioning-auth")
		cmd.Env = tp.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tpm2-openssl reading %s: %v\n%s", key, err, out)
		}
		block, _ := pem.Decode(out)
		if block == nil {
			t.Fatalf("no public key from openssl:\n%s", out)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil || !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
			t.Fatalf("%s: tpm2-openssl's public key %v differs from the certificate's (%v)", alg, pub, err)
		}
	}
	if err := run([]string{"-device", tp.Device(), "-out", filepath.Join(dir, "x.pem")}); err == nil || !strings.Contains(err.Error(), "-csr") {
		t.Errorf("no output asked for: %v", err)
	}
}

func readPEM(t *testing.T, path, typ string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != typ {
		t.Fatalf("%s: no %s block", path, typ)
	}
	return block.Bytes
}

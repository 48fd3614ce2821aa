// Command tpmkey provisions a TLS key in a TPM 2.0: it creates the key
// inside the TPM (under the storage root key made from the standard ECC
// template), writes its TSS2 key file, and writes a certificate signing
// request or a self-signed certificate signed by the new key in the TPM.
// The private key never leaves the TPM.
//
//	go run ./examples/tpmkey -device swtpm://127.0.0.1:2321 -alg ecdsa-p256 \
//	    -out server.tpm.pem -cn server.example -csr server.csr
//	go run ./examples/server -cert server.crt -key 'tpm2:file=server.tpm.pem?device=swtpm://127.0.0.1:2321'
//
// With -auth-file the key gets an auth value (the file's first line), and
// the URI printed at the end reads it from there (pin-source). With
// -persist 0x81000002 the key is also made persistent at that handle,
// explicitly, so that tpm2:handle=0x81000002 opens it.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast-tls/holdfast/signer"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tpmkey:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("tpmkey", flag.ContinueOnError)
	device := fs.String("device", "/dev/tpmrm0", "TPM: a device path or swtpm://HOST:PORT")
	alg := fs.String("alg", "ecdsa-p256", "key algorithm: ecdsa-p256, ecdsa-p384, rsa2048 or rsa3072")
	out := fs.String("out", "key.tpm.pem", "TSS2 key file to write")
	authFile := fs.String("auth-file", "", "file whose first line is the key's auth value (none if empty)")
	persist := fs.String("persist", "", "also make the key persistent at this handle, e.g. 0x81000002")
	cn := fs.String("cn", "localhost", "subject common name, also the DNS name")
	csr := fs.String("csr", "", "write a PEM certificate signing request here")
	cert := fs.String("cert", "", "write a PEM self-signed certificate here (valid -days)")
	days := fs.Int("days", 365, "self-signed certificate lifetime in days")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *csr == "" && *cert == "" {
		return errors.New("give -csr FILE, -cert FILE or both")
	}
	var handle uint32
	if *persist != "" {
		h, err := strconv.ParseUint(*persist, 0, 32)
		if err != nil {
			return fmt.Errorf("-persist %s: %v", *persist, err)
		}
		handle = uint32(h)
	}
	var auth []byte
	if *authFile != "" {
		b, err := os.ReadFile(*authFile)
		if err != nil {
			return err
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		auth = bytes.TrimRight(line, "\r")
		defer clear(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kf, err := signer.CreateTPMKey(ctx, signer.TPMKeyOptions{Device: *device, Algorithm: *alg, Auth: auth, Persist: handle})
	if err != nil {
		return err
	}
	pemBytes, err := kf.MarshalPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, pemBytes, 0o600); err != nil {
		return err
	}
	abs, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	uri := "tpm2:file=" + (&url.URL{Path: abs}).EscapedPath()
	if handle != 0 {
		uri = fmt.Sprintf("tpm2:handle=0x%08x", handle)
	}
	var q []string
	if *device != "/dev/tpmrm0" {
		q = append(q, "device="+*device)
	}
	if *authFile != "" {
		af, err := filepath.Abs(*authFile)
		if err != nil {
			return err
		}
		q = append(q, "pin-source=file:"+af)
	}
	if len(q) > 0 {
		uri += "?" + strings.Join(q, "&")
	}
	key, err := signer.Open(ctx, uri)
	if err != nil {
		return err
	}
	defer key.Close()
	subject := pkix.Name{CommonName: *cn}
	if *csr != "" {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: []string{*cn}}, key)
		if err != nil {
			return fmt.Errorf("signing the CSR in the TPM: %w", err)
		}
		if err := os.WriteFile(*csr, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644); err != nil {
			return err
		}
	}
	if *cert != "" {
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial, Subject: subject, DNSNames: []string{*cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Duration(*days) * 24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			return fmt.Errorf("signing the certificate in the TPM: %w", err)
		}
		if err := os.WriteFile(*cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(uri)
	return nil
}

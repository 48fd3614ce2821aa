package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// openssl writes the key files, so parsing is checked against an
// independent encoder.
func opensslKey(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	// genrsa takes the key size last, after its options.
	var tail []string
	if args[0] == "genrsa" {
		args, tail = args[:len(args)-1], args[len(args)-1:]
	}
	cmd := exec.Command("openssl", append(append(args, "-out", path), tail...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return path
}

func TestFileKeysFromOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required (ci/test.sh installs it)")
	}
	dir := t.TempDir()
	ecSEC1 := filepath.Join(dir, "ec-sec1.pem")
	if out, err := exec.Command("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ecSEC1).CombinedOutput(); err != nil {
		t.Fatalf("openssl ecparam: %v\n%s", err, out)
	}
	cases := map[string]string{
		"ec-p256-pkcs8": opensslKey(t, dir, "ec.pem", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"),
		"ec-p384-pkcs8": opensslKey(t, dir, "ec384.pem", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"),
		"ec-sec1":       ecSEC1,
		"rsa-pkcs8":     opensslKey(t, dir, "rsa.pem", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"),
		"rsa-pkcs1":     opensslKey(t, dir, "rsa1.pem", "genrsa", "-traditional", "2048"),
		"ed25519":       opensslKey(t, dir, "ed.pem", "genpkey", "-algorithm", "ED25519"),
	}
	der := filepath.Join(dir, "ec.der")
	if out, err := exec.Command("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", cases["ec-p256-pkcs8"], "-outform", "DER", "-out", der).CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs8: %v\n%s", err, out)
	}
	cases["ec-der"] = der
	msg := []byte("holdfast signer test")
	digest := sha256.Sum256(msg)
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			k, err := Open(context.Background(), "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			switch pub := k.Public().(type) {
			case *ecdsa.PublicKey:
				sig, err := k.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err != nil || !ecdsa.VerifyASN1(pub, digest[:], sig) {
					t.Fatalf("ECDSA signature does not verify: %v", err)
				}
			case *rsa.PublicKey:
				sig, err := k.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
				if err != nil || rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil) != nil {
					t.Fatalf("RSA-PSS signature does not verify: %v", err)
				}
				//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
				ct, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte("premaster"))
				plain, err := k.(crypto.Decrypter).Decrypt(rand.Reader, ct, nil)
				if err != nil || string(plain) != "premaster" {
					t.Fatalf("Decrypt = %q, %v", plain, err)
				}
			case ed25519.PublicKey:
				sig, err := k.Sign(rand.Reader, msg, crypto.Hash(0))
				if err != nil || !ed25519.Verify(pub, msg, sig) {
					t.Fatalf("Ed25519 signature does not verify: %v", err)
				}
			default:
				t.Fatalf("public key %T", pub)
			}
			k.Close()
			if _, err := k.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, ErrClosed) {
				t.Fatalf("Sign after Close: %v", err)
			}
		})
	}
}

func TestFileErrorsAreClear(t *testing.T) {
	dir := t.TempDir()
	enc := filepath.Join(dir, "enc.pem")
	if out, err := exec.Command("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:secret-pass", "-out", enc).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	cert := filepath.Join(dir, "cert.pem")
	os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600)
	garbage := filepath.Join(dir, "garbage.der")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	for _, c := range []struct{ uri, want string }{
		{"file:" + enc, "encrypted"},
		{"file:" + cert, "not a private key"},
		{"file:" + garbage, "parsing DER key"},
		{"file:" + filepath.Join(dir, "missing.pem"), "no such file"},
		{"file:", "without a path"},
		{"nosuch:thing?pin-value=1234", "no backend"},
		{"no-scheme", "not a key URI"},
	} {
		_, err := Open(context.Background(), c.uri)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q) = %v, want an error about %q", c.uri, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "1234") {
			t.Errorf("error leaks a PIN: %v", err)
		}
	}
}

func TestGenerateECDSA(t *testing.T) {
	k, err := GenerateECDSA(elliptic.P256())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	d := sha256.Sum256([]byte("x"))
	sig, err := k.SignContext(context.Background(), rand.Reader, d[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(k.Public().(*ecdsa.PublicKey), d[:], sig) {
		t.Fatalf("signature does not verify: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.SignContext(ctx, rand.Reader, d[:], crypto.SHA256); !errors.Is(err, context.Canceled) {
		t.Fatalf("SignContext with a cancelled context: %v", err)
	}
}

package sigscheme

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// The interop tests run the openssl command line on keys it generates in a
// temporary directory: openssl signs, Verify checks; Sign signs, openssl
// checks.

func openssl(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not on PATH, so interop with it is not tested here")
	}
}

func readPEM(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	return block.Bytes
}

// pkcs8Signer reads an openssl PKCS #8 key. An id-RSASSA-PSS key, which
// crypto/x509 does not read, is unwrapped to its PKCS #1 RSAPrivateKey.
func pkcs8Signer(t *testing.T, path string) crypto.Signer {
	t.Helper()
	der := readPEM(t, path)
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k.(crypto.Signer)
	}
	var info struct {
		Version    int
		Algorithm  struct{ Algorithm asn1.ObjectIdentifier }
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !info.Algorithm.Algorithm.Equal(oidRSASSAPSS) {
		t.Fatalf("%s: unexpected key algorithm %v", path, info.Algorithm.Algorithm)
	}
	k, err := x509.ParsePKCS1PrivateKey(info.PrivateKey)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k
}

func TestInteropOpenSSL(t *testing.T) {
	needOpenSSL(t)
	cases := []struct {
		name    string
		genpkey []string
		scheme  Scheme
		// sign and verify are the openssl command lines, with key.pem,
		// pub.pem, msg and sig as file names.
		sign, verify []string
		cert         bool        // read the public key through a self-signed certificate
		pssHash      crypto.Hash // for an id-RSASSA-PSS key: the hash its parameters pin
	}{
		{
			name:    "ECDSA P-256",
			genpkey: []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"},
			scheme:  ECDSAWithP256AndSHA256,
			sign:    []string{"dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "msg"},
			verify:  []string{"dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "msg"},
		},
		{
			name:    "RSA-PSS rsae SHA-256",
			genpkey: []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"},
			scheme:  PSSWithSHA256,
			sign: []string{"dgst", "-sha256", "-sign", "key.pem", "-sigopt", "rsa_padding_mode:pss",
				"-sigopt", "rsa_pss_saltlen:digest", "-out", "sig", "msg"},
			verify: []string{"dgst", "-sha256", "-verify", "pub.pem", "-sigopt", "rsa_padding_mode:pss",
				"-sigopt", "rsa_pss_saltlen:digest", "-signature", "sig", "msg"},
		},
		{
			name:    "RSA-PSS rsae SHA-512 via pkeyutl",
			genpkey: []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"},
			scheme:  PSSWithSHA512,
			sign: []string{"dgst", "-sha512", "-sign", "key.pem", "-sigopt", "rsa_padding_mode:pss",
				"-sigopt", "rsa_pss_saltlen:-1", "-out", "sig", "msg"},
			verify: []string{"pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sha512",
				"-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest", "-sigfile", "sig", "-in", "msg"},
		},
		{
			name:    "RSA-PSS pss SHA-256, key parameters pinned",
			genpkey: []string{"-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_pss_keygen_md:sha256", "-pkeyopt", "rsa_pss_keygen_mgf1_md:sha256", "-pkeyopt", "rsa_pss_keygen_saltlen:32"},
			scheme:  PSSPSSWithSHA256,
			sign: []string{"dgst", "-sha256", "-sign", "key.pem", "-sigopt", "rsa_pss_saltlen:digest",
				"-out", "sig", "msg"},
			verify: []string{"dgst", "-sha256", "-verify", "pub.pem", "-sigopt", "rsa_pss_saltlen:digest",
				"-signature", "sig", "msg"},
			cert:    true,
			pssHash: crypto.SHA256,
		},
		{
			name:    "RSA-PSS pss SHA-384, no key parameters",
			genpkey: []string{"-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"},
			scheme:  PSSPSSWithSHA384,
			sign: []string{"dgst", "-sha384", "-sign", "key.pem", "-sigopt", "rsa_pss_saltlen:digest",
				"-out", "sig", "msg"},
			verify: []string{"dgst", "-sha384", "-verify", "pub.pem", "-sigopt", "rsa_pss_saltlen:digest",
				"-signature", "sig", "msg"},
			cert: true,
		},
		{
			name:    "Ed25519",
			genpkey: []string{"-algorithm", "ED25519"},
			scheme:  Ed25519,
			sign:    []string{"pkeyutl", "-sign", "-rawin", "-inkey", "key.pem", "-in", "msg", "-out", "sig"},
			verify:  []string{"pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "pub.pem", "-in", "msg", "-sigfile", "sig"},
			cert:    true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			openssl(t, dir, append([]string{"genpkey", "-out", "key.pem"}, tc.genpkey...)...)
			openssl(t, dir, "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
			signer := pkcs8Signer(t, filepath.Join(dir, "key.pem"))

			var pub crypto.PublicKey
			if tc.cert {
				openssl(t, dir, "req", "-x509", "-new", "-key", "key.pem", "-subj", "/CN=interop", "-days", "1", "-out", "cert.pem")
				cert, err := x509.ParseCertificate(readPEM(t, filepath.Join(dir, "cert.pem")))
				if err != nil {
					t.Fatal(err)
				}
				if pub, err = CertPublicKey(cert); err != nil {
					t.Fatal(err)
				}
				p, _ := tc.scheme.params()
				pk, isPSS := pub.(*PSSPublicKey)
				if isPSS != p.pssKey || (isPSS && pk.Hash != tc.pssHash) {
					t.Fatalf("CertPublicKey = %T %+v; want id-RSASSA-PSS %v, pinned hash %v", pub, pub, p.pssKey, tc.pssHash)
				}
			} else {
				k, err := x509.ParsePKIXPublicKey(readPEM(t, filepath.Join(dir, "pub.pem")))
				if err != nil {
					t.Fatal(err)
				}
				pub = k
			}
			if got, err := Choose(VersionTLS13, pub, []Scheme{tc.scheme}, Supported13()); err != nil || got != tc.scheme {
				t.Fatalf("Choose = %v, %v; want %v", got, err, tc.scheme)
			}

			// openssl signs, we verify.
			msg := randomMessage(t)
			writeFile(t, dir, "msg", msg)
			openssl(t, dir, tc.sign...)
			sig, err := os.ReadFile(filepath.Join(dir, "sig"))
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(VersionTLS13, Supported13(), pub, tc.scheme, msg, sig); err != nil {
				t.Fatalf("Verify of openssl's signature: %v", err)
			}
			msg[0] ^= 1
			if err := Verify(VersionTLS13, Supported13(), pub, tc.scheme, msg, sig); alert.For(err) != alert.DecryptError {
				t.Fatalf("Verify of openssl's signature over another message: %v; want decrypt_error", err)
			}

			// We sign, openssl verifies.
			msg = randomMessage(t)
			writeFile(t, dir, "msg", msg)
			sig, err = Sign(t.Context(), signer, tc.scheme, msg)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir, "sig", sig)
			openssl(t, dir, tc.verify...)
			// And openssl would notice a bad one.
			sig[len(sig)/2] ^= 1
			writeFile(t, dir, "sig", sig)
			cmd := exec.Command("openssl", tc.verify...)
			cmd.Dir = dir
			if err := cmd.Run(); err == nil {
				t.Fatal("openssl accepted a corrupted signature; the verify command checks nothing")
			}
		})
	}
}

// TestInteropOpenSSLPSSSalt checks that a PSS signature openssl makes with
// a salt of the maximum length, which RFC 8446 does not allow, is refused.
func TestInteropOpenSSLPSSSalt(t *testing.T) {
	needOpenSSL(t)
	dir := t.TempDir()
	openssl(t, dir, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem")
	openssl(t, dir, "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
	msg := randomMessage(t)
	writeFile(t, dir, "msg", msg)
	openssl(t, dir, "dgst", "-sha256", "-sign", "key.pem", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:max", "-out", "sig", "msg")
	sig, err := os.ReadFile(filepath.Join(dir, "sig"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(readPEM(t, filepath.Join(dir, "pub.pem")))
	if err != nil {
		t.Fatal(err)
	}
	// The signature is sound with any salt length...
	digest := crypto.SHA256.New()
	digest.Write(msg)
	if err := rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, digest.Sum(nil), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		t.Fatalf("openssl's max-salt signature does not verify at all: %v", err)
	}
	// ...but not with the salt TLS requires.
	if err := Verify(VersionTLS13, Supported13(), pub, PSSWithSHA256, msg, sig); alert.For(err) != alert.DecryptError {
		t.Fatalf("Verify of a max-salt PSS signature: %v; want decrypt_error", err)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

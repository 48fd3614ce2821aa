package sigscheme

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

func mustSign(t *testing.T, key string, s Scheme, msg []byte) []byte {
	t.Helper()
	sig, err := Sign(t.Context(), signerFor(t, key), s, msg)
	if err != nil {
		t.Fatalf("Sign %v: %v", s, err)
	}
	return sig
}

func TestVerifyAlerts(t *testing.T) {
	msg := randomMessage(t)
	digest := sha256.Sum256(msg)
	rsaKey := signerFor(t, "rsa2048").(*rsa.PrivateKey)
	rsaPub := &rsaKey.PublicKey

	pkcs1Sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	shortSalt, err := rsa.SignPSS(rand.Reader, rsaKey, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: 0})
	if err != nil {
		t.Fatal(err)
	}
	longSalt, err := rsa.SignPSS(rand.Reader, rsaKey, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	if err != nil {
		t.Fatal(err)
	}
	pssSig := mustSign(t, "rsa2048", PSSWithSHA256, msg)
	p256Sig := mustSign(t, "p256", ECDSAWithP256AndSHA256, msg)
	p384With256 := mustSign(t, "p384", ECDSAWithP256AndSHA256, msg)
	edSig := mustSign(t, "ed25519", Ed25519, msg)
	tampered := append([]byte(nil), pssSig...)
	tampered[10] ^= 0x80
	pkcs1Real := mustSign(t, "rsa2048", PKCS1WithSHA256, msg)

	s13, s12 := Supported13(), Supported12()
	cases := []struct {
		name    string
		vers    uint16
		offered []Scheme
		pub     crypto.PublicKey
		scheme  Scheme
		sig     []byte
		want    alert.Alert // 0: must verify
	}{
		{"good PSS", VersionTLS13, s13, rsaPub, PSSWithSHA256, pssSig, 0},
		{"good ECDSA", VersionTLS13, s13, signerFor(t, "p256").Public(), ECDSAWithP256AndSHA256, p256Sig, 0},
		{"good Ed25519", VersionTLS13, s13, signerFor(t, "ed25519").Public(), Ed25519, edSig, 0},
		{"good PKCS#1 in TLS 1.2", VersionTLS12, s12, rsaPub, PKCS1WithSHA256, pkcs1Real, 0},

		{"tampered PSS", VersionTLS13, s13, rsaPub, PSSWithSHA256, tampered, alert.DecryptError},
		{"PKCS#1 v1.5 signature presented as PSS", VersionTLS13, s13, rsaPub, PSSWithSHA256, pkcs1Sig, alert.DecryptError},
		{"PSS signature presented as PKCS#1", VersionTLS12, s12, rsaPub, PKCS1WithSHA256, pssSig, alert.DecryptError},
		{"PSS salt shorter than the hash", VersionTLS13, s13, rsaPub, PSSWithSHA256, shortSalt, alert.DecryptError},
		{"PSS salt longer than the hash", VersionTLS13, s13, rsaPub, PSSWithSHA256, longSalt, alert.DecryptError},
		{"empty signature", VersionTLS13, s13, rsaPub, PSSWithSHA256, nil, alert.DecryptError},
		{"truncated ECDSA", VersionTLS13, s13, signerFor(t, "p256").Public(), ECDSAWithP256AndSHA256, p256Sig[:len(p256Sig)-1], alert.DecryptError},
		{"ECDSA with trailing byte", VersionTLS13, s13, signerFor(t, "p256").Public(), ECDSAWithP256AndSHA256, append(append([]byte(nil), p256Sig...), 0), alert.DecryptError},
		{"signature by another key", VersionTLS13, s13, signerFor(t, "rsa4096").Public(), PSSWithSHA256, pssSig, alert.DecryptError},

		{"ECDSA scheme, RSA key", VersionTLS13, s13, rsaPub, ECDSAWithP256AndSHA256, p256Sig, alert.IllegalParameter},
		{"PSS scheme, ECDSA key", VersionTLS13, s13, signerFor(t, "p256").Public(), PSSWithSHA256, pssSig, alert.IllegalParameter},
		{"Ed25519 scheme, ECDSA key", VersionTLS13, s13, signerFor(t, "p256").Public(), Ed25519, edSig, alert.IllegalParameter},
		{"rsa_pss_pss scheme, rsaEncryption key", VersionTLS13, s13, rsaPub, PSSPSSWithSHA256, pssSig, alert.IllegalParameter},
		{"rsa_pss_rsae scheme, RSASSA-PSS key", VersionTLS13, s13, pssPub(t, "rsa2048"), PSSWithSHA256, pssSig, alert.IllegalParameter},
		{"P-384 key signing as P-256, TLS 1.3", VersionTLS13, s13, signerFor(t, "p384").Public(), ECDSAWithP256AndSHA256, p384With256, alert.IllegalParameter},
		{"P-384 key signing as P-256, TLS 1.2", VersionTLS12, s12, signerFor(t, "p384").Public(), ECDSAWithP256AndSHA256, p384With256, 0},
		{"not offered", VersionTLS13, []Scheme{ECDSAWithP256AndSHA256}, rsaPub, PSSWithSHA256, pssSig, alert.IllegalParameter},
		{"PKCS#1 offered but TLS 1.3", VersionTLS13, s12, rsaPub, PKCS1WithSHA256, pkcs1Real, alert.IllegalParameter},
		{"SHA-1 offered but TLS 1.3", VersionTLS13, []Scheme{ECDSAWithSHA1}, signerFor(t, "p256").Public(), ECDSAWithSHA1, p256Sig, alert.IllegalParameter},
		{"SHA-1 not offered, TLS 1.2", VersionTLS12, s12, signerFor(t, "p256").Public(), ECDSAWithSHA1, p256Sig, alert.IllegalParameter},
		{"unknown scheme offered", VersionTLS12, []Scheme{0x0fff}, rsaPub, 0x0fff, pssSig, alert.IllegalParameter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.vers, tc.offered, tc.pub, tc.scheme, msg, tc.sig)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if got := alert.For(err); got != tc.want {
				t.Fatalf("Verify: %v (alert %v); want alert %v", err, got, tc.want)
			}
		})
	}
}

func TestVerifySchemeMismatchSentinel(t *testing.T) {
	msg := randomMessage(t)
	sig := mustSign(t, "p256", ECDSAWithP256AndSHA256, msg)
	err := Verify(VersionTLS13, Supported13(), signerFor(t, "rsa2048").Public(), ECDSAWithP256AndSHA256, msg, sig)
	if !errors.Is(err, ErrSchemeMismatch) || !errors.Is(err, alert.ErrIllegalParameter) {
		t.Fatalf("Verify: %v; want ErrSchemeMismatch and illegal_parameter", err)
	}
}

func TestVerifyUnsupportedPeerKey(t *testing.T) {
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, pub := range []crypto.PublicKey{p224.Public(), x.PublicKey(), nil} {
		err := Verify(VersionTLS13, Supported13(), pub, ECDSAWithP256AndSHA256, []byte("m"), []byte("s"))
		if !errors.Is(err, ErrUnsupportedKey) || alert.For(err) != alert.UnsupportedCertificate {
			t.Errorf("%T: %v (alert %v); want ErrUnsupportedKey and unsupported_certificate", pub, err, alert.For(err))
		}
	}
}

func TestVerifyBadVersion(t *testing.T) {
	msg := randomMessage(t)
	sig := mustSign(t, "p256", ECDSAWithP256AndSHA256, msg)
	err := Verify(0x0302, Supported12(), signerFor(t, "p256").Public(), ECDSAWithP256AndSHA256, msg, sig)
	if err == nil || alert.For(err) != alert.InternalError {
		t.Fatalf("Verify for TLS 1.1: %v; want an internal error", err)
	}
}

package tls12

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
)

// BenchmarkRSAPremaster compares the server's handling of a well-formed
// RSA-encrypted premaster secret with malformed ones (bad PKCS #1 padding,
// wrong length, wrong version bytes): the countermeasure of RFC 5246
// §7.4.7.1 must make them indistinguishable, so the ns/op should agree
// within noise. Run: go test -run '^$' -bench RSAPremaster -count 5 ./tls12
func BenchmarkRSAPremaster(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	good := make([]byte, premasterLen)
	good[0], good[1] = 3, 3
	rand.Read(good[2:])
	//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
	encGood, _ := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, good)
	wrongVersion := append([]byte{3, 1}, good[2:]...)
	//lint:ignore SA1019 as above.
	encVersion, _ := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, wrongVersion)
	//lint:ignore SA1019 as above.
	encShort, _ := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, good[:40])
	badPadding := make([]byte, len(encGood))
	rand.Read(badPadding)
	badPadding[0] = 0 // keep it below the modulus
	for _, c := range []struct {
		name string
		ct   []byte
	}{{"valid", encGood}, {"bad-padding", badPadding}, {"wrong-length", encShort}, {"wrong-version", encVersion}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				pm, err := rsaPremaster(rand.Reader, key, c.ct, 0x0303, true)
				if err != nil {
					b.Fatal(err)
				}
				pm.Free()
			}
		})
	}
}

// The countermeasure's result: the right premaster for a good ciphertext,
// and for every bad one a random premaster and no error.
func TestRSAPremasterCountermeasure(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := make([]byte, premasterLen)
	good[0], good[1] = 3, 3
	rand.Read(good[2:])
	//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, good)
	pm, err := rsaPremaster(rand.Reader, key, ct, 0x0303, true)
	if err != nil || !pm.EqualBytes(good) {
		t.Fatalf("valid premaster not recovered: %v", err)
	}
	pm.Free()
	for name, ct := range map[string][]byte{"version": func() []byte {
		//lint:ignore SA1019 as above.
		c, _ := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, append([]byte{3, 1}, good[2:]...))
		return c
	}(), "garbage": make([]byte, 256), "short ciphertext": []byte{1, 2, 3}} {
		pm, err := rsaPremaster(rand.Reader, key, ct, 0x0303, true)
		if err != nil {
			t.Fatalf("%s: error %v: the countermeasure must not report failures", name, err)
		}
		if pm.EqualBytes(good) || pm.Len() != premasterLen {
			t.Fatalf("%s: premaster is not a fresh random one", name)
		}
		pm.Free()
	}
}

package sigscheme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
)

// testKeys are generated once per test binary; RSA-4096 takes about a
// second.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	keys := map[string]crypto.Signer{}
	for name, c := range map[string]elliptic.Curve{"p256": elliptic.P256(), "p384": elliptic.P384(), "p521": elliptic.P521()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			panic(err)
		}
		keys[name] = k
	}
	for name, bits := range map[string]int{"rsa1024": 1024, "rsa2048": 2048, "rsa4096": 4096} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		keys[name] = k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	keys["ed25519"] = ed
	return keys
})

func signerFor(t testing.TB, name string) crypto.Signer {
	t.Helper()
	k, ok := testKeys()[name]
	if !ok {
		t.Fatalf("no test key %q", name)
	}
	return k
}

// pssPub presents an RSA key as its id-RSASSA-PSS certificate would.
func pssPub(t testing.TB, name string) *PSSPublicKey {
	return &PSSPublicKey{Key: signerFor(t, name).Public().(*rsa.PublicKey)}
}

func randomMessage(t testing.TB) []byte {
	t.Helper()
	m := make([]byte, 100+int(randByte(t)))
	if _, err := rand.Read(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func randByte(t testing.TB) byte {
	var b [1]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return b[0]
}

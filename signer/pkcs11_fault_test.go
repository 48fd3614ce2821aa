//go:build cgo

package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
)

// importableKey writes a fresh P-256 key as PKCS#8 PEM, so the same key
// can be put back on the token after it is deleted.
func importableKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func signOK(t *testing.T, k Key, when string) {
	t.Helper()
	d := sha256.Sum256([]byte(when))
	sig, err := k.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if !ecdsa.VerifyASN1(k.Public().(*ecdsa.PublicKey), d[:], sig) {
		t.Fatalf("%s: signature does not verify", when)
	}
}

func signFails(t *testing.T, k Key, when string, wants ...string) {
	t.Helper()
	d := sha256.Sum256([]byte(when))
	_, err := k.Sign(rand.Reader, d[:], crypto.SHA256)
	if err == nil {
		t.Fatalf("%s: signing succeeded", when)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", when, err, w)
		}
	}
	if strings.Contains(err.Error(), "1234") {
		t.Errorf("%s: error shows the PIN: %v", when, err)
	}
}

// The key deleted from the token while in use: signing fails with an
// error naming the URI, other keys on the token keep working, and once
// the same key is back the next signature succeeds, without reopening.
func TestPKCS11KeyDeletedAndRestored(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"other": "EC:prime256v1"})
	pemPath := importableKey(t)
	softhsm.ImportKey(t, tk, "served", "0a", pemPath)
	ctx := context.Background()
	k, err := Open(ctx, tk.URI("served"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	other, err := Open(ctx, tk.URI("other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	signOK(t, k, "before")

	softhsm.DeleteKey(t, tk, "served")
	signFails(t, k, "deleted", "object=served", "no private key matches")
	signOK(t, other, "other key while served is gone")

	softhsm.ImportKey(t, tk, "served", "0a", pemPath)
	signOK(t, k, "restored")

	// A different key under the same label is refused, not used.
	softhsm.DeleteKey(t, tk, "served")
	softhsm.ImportKey(t, tk, "served", "0a", importableKey(t))
	signFails(t, k, "replaced", "different key")
}

// The token re-initialised under a running key: every object and the
// login are gone. Signing fails clearly; after the key is imported again
// the key works without being reopened.
func TestPKCS11TokenReinitialised(t *testing.T) {
	tk := softhsm.New(t, nil)
	pemPath := importableKey(t)
	softhsm.ImportKey(t, tk, "served", "0a", pemPath)
	k, err := Open(context.Background(), tk.URI("served"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	signOK(t, k, "before")
	softhsm.Reinit(t, tk)
	signFails(t, k, "after re-initialisation", "object=served")
	softhsm.ImportKey(t, tk, "served", "0a", pemPath)
	signOK(t, k, "key imported again")
}

// A C_Sign that the token rejects (input too long for the key) is an
// error with the CKR code, not a panic, and the session stays usable.
func TestPKCS11FailingSign(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"rsa": "rsa:2048"})
	k, err := Open(context.Background(), tk.URI("rsa"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	_, err = k.Sign(rand.Reader, make([]byte, 300), crypto.SHA256)
	if err == nil || !strings.Contains(err.Error(), "CKR_") || !strings.Contains(err.Error(), "object=rsa") {
		t.Fatalf("oversized input: got %v, want an error naming the CKR code and the key", err)
	}
	d := sha256.Sum256([]byte("after a failure"))
	if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		t.Fatalf("signing after a failed C_Sign: %v", err)
	}
	if n := k.(*p11Key).openSessions(); n != 1 {
		t.Errorf("%d sessions open after a failure and a success from one goroutine, want 1", n)
	}
}

// A wrong PIN is a clear error at Open, naming the URI and CKR_PIN_INCORRECT
// but never the PIN, and Open tries the PIN once: retrying would count
// towards the token's lockout.
func TestPKCS11WrongPIN(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"ec": "EC:prime256v1"})
	uri := "pkcs11:token=holdfast;object=ec?module-path=" + tk.Module + "&pin-value=98765"
	_, err := Open(context.Background(), uri)
	if err == nil || !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") || !strings.Contains(err.Error(), "object=ec") {
		t.Fatalf("wrong PIN: got %v", err)
	}
	if strings.Contains(err.Error(), "98765") {
		t.Fatalf("error shows the PIN: %v", err)
	}
}

// Session count: 10,000 signatures from one goroutine leave one session
// open; 64 goroutines never have more open than the bound.
func TestPKCS11SessionCount(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"ec": "EC:prime256v1"})
	k, err := Open(context.Background(), tk.URI("ec"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	p := k.(*p11Key)
	d := sha256.Sum256([]byte("count"))
	n := 10000
	if testing.Short() {
		n = 1000
	}
	for range n {
		if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.openSessions(); got > 2 {
		t.Fatalf("%d sessions open after %d signatures from one goroutine, want at most 2", got, n)
	}
	peak := peakSessions(t, p, 64, 20)
	if peak > cap(p.tokens) || peak == 0 {
		t.Fatalf("peak of %d sessions under 64 goroutines; bound is %d", peak, cap(p.tokens))
	}
	t.Logf("peak %d sessions (bound %d) under 64 goroutines", peak, cap(p.tokens))

	// Sixty-four callers arriving at once, one signature each: those that
	// queue behind the bound must be woken when sessions come back to the
	// pool, not only when one closes.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if _, err := k.(*p11Key).SignContext(ctx, rand.Reader, d[:], crypto.SHA256); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

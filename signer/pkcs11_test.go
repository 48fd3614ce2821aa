//go:build cgo

package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
)

// softHSM makes a SoftHSM token with an EC P-256 key "ec-key" (id 01)
// and an RSA-2048 key "rsa-key" (id 02), and returns the module path and
// the directory holding the PIN file "pin".
func softHSM(t *testing.T) (module, dir string) {
	t.Helper()
	tk := softhsm.New(t, map[string]string{"ec-key": "EC:prime256v1"})
	tk2 := softhsm.AddKey(t, tk, "rsa-key", "rsa:2048", "02")
	return tk2.Module, filepath.Dir(tk2.PINFile)
}

func TestPKCS11SignAndDecryptOnSoftHSM(t *testing.T) {
	module, dir := softHSM(t)
	ctx := context.Background()
	digest := sha256.Sum256([]byte("signed by a key that never leaves the token"))

	ec, err := Open(ctx, "pkcs11:token=holdfast;object=ec-key;type=private?module-path="+module+"&pin-source=file:"+filepath.Join(dir, "pin"))
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	sig, err := ec.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(ec.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatalf("ECDSA signature from SoftHSM does not verify: %v", err)
	}

	rk, err := Open(ctx, "pkcs11:token=holdfast;id=%02?module-path="+module+"&pin-value=1234")
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	pub := rk.Public().(*rsa.PublicKey)
	sig, err = rk.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	if err != nil || rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) != nil {
		t.Fatalf("RSA-PSS signature from SoftHSM does not verify: %v", err)
	}
	sig, err = rk.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		t.Fatalf("RSA PKCS #1 v1.5 signature from SoftHSM does not verify: %v", err)
	}
	//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte("premaster secret"))
	plain, err := rk.(crypto.Decrypter).Decrypt(rand.Reader, ct, nil)
	if err != nil || string(plain) != "premaster secret" {
		t.Fatalf("Decrypt on SoftHSM = %q, %v", plain, err)
	}
}

func TestPKCS11Errors(t *testing.T) {
	module, _ := softHSM(t)
	ctx := context.Background()
	for _, c := range []struct{ uri, want string }{
		{"pkcs11:token=holdfast;object=missing?module-path=" + module + "&pin-value=1234", "no private key matches"},
		{"pkcs11:token=nosuch;object=ec-key?module-path=" + module + "&pin-value=1234", "no token"},
		{"pkcs11:token=holdfast;object=ec-key?module-path=" + module + "&pin-value=9999", "C_Login"},
		{"pkcs11:token=holdfast;object=ec-key?pin-value=1234", "module-path is required"},
	} {
		k, err := Open(ctx, c.uri)
		if err == nil {
			k.Close()
			t.Errorf("Open(%s) succeeded", c.uri)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "9999") || strings.Contains(err.Error(), "pin-value=1234") {
			t.Errorf("Open: %v; want it to mention %q and no PIN", err, c.want)
		}
	}
}

// A signer waiting for a session gives up when its context ends.
func TestPKCS11SessionWaitHonoursContext(t *testing.T) {
	module, _ := softHSM(t)
	k, err := Open(context.Background(), "pkcs11:token=holdfast;object=ec-key?module-path="+module+"&pin-value=1234")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	p := k.(*p11Key)
	held := takeAllSessions(t, p)
	if len(held) != defaultMaxSessions {
		t.Fatalf("pool opened %d sessions, want the limit %d", len(held), defaultMaxSessions)
	}
	digest := sha256.Sum256([]byte("x"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := k.SignContext(ctx, rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SignContext with the pool exhausted: %v", err)
	}
}

// A token that logs the application out (as one does after a reset) is
// logged in to again, and the signature still comes.
func TestPKCS11ReloginAfterLogout(t *testing.T) {
	module, dir := softHSM(t)
	k, err := Open(context.Background(), "pkcs11:token=holdfast;object=ec-key?module-path="+module+"&pin-source=file:"+filepath.Join(dir, "pin"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	p := k.(*p11Key)
	s, err := p.checkout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.mod.ctx.Logout(s); err != nil {
		t.Fatal(err)
	}
	p.checkin(s, nil)
	digest := sha256.Sum256([]byte("after logout"))
	sig, err := k.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(k.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatalf("Sign after the token logged us out: %v", err)
	}
}

// Sessions idle longer than the timeout are closed, so the number open
// follows the load.
func TestPKCS11IdleSessionsClose(t *testing.T) {
	module, _ := softHSM(t)
	k, err := Open(context.Background(), "pkcs11:token=holdfast;object=ec-key?module-path="+module+"&pin-value=1234")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	p := k.(*p11Key)
	p.mu.Lock()
	p.idleTime = 50 * time.Millisecond
	p.mu.Unlock()
	// Four sessions in use at once, then all idle.
	var held []pkcs11.SessionHandle
	for range 4 {
		s, err := p.checkout(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	for _, s := range held {
		p.checkin(s, nil)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if n := p.openSessions(); n == 1 {
			// The last session stays: it keeps the login and handles.
			digest := sha256.Sum256([]byte("after a quiet spell"))
			if _, err := k.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				t.Fatal(err)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d sessions still open; idle ones were not closed down to one", p.openSessions())
}

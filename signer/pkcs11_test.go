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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// softHSM sets up a SoftHSM token in a temporary directory with an EC
// P-256 and an RSA-2048 key pair made by pkcs11-tool, and returns the
// module path and the URI prefix of the token.
func softHSM(t *testing.T) (module, dir string) {
	t.Helper()
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (ci/test.sh installs softhsm2 and opensc): %v", tool, err)
		}
	}
	for _, m := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(m); err == nil {
			module = m
			break
		}
	}
	if module == "" {
		t.Fatal("libsofthsm2.so not found (ci/test.sh installs softhsm2)")
	}
	dir = t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	os.MkdirAll(filepath.Join(dir, "tokens"), 0o700)
	os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	t.Setenv("SOFTHSM2_CONF", conf)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("softhsm2-util", "--init-token", "--free", "--label", "holdfast", "--pin", "1234", "--so-pin", "5678")
	for _, k := range [][]string{{"EC:prime256v1", "ec-key", "01"}, {"rsa:2048", "rsa-key", "02"}} {
		run("pkcs11-tool", "--module", module, "--token-label", "holdfast", "--login", "--pin", "1234",
			"--keypairgen", "--key-type", k[0], "--label", k[1], "--id", k[2])
	}
	os.WriteFile(filepath.Join(dir, "pin"), []byte("1234\n"), 0o600)
	return module, dir
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
	// Take every session the pool may open.
	var held []uint
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		s, err := p.checkout(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
		held = append(held, uint(s))
	}
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

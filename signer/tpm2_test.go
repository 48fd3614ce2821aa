package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/holdfast-tls/holdfast/internal/swtpm"
)

// Tests of the tpm2: backend against swtpm, with tpm2-tools and
// tpm2-openssl as the other implementations of the key-file format.

// tpmTool runs a tpm2-tools or openssl command against tp and returns its
// output, failing the test (with what to install) if the tool is missing.
func tpmTool(t *testing.T, tp *swtpm.TPM, dir, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required (ci/test.sh installs tpm2-tools and tpm2-openssl; or `apt-get install tpm2-tools tpm2-openssl`): %v", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Dir = tp.Env(), dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeTPMKey makes a key with CreateTPMKey and writes its key file.
func writeTPMKey(t *testing.T, tp *swtpm.TPM, alg, auth string, persist uint32) string {
	t.Helper()
	kf, err := CreateTPMKey(context.Background(), TPMKeyOptions{Device: tp.Device(), Algorithm: alg, Auth: []byte(auth), Persist: persist})
	if err != nil {
		t.Fatal(err)
	}
	b, err := kf.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), alg+".pem")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func openTPMKey(t *testing.T, uri string) *tpmKey {
	t.Helper()
	k, err := Open(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k.(*tpmKey)
}

// tpmSchemeOpts maps a TLS scheme to the Sign options that produce it.
var tpmSchemeOpts = map[uint16]crypto.SignerOpts{
	ECDSAP256SHA256:  crypto.SHA256,
	ECDSAP384SHA384:  crypto.SHA384,
	RSAPKCS1SHA256:   crypto.SHA256,
	RSAPKCS1SHA384:   crypto.SHA384,
	RSAPKCS1SHA512:   crypto.SHA512,
	RSAPSSRSAESHA256: &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256},
	RSAPSSRSAESHA384: &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA384},
	RSAPSSRSAESHA512: &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA512},
}

// checkTPMSchemes signs with every scheme the key lists and verifies each
// signature independently of the backend (which verifies too).
func checkTPMSchemes(t *testing.T, k Key) {
	t.Helper()
	schemes := k.(SchemeLimiter).SignatureSchemes()
	if len(schemes) == 0 {
		t.Fatal("the key lists no signature scheme")
	}
	for _, s := range schemes {
		opts := tpmSchemeOpts[s]
		d := opts.HashFunc().New()
		d.Write([]byte("message for scheme"))
		digest := d.Sum(nil)
		sig, err := k.SignContext(context.Background(), rand.Reader, digest, opts)
		if err != nil {
			t.Fatalf("scheme 0x%04x: %v", s, err)
		}
		switch pub := k.Public().(type) {
		case *ecdsa.PublicKey:
			if !ecdsa.VerifyASN1(pub, digest, sig) {
				t.Errorf("scheme 0x%04x: ECDSA signature does not verify", s)
			}
		case *rsa.PublicKey:
			if pss, ok := opts.(*rsa.PSSOptions); ok {
				err = rsa.VerifyPSS(pub, pss.Hash, digest, sig, &rsa.PSSOptions{SaltLength: pss.Hash.Size()})
			} else {
				err = rsa.VerifyPKCS1v15(pub, opts.HashFunc(), digest, sig)
			}
			if err != nil {
				t.Errorf("scheme 0x%04x: %v", s, err)
			}
		}
	}
}

func TestTPMKeys(t *testing.T) {
	tp := swtpm.Start(t)
	allRSA := []uint16{RSAPSSRSAESHA256, RSAPSSRSAESHA384, RSAPSSRSAESHA512, RSAPKCS1SHA256, RSAPKCS1SHA384, RSAPKCS1SHA512}
	for _, c := range []struct {
		alg, auth string
		schemes   []uint16
	}{
		{"ecdsa-p256", "", []uint16{ECDSAP256SHA256}},
		{"ecdsa-p384", "p384-auth", []uint16{ECDSAP384SHA384}},
		{"rsa2048", "rsa-auth", allRSA},
	} {
		t.Run(c.alg, func(t *testing.T) {
			uri := "tpm2:file=" + writeTPMKey(t, tp, c.alg, c.auth, 0) + "?device=" + tp.Device()
			if c.auth != "" {
				uri += "&pin-value=" + c.auth
			}
			k := openTPMKey(t, uri)
			if got := k.SignatureSchemes(); !slices.Equal(got, c.schemes) {
				t.Errorf("SignatureSchemes %04x, want %04x", got, c.schemes)
			}
			checkTPMSchemes(t, k)
			if strings.Contains(k.uri, c.auth) && c.auth != "" {
				t.Errorf("the key's name shows the auth value: %s", k.uri)
			}
			pub, ok := k.Public().(*rsa.PublicKey)
			if !ok {
				if _, err := k.Decrypt(nil, make([]byte, 32), nil); err == nil {
					t.Error("an ECDSA key decrypted")
				}
				return
			}
			// TLS 1.2 RSA key transport: a premaster secret, then a
			// spoiled ciphertext, which must yield random bytes and no
			// error when SessionKeyLen is set.
			premaster := make([]byte, 48)
			rand.Read(premaster)
			//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
			ct, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, premaster)
			//lint:ignore SA1019 as above
			got, err := k.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48})
			if err != nil || !bytes.Equal(got, premaster) {
				t.Fatalf("Decrypt: %x, %v; want the premaster", got, err)
			}
			if got, err = k.Decrypt(rand.Reader, ct, nil); err != nil || !bytes.Equal(got, premaster) {
				t.Fatalf("Decrypt without options: %x, %v", got, err)
			}
			bad := bytes.Clone(ct)
			bad[len(bad)-1] ^= 1
			//lint:ignore SA1019 as above
			got, err = k.Decrypt(rand.Reader, bad, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48})
			if err != nil || len(got) != 48 || bytes.Equal(got, premaster) {
				t.Fatalf("Decrypt of a spoiled ciphertext: %x, %v; want 48 random bytes, no error", got, err)
			}
			if _, err = k.Decrypt(rand.Reader, bad, nil); err == nil {
				t.Fatal("Decrypt of a spoiled ciphertext without SessionKeyLen gave no error")
			}
		})
	}
}

// A persistent key, made persistent explicitly by CreateTPMKey, opens by
// handle with the SRK made on the fly for the salted session.
func TestTPMPersistentHandle(t *testing.T) {
	tp := swtpm.Start(t)
	writeTPMKey(t, tp, "rsa2048", "persist-auth", 0x81000010)
	k := openTPMKey(t, "tpm2:handle=0x81000010?device="+tp.Device()+"&pin-value=persist-auth")
	checkTPMSchemes(t, k)
	if _, err := Open(context.Background(), "tpm2:handle=0x81000011?device="+tp.Device()); err == nil || !strings.Contains(err.Error(), "0x81000011") {
		t.Errorf("opening an empty handle: %v; want an error naming it", err)
	}
}

// RSA-PSS when the TPM cannot sign PSS with a hash-length salt itself:
// swtpm signs PSS correctly, so native PSS is switched off on an opened
// key, as the probe does on a TPM that uses the maximum salt. The
// signature then comes from Holdfast's PSS encoding and the TPM's raw RSA
// operation.
func TestTPMPSSThroughRawRSA(t *testing.T) {
	tp := swtpm.Start(t)
	k := openTPMKey(t, "tpm2:file="+writeTPMKey(t, tp, "rsa2048", "", 0)+"?device="+tp.Device())
	if !k.rawRSA {
		t.Fatal("the key allows the raw RSA operation, but the probe did not find it")
	}
	clear(k.pssNative)
	clear(k.pkcs1Native)
	checkTPMSchemes(t, k)
}

// A key that may only sign, with RSASSA-SHA256 fixed in its template, made
// by tpm2-tools: no raw RSA, no PSS, no decryption. The key offers exactly
// rsa_pkcs1_sha256, and refuses the rest with a clear error.
func TestTPMToolsKeyFile(t *testing.T) {
	tp := swtpm.Start(t)
	dir := t.TempDir()
	tpmTool(t, tp, dir, "tpm2_createprimary", "-C", "o", "-G", "ecc", "-c", "prim.ctx")
	tpmTool(t, tp, dir, "tpm2_create", "-C", "prim.ctx", "-G", "rsa2048:rsassa-sha256:null",
		"-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign", "-p", "tools-auth", "-u", "k.pub", "-r", "k.priv")
	tpmTool(t, tp, dir, "tpm2_encodeobject", "-C", "prim.ctx", "-u", "k.pub", "-r", "k.priv", "-p", "-o", "k.pem")
	tpmTool(t, tp, dir, "tpm2_flushcontext", "-t")
	k := openTPMKey(t, "tpm2:file="+filepath.Join(dir, "k.pem")+"?device="+tp.Device()+"&pin-value=tools-auth")
	if got := k.SignatureSchemes(); !slices.Equal(got, []uint16{RSAPKCS1SHA256}) {
		t.Fatalf("SignatureSchemes %04x, want only rsa_pkcs1_sha256", got)
	}
	checkTPMSchemes(t, k)
	d := crypto.SHA256.New().Sum(nil)
	if _, err := k.Sign(nil, d, tpmSchemeOpts[RSAPSSRSAESHA256]); err == nil || !strings.Contains(err.Error(), "RSA-PSS") {
		t.Errorf("PSS with a sign-only RSASSA key: %v; want a clear refusal", err)
	}
	if _, err := k.Decrypt(nil, make([]byte, 256), nil); err == nil {
		t.Error("a sign-only key decrypted")
	}
}

// Key files written by tpm2-openssl open in Holdfast.
func TestTPMOpenSSLKeyFiles(t *testing.T) {
	tp := swtpm.Start(t)
	dir := t.TempDir()
	for _, c := range []struct{ name, alg, opt string }{
		{"ec.pem", "EC", "group:P-256"}, {"ec384.pem", "EC", "group:P-384"}, {"rsa.pem", "RSA", "bits:2048"},
	} {
		tpmTool(t, tp, dir, "openssl", "genpkey", "-provider", "tpm2", "-provider", "default",
			"-algorithm", c.alg, "-pkeyopt", c.opt, "-out", c.name)
		// The public key the file holds is the one openssl reports. (Run
		// before Holdfast opens the file: swtpm has three object slots
		// and serves one client at a time.)
		out := tpmTool(t, tp, dir, "openssl", "pkey", "-provider", "tpm2", "-provider", "default", "-in", c.name, "-pubout")
		k := openTPMKey(t, "tpm2:file="+filepath.Join(dir, c.name)+"?device="+tp.Device())
		checkSamePublic(t, k.Public(), out)
		checkTPMSchemes(t, k)
		k.Close() // free the TPM's object slot for the next file
	}
}

// Key files written by Holdfast open in tpm2-openssl, which signs with
// them; the signature verifies under the key's public half.
func TestTPMKeyFileInOpenSSL(t *testing.T) {
	tp := swtpm.Start(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.WriteFile(data, []byte("signed by tpm2-openssl with a Holdfast key file"), 0o600)
	for _, c := range []struct{ alg, auth string }{{"ecdsa-p256", ""}, {"rsa2048", "ossl-auth"}} {
		path := writeTPMKey(t, tp, c.alg, c.auth, 0)
		args := []string{"pkeyutl", "-provider", "tpm2", "-provider", "default", "-sign", "-inkey", path, "-rawin", "-digest", "sha256", "-in", data, "-out", filepath.Join(dir, "sig")}
		if c.auth != "" {
			args = append(args, "-passin", "pass:"+c.auth)
		}
		tpmTool(t, tp, dir, "openssl", args...)
		pkey := []string{"pkey", "-provider", "tpm2", "-provider", "default", "-in", path, "-pubout"}
		if c.auth != "" {
			pkey = append(pkey, "-passin", "pass:"+c.auth)
		}
		pubPEM := tpmTool(t, tp, dir, "openssl", pkey...)
		block, _ := pem.Decode([]byte(pubPEM))
		if block == nil {
			t.Fatalf("openssl pkey -pubout printed no key:\n%s", pubPEM)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		uri := "tpm2:file=" + path + "?device=" + tp.Device()
		if c.auth != "" {
			uri += "&pin-value=" + c.auth
		}
		k := openTPMKey(t, uri)
		checkSamePublic(t, k.Public(), pubPEM)
		sig, _ := os.ReadFile(filepath.Join(dir, "sig"))
		msg, _ := os.ReadFile(data)
		digest := crypto.SHA256.New()
		digest.Write(msg)
		switch pub := pub.(type) {
		case *ecdsa.PublicKey:
			if !ecdsa.VerifyASN1(pub, digest.Sum(nil), sig) {
				t.Errorf("%s: tpm2-openssl's signature does not verify", c.alg)
			}
		case *rsa.PublicKey:
			if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest.Sum(nil), sig) != nil && rsa.VerifyPSS(pub, crypto.SHA256, digest.Sum(nil), sig, nil) != nil {
				t.Errorf("%s: tpm2-openssl's signature does not verify", c.alg)
			}
		}
		k.Close()
	}
}

func checkSamePublic(t *testing.T, ours crypto.PublicKey, opensslPEM string) {
	t.Helper()
	block, _ := pem.Decode([]byte(opensslPEM))
	if block == nil {
		t.Fatalf("no PEM public key in:\n%s", opensslPEM)
	}
	theirs, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !ours.(interface{ Equal(crypto.PublicKey) bool }).Equal(theirs) {
		t.Fatalf("public keys differ: Holdfast %v, openssl %v", ours, theirs)
	}
}

// A wrong auth value: a clear error naming the key and the TPM_RC, not the
// value, and exactly one failed authorization in the TPM's
// dictionary-attack counter: no retry.
func TestTPMWrongAuth(t *testing.T) {
	tp := swtpm.Start(t)
	path := writeTPMKey(t, tp, "ecdsa-p256", "hunter2-right", 0)
	_, err := Open(context.Background(), "tpm2:file="+path+"?device="+tp.Device()+"&pin-value=hunter2-wrong")
	if err == nil {
		t.Fatal("opened with the wrong auth value")
	}
	msg := err.Error()
	for _, want := range []string{path, "TPM_RC_AUTH_FAIL", "not retried"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows an auth value: %s", msg)
	}
	out := tpmTool(t, tp, t.TempDir(), "tpm2_getcap", "properties-variable")
	if !strings.Contains(out, "TPM2_PT_LOCKOUT_COUNTER: 0x1\n") {
		t.Errorf("lockout counter after one open with a wrong auth value; want 1:\n%s", out)
	}
	openTPMKey(t, "tpm2:file="+path+"?device="+tp.Device()+"&pin-value=hunter2-right")
}

// The TPM does one thing at a time: a caller waits in the queue, and its
// context's deadline applies while it waits.
func TestTPMQueueDeadline(t *testing.T) {
	tp := swtpm.Start(t)
	k := openTPMKey(t, "tpm2:file="+writeTPMKey(t, tp, "ecdsa-p256", "", 0)+"?device="+tp.Device())
	d := crypto.SHA256.New().Sum(nil)
	k.dev.sem <- struct{}{} // another user holds the TPM
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := k.SignContext(ctx, nil, d, crypto.SHA256)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for the TPM") {
		t.Errorf("sign while the TPM is held: %v; want the deadline while waiting", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("waited %v past a 50ms deadline", waited)
	}
	<-k.dev.sem
	if _, err := k.SignContext(context.Background(), nil, d, crypto.SHA256); err != nil {
		t.Fatal(err)
	}
}

// Many goroutines and two keys share one TPM through the queue.
func TestTPMConcurrentSigns(t *testing.T) {
	tp := swtpm.Start(t)
	keys := []*tpmKey{
		openTPMKey(t, "tpm2:file="+writeTPMKey(t, tp, "ecdsa-p256", "a", 0)+"?device="+tp.Device()+"&pin-value=a"),
		openTPMKey(t, "tpm2:file="+writeTPMKey(t, tp, "rsa2048", "b", 0)+"?device="+tp.Device()+"&pin-value=b"),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			k := keys[i%2]
			var opts crypto.SignerOpts = crypto.SHA256
			if _, ok := k.Public().(*rsa.PublicKey); ok {
				opts = tpmSchemeOpts[RSAPSSRSAESHA256]
			}
			for range 5 {
				d := crypto.SHA256.New().Sum(nil)
				if _, err := k.Sign(nil, d, opts); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// swtpm killed and restarted: operations fail with ErrTPMUnavailable while
// it is gone and succeed once it is back, for a file key (reloaded under
// a re-created parent) and a persistent one.
func TestTPMReconnect(t *testing.T) {
	tp := swtpm.Start(t)
	fileKey := openTPMKey(t, "tpm2:file="+writeTPMKey(t, tp, "ecdsa-p256", "f", 0)+"?device="+tp.Device()+"&pin-value=f")
	writeTPMKey(t, tp, "ecdsa-p384", "", 0x81000020)
	handleKey := openTPMKey(t, "tpm2:handle=0x81000020?device="+tp.Device())
	sign := func(k *tpmKey) error {
		h := crypto.SHA256
		if k == handleKey {
			h = crypto.SHA384
		}
		_, err := k.Sign(nil, h.New().Sum(nil), h)
		return err
	}
	for _, k := range []*tpmKey{fileKey, handleKey} {
		if err := sign(k); err != nil {
			t.Fatal(err)
		}
	}
	tp.Stop()
	for _, k := range []*tpmKey{fileKey, handleKey} {
		if err := sign(k); !errors.Is(err, ErrTPMUnavailable) || !strings.Contains(err.Error(), tp.Device()) {
			t.Errorf("sign with swtpm down: %v; want ErrTPMUnavailable naming the device", err)
		}
	}
	tp.Restart()
	for _, k := range []*tpmKey{fileKey, handleKey} {
		if err := sign(k); err != nil {
			t.Errorf("sign after swtpm came back: %v", err)
		}
	}
}

func TestTPMErrorClasses(t *testing.T) {
	// The codes as the TPM sends them, with the session/handle number
	// bits a format-1 code carries.
	for _, c := range []struct {
		rc              uint32
		retry, authFail bool
	}{
		{0x922, true, false},  // TPM_RC_RETRY
		{0x908, true, false},  // TPM_RC_YIELDED
		{0x90a, true, false},  // TPM_RC_TESTING
		{0x98e, false, true},  // TPM_RC_AUTH_FAIL, session 1
		{0x9a2, false, true},  // TPM_RC_BAD_AUTH, session 1
		{0x921, false, true},  // TPM_RC_LOCKOUT
		{0x1d5, false, false}, // TPM_RC_SIZE, parameter 1
	} {
		err := tpm2.TPMRC(c.rc)
		if tpmRetryable(err) != c.retry || tpmAuthFailure(err) != c.authFail {
			t.Errorf("0x%03x: retry %v, auth failure %v", c.rc, tpmRetryable(err), tpmAuthFailure(err))
		}
	}
}

//go:build cgo && unix && !darwin

//lint:file-ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.

package holdfast

// openssl:handle: keys through the tpm2-openssl provider, in a software
// TPM (swtpm, started by internal/swtpm): persistent keys made with
// tpm2-tools sign and decrypt inside the TPM and serve TLS 1.3 and 1.2
// handshakes to openssl s_client, gnutls-cli and crypto/tls.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/swtpm"
	"github.com/holdfast-tls/holdfast/signer"
)

// tpm2ProviderPath is where Debian's tpm2-openssl package puts the
// provider.
const tpm2ProviderPath = "/usr/lib/x86_64-linux-gnu/ossl-modules/tpm2.so"

// tpmPersistentKey makes a key under a fresh owner primary with tpm2-tools
// and makes it persistent at handle. alg is a tpm2_create -G value with no
// fixed scheme ("ecc256", "rsa2048"), so that the key signs with whatever
// hash and padding each call asks for.
func tpmPersistentKey(t *testing.T, tpm *swtpm.TPM, alg, handle string) {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		path, err := exec.LookPath(args[0])
		if err != nil {
			t.Fatalf("%s is not installed (%v): apt-get install tpm2-tools, or run bash ci/test.sh", args[0], err)
		}
		cmd := exec.Command(path, args[1:]...)
		cmd.Env = append(tpm.Env(), "TSS2_LOG=all+NONE")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// swtpm holds only three transient objects: flush after each step.
	flush := func() {
		run("tpm2_flushcontext", "-t")
		run("tpm2_flushcontext", "-s")
	}
	run("tpm2_createprimary", "-C", "o", "-g", "sha256", "-G", "ecc", "-c", "primary.ctx")
	flush()
	run("tpm2_create", "-C", "primary.ctx", "-G", alg, "-u", "key.pub", "-r", "key.priv")
	flush()
	run("tpm2_load", "-C", "primary.ctx", "-u", "key.pub", "-r", "key.priv", "-c", "key.ctx")
	flush()
	run("tpm2_evictcontrol", "-C", "o", "-c", "key.ctx", handle)
	flush()
}

// Keys in a TPM, through OSSL_STORE's handle: URIs of the tpm2 provider:
// the public half is the TPM's, each scheme the key lists signs and
// verifies, RSA decryption runs in the TPM, and the keys serve handshakes.
func TestOpenSSLTPM2Provider(t *testing.T) {
	if _, err := os.Stat(tpm2ProviderPath); err != nil {
		t.Fatalf("the tpm2 OpenSSL provider is not installed (%v): apt-get install tpm2-openssl, or run bash ci/test.sh", err)
	}
	tpm := swtpm.Start(t)
	t.Setenv("TPM2OPENSSL_TCTI", tpm.TCTI()) // read by the provider when it loads
	t.Setenv("TSS2_LOG", "all+NONE")         // tpm2-tss would log refused schemes on stderr
	tpmPersistentKey(t, tpm, "ecc256", "0x81000010")
	tpmPersistentKey(t, tpm, "rsa2048", "0x81000011")
	const params = "#provider=tpm2&provider=default"
	peers := newOpenSSLTLSPeers(t)
	for _, k := range []struct {
		name, handle string
		suites12     []uint16
		opensslSig   string
		schemes      []uint16 // what swtpm's TPM makes
	}{
		{"TPM-P256", "0x81000010", []uint16{0xc02b}, "ECDSA", []uint16{signer.ECDSAP256SHA256}},
		{"TPM-RSA2048", "0x81000011", []uint16{0xc02f, 0x009c}, "RSA-PSS", []uint16{signer.RSAPSSRSAESHA256, signer.RSAPKCS1SHA256,
			signer.RSAPSSRSAESHA384, signer.RSAPKCS1SHA384, signer.RSAPSSRSAESHA512, signer.RSAPKCS1SHA512}},
	} {
		uri := "openssl:handle:" + k.handle + params
		key := openKey(t, uri)
		t.Run(k.name+"/key", func(t *testing.T) {
			// The public half as tpm2_readpublic exports it.
			pem := filepath.Join(t.TempDir(), "pub.pem")
			cmd := exec.Command("tpm2_readpublic", "-c", k.handle, "-f", "pem", "-o", pem)
			cmd.Env = append(tpm.Env(), "TSS2_LOG=all+NONE")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tpm2_readpublic: %v\n%s", err, out)
			}
			want := opensslCmd(t, "pkey", "-pubin", "-in", pem, "-outform", "DER")
			if got, err := x509.MarshalPKIXPublicKey(key.Public()); err != nil || !bytes.Equal(got, want) {
				t.Errorf("Public() differs from tpm2_readpublic")
			}
			got := key.(signer.SchemeLimiter).SignatureSchemes()
			if !equalSchemes(got, k.schemes) {
				t.Errorf("SignatureSchemes %#04x, want %#04x", got, k.schemes)
			}
			for _, c := range tlsSchemesFor(key.Public()) {
				if err := probeScheme(key, c); err != nil {
					t.Errorf("scheme %#04x: %v", c.scheme, err)
				}
			}
			if pub, ok := key.Public().(*rsa.PublicKey); ok {
				secret := make([]byte, 48)
				rand.Read(secret)
				ct, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
				plain, err := key.(crypto.Decrypter).Decrypt(rand.Reader, ct, nil)
				if err != nil || !bytes.Equal(plain, secret) {
					t.Errorf("decryption in the TPM: %x, %v", plain, err)
				}
				ct[7] ^= 1
				if plain, err := key.(crypto.Decrypter).Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48}); err != nil || len(plain) != 48 || bytes.Equal(plain, secret) {
					t.Errorf("session-key mode on a spoiled ciphertext: %x, %v", plain, err)
				}
			}
		})
		peers.serve(t, k.name, key, k.suites12, k.opensslSig)
	}

	// tpm2-openssl is not thread-safe; the backend gives its calls turns,
	// so that concurrent handshakes all get signatures.
	t.Run("concurrent", func(t *testing.T) {
		key := openKey(t, "openssl:handle:0x81000010"+params)
		pub := key.Public().(*ecdsa.PublicKey)
		d := sha256.Sum256([]byte("concurrent signatures in one TPM"))
		errs := make(chan error, 8)
		for range 8 {
			go func() {
				for range 25 {
					sig, err := key.Sign(nil, d[:], crypto.SHA256)
					if err == nil && !ecdsa.VerifyASN1(pub, d[:], sig) {
						err = errors.New("signature does not verify")
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		// A signer waiting for its turn gives up with its context.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		ok := key.(*opensslKey)
		ok.serial <- struct{}{} // someone else's turn
		_, err := key.SignContext(ctx, nil, d[:], crypto.SHA256)
		<-ok.serial
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for the provider") {
			t.Errorf("SignContext waiting for the provider past its deadline: %v", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct{ uri, want string }{
			// An empty persistent handle.
			{"openssl:handle:0x81000099" + params, "OSSL_STORE"},
			// Without the provider the default context has no handle: store.
			{"openssl:handle:0x81000010", "OSSL_STORE"},
		} {
			k, err := signer.Open(context.Background(), c.uri)
			if err == nil {
				k.Close()
				t.Errorf("signer.Open(%q) succeeded", c.uri)
				continue
			}
			if !strings.Contains(err.Error(), c.uri) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("signer.Open(%q): %v; want the URI and %q", c.uri, err, c.want)
			}
		}
		// A key whose TPM has gone away fails to sign with an error, not a
		// hang or a panic.
		key := openKey(t, "openssl:handle:0x81000010"+params)
		tpm.Stop()
		d := sha256.Sum256([]byte("no TPM"))
		_, err := key.Sign(nil, d[:], crypto.SHA256)
		if err == nil || errors.Is(err, signer.ErrClosed) || !strings.Contains(err.Error(), "openssl:handle:0x81000010") {
			t.Errorf("signing with the TPM stopped: %v; want an error naming the key", err)
		}
	})
}

//go:build cgo && unix && !darwin

//lint:file-ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.

package holdfast

// Memory and speed of the openssl: backend: long loops of signing,
// decryption and open/close must not grow the process, and signing through
// OpenSSL is measured beside Go's own signing of the same key.

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/holdfast-tls/holdfast/signer"
)

// vmRSS is the process's resident set in bytes, from /proc/self/status.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatalf("reading the resident set size: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", sc.Text(), err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS line in /proc/self/status")
	return 0
}

// rssGrowthLimit is how much the resident set may grow over one measured
// loop, after a warm-up that absorbs one-time growth (thread state, the Go
// runtime's own). Measured growth with nothing leaking stays within a few
// hundred KiB; a leaked EVP_PKEY_CTX (about a kilobyte with its provider
// context) per operation would grow 30,000 signatures by some 30 MiB, and
// even a leaked 72-byte ECDSA signature by over 2 MiB.
const rssGrowthLimit = 1 << 20

// Long loops of signing, decryption and open/close leave the resident set
// where it was: everything OpenSSL allocates per call, per key and per
// library context is freed.
func TestOpenSSLNoMemoryGrowth(t *testing.T) {
	dir := t.TempDir()
	ecPath := genKey(t, dir, opensslTestKeys[0])
	ec := openKey(t, "openssl:file:"+ecPath)
	rk := openKey(t, "openssl:file:"+genKey(t, dir, opensslTestKeys[1]))
	ed := openKey(t, "openssl:file:"+genKey(t, dir, opensslTestKeys[2]))
	d := sha256.Sum256([]byte("memory"))
	secret := make([]byte, 48)
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, rk.Public().(*rsa.PublicKey), secret)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), ct...)
	bad[5] ^= 1

	// One OS thread for the loop: glibc gives each thread that mallocs an
	// arena of its own, which would look like growth.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	measure := func(name string, n int, op func() error) {
		// The warm-up is as long as the measured loop: under -race the race
		// detector's shadow of the Go heap stays resident once touched, and
		// an equal warm-up lets the heap reach its full extent first.
		for range n {
			if err := op(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		runtime.GC()
		debug.FreeOSMemory()
		before := vmRSS(t)
		for range n {
			if err := op(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		runtime.GC()
		debug.FreeOSMemory()
		growth := vmRSS(t) - before
		t.Logf("%s ×%d: resident set %+d KiB", name, n, growth>>10)
		if growth > rssGrowthLimit {
			t.Errorf("%s ×%d grew the resident set by %d KiB (limit %d KiB): something is not freed", name, n, growth>>10, rssGrowthLimit>>10)
		}
	}
	measure("ECDSA P-256 sign", 30000, func() error {
		_, err := ec.Sign(nil, d[:], crypto.SHA256)
		return err
	})
	measure("Ed25519 sign", 30000, func() error {
		_, err := ed.Sign(nil, d[:], crypto.Hash(0))
		return err
	})
	measure("RSA-PSS sign", 1000, func() error {
		_, err := rk.Sign(nil, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		return err
	})
	dec := rk.(crypto.Decrypter)
	measure("RSA decrypt, good and bad", 600, func() error {
		if _, err := dec.Decrypt(nil, ct, nil); err != nil {
			return err
		}
		dec.Decrypt(nil, bad, nil) // its error text is built and dropped
		_, err := dec.Decrypt(nil, bad, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48})
		return err
	})
	measure("failed sign", 20000, func() error {
		// A wrong-length digest is refused in Go; a salt too long for the
		// key fails inside OpenSSL and fills its error queue.
		_, err := rk.Sign(nil, d[:], &rsa.PSSOptions{SaltLength: 1000, Hash: crypto.SHA256})
		if err == nil {
			t.Fatal("a PSS salt of 1000 bytes was accepted")
		}
		return nil
	})
	for _, suffix := range []string{"", "#provider=default&propq=provider=default"} {
		measure("open, sign, close "+ecPath+suffix, 1000, func() error {
			k, err := signer.Open(context.Background(), "openssl:file:"+ecPath+suffix)
			if err != nil {
				return err
			}
			_, err = k.Sign(nil, d[:], crypto.SHA256)
			k.Close()
			return err
		})
	}
}

// BenchmarkOpenSSLSign signs a TLS handshake's digest with the same key
// through OpenSSL (openssl: URI) and in process with Go's crypto (go).
func BenchmarkOpenSSLSign(b *testing.B) {
	dir := b.TempDir()
	for _, kt := range opensslTestKeys {
		path := genKey(b, dir, kt)
		key := openKey(b, "openssl:file:"+path)
		goKey := parseKeyFile(b, path)
		digest := sha256.Sum256([]byte("benchmark"))
		var tbs []byte
		var opts crypto.SignerOpts
		switch key.Public().(type) {
		case *ecdsa.PublicKey:
			tbs, opts = digest[:], crypto.SHA256
		case *rsa.PublicKey:
			tbs, opts = digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		case ed25519.PublicKey:
			tbs, opts = make([]byte, 200), crypto.Hash(0) // about a TLS 1.3 CertificateVerify input
		}
		for _, s := range []struct {
			name string
			s    crypto.Signer
		}{{"openssl", key}, {"go", goKey}} {
			b.Run(kt.name+"/"+s.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := s.s.Sign(rand.Reader, tbs, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// parseKeyFile reads a PKCS #8 PEM key into Go, for the benchmark's
// in-process side only.
func parseKeyFile(tb testing.TB, path string) crypto.Signer {
	tb.Helper()
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		tb.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		tb.Fatalf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return k.(crypto.Signer)
}

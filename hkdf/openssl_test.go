package hkdf

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// OpenSSL 3's "openssl kdf" is an independent implementation of HKDF,
// HKDF-Expand-Label (TLS13-KDF) and the TLS 1.2 PRF (TLS1-PRF). These tests
// feed both the same random inputs.

func opensslKDF(t *testing.T, n int, alg string, opts ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required (ci/test.sh installs it): %v", err)
	}
	args := []string{"kdf", "-binary", "-keylen", strconv.Itoa(n)}
	for _, o := range opts {
		args = append(args, "-kdfopt", o)
	}
	args = append(args, alg)
	out, err := exec.Command(path, args...).Output()
	if err != nil {
		t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func digestName(h Hash) string {
	if h == SHA384 {
		return "SHA384"
	}
	return "SHA256"
}

func TestHKDFMatchesOpenSSL(t *testing.T) {
	for _, h := range []Hash{SHA256, SHA384} {
		for i := 0; i < 4; i++ {
			// Key lengths straddle the hash block size, so the
			// hashed-key path is covered too.
			ikm, salt, info := randBytes(10+i*50), randBytes(1+i*45), randBytes(i*30)
			n := 1 + i*97
			want := opensslKDF(t, n, "HKDF", "digest:"+digestName(h), "hexkey:"+hex.EncodeToString(ikm),
				"hexsalt:"+hex.EncodeToString(salt), "hexinfo:"+hex.EncodeToString(info))
			prk, out := newSecret(t, h.Size()), newSecret(t, n)
			if err := Extract(h, prk, secretOf(t, salt), secretOf(t, ikm)); err != nil {
				t.Fatal(err)
			}
			if err := Expand(h, out, prk, info); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%v case %d: HKDF differs from openssl", h, i)
			}
		}
	}
}

func TestExpandLabelMatchesOpenSSL(t *testing.T) {
	for _, h := range []Hash{SHA256, SHA384} {
		for i, label := range []string{"key", "iv", "c hs traffic", "finished", "traffic upd"} {
			secret, ctx := randBytes(h.Size()), randBytes(i*16)
			n := []int{16, 12, h.Size(), 32, 100}[i]
			opts := []string{"digest:" + digestName(h), "mode:EXPAND_ONLY", "hexkey:" + hex.EncodeToString(secret),
				"hexprefix:" + hex.EncodeToString([]byte("tls13 ")), "hexlabel:" + hex.EncodeToString([]byte(label))}
			if len(ctx) > 0 {
				opts = append(opts, "hexdata:"+hex.EncodeToString(ctx))
			}
			want := opensslKDF(t, n, "TLS13-KDF", opts...)
			out := newSecret(t, n)
			if err := ExpandLabel(h, out, secretOf(t, secret), label, ctx); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%v %q: HKDF-Expand-Label differs from openssl", h, label)
			}
		}
	}
}

func TestPRFMatchesOpenSSL(t *testing.T) {
	for _, h := range []Hash{SHA256, SHA384} {
		for i, label := range []string{"master secret", "extended master secret", "key expansion", "client finished"} {
			secret, seedA, seedB := randBytes([]int{48, 48, 48, 130}[i]), randBytes(32), randBytes(32)
			n := []int{48, 48, 104 + i, 12}[i]
			seed := append(append([]byte(label), seedA...), seedB...)
			want := opensslKDF(t, n, "TLS1-PRF", "digest:"+digestName(h), "hexsecret:"+hex.EncodeToString(secret),
				"hexseed:"+hex.EncodeToString(seed))
			out := newSecret(t, n)
			if err := PRF(h, out, secretOf(t, secret), label, seedA, seedB); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%v %q: PRF differs from openssl", h, label)
			}
		}
	}
}

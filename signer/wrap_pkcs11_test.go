//go:build cgo && unix

package signer

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/mem"
)

func kekToken(t *testing.T) *softhsm.Token {
	t.Helper()
	tk := softhsm.New(t, nil)
	softhsm.AddKEK(t, tk, "kek", "a1")
	softhsm.AddKEK(t, tk, "other-kek", "a2")
	return tk
}

func randomSecret(t *testing.T, n int) *mem.Secret {
	t.Helper()
	s, err := mem.New(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Free)
	if _, err := rand.Read(s.Bytes()); err != nil {
		t.Fatal(err)
	}
	return s
}

func openWrapper(t *testing.T, uri string) KeyWrapper {
	t.Helper()
	w, err := OpenWrapper(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// The C declarations must agree with the PKCS#11 constants miekg/pkcs11
// takes from the standard headers.
func TestWrapABIConstants(t *testing.T) {
	std := map[string]uint{
		"CKO_SECRET_KEY": pkcs11.CKO_SECRET_KEY, "CKK_GENERIC_SECRET": pkcs11.CKK_GENERIC_SECRET,
		"CKA_CLASS": pkcs11.CKA_CLASS, "CKA_TOKEN": pkcs11.CKA_TOKEN, "CKA_PRIVATE": pkcs11.CKA_PRIVATE,
		"CKA_VALUE": pkcs11.CKA_VALUE, "CKA_KEY_TYPE": pkcs11.CKA_KEY_TYPE, "CKA_SENSITIVE": pkcs11.CKA_SENSITIVE,
		"CKA_EXTRACTABLE": pkcs11.CKA_EXTRACTABLE, "CKR_BUFFER_TOO_SMALL": pkcs11.CKR_BUFFER_TOO_SMALL,
	}
	if len(wrapABI) != len(std) {
		t.Fatalf("wrapABI has %d constants, the test knows %d", len(wrapABI), len(std))
	}
	for name, v := range std {
		if got, ok := wrapABI[name]; !ok || got != v {
			t.Errorf("%s is 0x%x in wrap_pkcs11.go, 0x%x in the PKCS#11 headers", name, got, v)
		}
	}
}

func TestWrapRoundTrip(t *testing.T) {
	tk := kekToken(t)
	w := openWrapper(t, tk.KEKURI("kek"))
	ctx := context.Background()
	for _, n := range []int{32, 64, 16} {
		key := randomSecret(t, n)
		wrapped, err := w.Wrap(ctx, key.Bytes())
		if err != nil {
			t.Fatalf("%d-byte key: %v", n, err)
		}
		if want := (n+7)/8*8 + 8; len(wrapped) != want {
			t.Errorf("%d-byte key wrapped to %d bytes, want %d (RFC 5649)", n, len(wrapped), want)
		}
		if bytes.Contains(wrapped, key.Bytes()[:16]) {
			t.Errorf("the wrapped key contains the key")
		}
		again, err := w.Wrap(ctx, key.Bytes())
		if err != nil || !bytes.Equal(again, wrapped) {
			t.Errorf("wrapping twice: %v; RFC 5649 is deterministic, got a different result", err)
		}
		dst := randomSecret(t, 64)
		got, err := w.Unwrap(ctx, wrapped, dst.Bytes())
		if err != nil {
			t.Fatalf("unwrapping a %d-byte key: %v", n, err)
		}
		if got != n || !key.EqualBytes(dst.Bytes()[:got]) {
			t.Fatalf("unwrapped %d bytes, not the %d-byte key wrapped", got, n)
		}
	}
	// Another opening of the same KEK (another node of a farm) unwraps
	// what this one wrapped.
	key := randomSecret(t, 32)
	wrapped, err := w.Wrap(ctx, key.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	w2 := openWrapper(t, tk.KEKURI("kek"))
	dst := randomSecret(t, 32)
	if n, err := w2.Unwrap(ctx, wrapped, dst.Bytes()); err != nil || n != 32 || !key.Equal(dst) {
		t.Fatalf("second wrapper: %d, %v", n, err)
	}
}

func TestWrapRefusals(t *testing.T) {
	tk := kekToken(t)
	ctx := context.Background()
	w := openWrapper(t, tk.KEKURI("kek"))
	other := openWrapper(t, tk.KEKURI("other-kek"))
	key := randomSecret(t, 32)
	wrapped, err := w.Wrap(ctx, key.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	dst := randomSecret(t, 32)
	t.Run("wrong-kek", func(t *testing.T) {
		_, err := other.Unwrap(ctx, wrapped, dst.Bytes())
		if !errors.Is(err, ErrUnwrap) {
			t.Fatalf("unwrapping under another KEK: %v, want ErrUnwrap", err)
		}
		for _, want := range []string{"object=other-kek", "CKR_"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		if !bytes.Equal(dst.Bytes(), make([]byte, 32)) {
			t.Error("dst was not cleared after a failed unwrap")
		}
	})
	t.Run("tampered", func(t *testing.T) {
		bad := bytes.Clone(wrapped)
		bad[len(bad)/2] ^= 1
		if _, err := w.Unwrap(ctx, bad, dst.Bytes()); !errors.Is(err, ErrUnwrap) {
			t.Fatalf("tampered wrapped key: %v, want ErrUnwrap", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, in := range [][]byte{nil, {}, make([]byte, 8), make([]byte, 41), make([]byte, 1<<17)} {
			if _, err := w.Unwrap(ctx, in, dst.Bytes()); !errors.Is(err, ErrUnwrap) {
				t.Errorf("%d bytes: %v, want ErrUnwrap", len(in), err)
			}
		}
		if _, err := w.Unwrap(ctx, wrapped, nil); err == nil {
			t.Error("unwrapping into nothing succeeded")
		}
		small := randomSecret(t, 16)
		if _, err := w.Unwrap(ctx, wrapped, small.Bytes()); err == nil || !strings.Contains(err.Error(), "does not fit") {
			t.Errorf("unwrapping a 32-byte key into 16 bytes: %v", err)
		}
		if _, err := w.Wrap(ctx, nil); err == nil {
			t.Error("wrapping nothing succeeded")
		}
		if _, err := w.Wrap(ctx, key.Bytes()[:17]); err == nil || !strings.Contains(err.Error(), "multiple of 8") {
			t.Errorf("wrapping 17 bytes: %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		w3, err := OpenWrapper(ctx, tk.KEKURI("kek"))
		if err != nil {
			t.Fatal(err)
		}
		if err := w3.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w3.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := w3.Wrap(ctx, key.Bytes()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Wrap after Close: %v", err)
		}
	})
}

func TestOpenWrapperErrors(t *testing.T) {
	tk := kekToken(t)
	softhsm.AddKey(t, tk, "signing", "EC:prime256v1", "b1")
	base := "pkcs11:token=" + tk.Label + ";object=%s;type=%s?module-path=" + tk.Module
	for _, c := range []struct{ uri, want string }{
		{strings.Replace(strings.Replace(base, "%s", "kek", 1), "%s", "private", 1) + "&pin-value=4321", "type=secret-key"},
		{"pkcs11:token=" + tk.Label + ";object=kek", "module-path is required"},
		{"pkcs11:token=" + tk.Label + "?module-path=" + tk.Module, "object= or id="},
		{strings.Replace(strings.Replace(base, "%s", "missing", 1), "%s", "secret-key", 1) + "&pin-value=1234", "no secret key matches"},
		{strings.Replace(strings.Replace(base, "%s", "signing", 1), "%s", "secret-key", 1) + "&pin-value=1234", "no secret key matches"},
		{strings.Replace(strings.Replace(base, "%s", "kek", 1), "%s", "secret-key", 1) + "&pin-value=98765", "CKR_PIN_INCORRECT"},
		{"pkcs11:token=absent;object=kek?module-path=" + tk.Module + "&pin-value=98765", "no token"},
		{"file:/etc/key.pem", "no key-wrapping backend"},
		{"kek", "not a key-encryption key URI"},
	} {
		w, err := OpenWrapper(context.Background(), c.uri)
		if err == nil {
			w.Close()
			t.Errorf("%s opened", c.uri)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.uri, err, c.want)
		}
		for _, pin := range []string{"98765", "4321"} {
			if strings.Contains(err.Error(), pin) {
				t.Errorf("error shows the PIN: %v", err)
			}
		}
	}
}

// Wrappers are used from many goroutines (a farm's nodes learn keys while
// the lease holder wraps new ones); -race checks the session hand-off.
func TestWrapConcurrent(t *testing.T) {
	tk := kekToken(t)
	w := openWrapper(t, tk.KEKURI("kek"))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			key, err := mem.New(32)
			if err != nil {
				errs <- err
				return
			}
			defer key.Free()
			dst, err := mem.New(32)
			if err != nil {
				errs <- err
				return
			}
			defer dst.Free()
			rand.Read(key.Bytes())
			for range 10 {
				wrapped, err := w.Wrap(ctx, key.Bytes())
				if err != nil {
					errs <- err
					return
				}
				if _, err := w.Unwrap(ctx, wrapped, dst.Bytes()); err != nil || !key.Equal(dst) {
					errs <- errors.Join(err, errors.New("round trip lost the key"))
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

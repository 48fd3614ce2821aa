package sigscheme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// roundTrips lists every scheme with a key that can make it and the version
// whose rules Verify applies.
var roundTrips = []struct {
	scheme Scheme
	key    string
	vers   uint16
	pss    bool // present the public key as id-RSASSA-PSS
}{
	{ECDSAWithP256AndSHA256, "p256", VersionTLS13, false},
	{ECDSAWithP384AndSHA384, "p384", VersionTLS13, false},
	{ECDSAWithP521AndSHA512, "p521", VersionTLS13, false},
	{Ed25519, "ed25519", VersionTLS13, false},
	{PSSWithSHA256, "rsa2048", VersionTLS13, false},
	{PSSWithSHA384, "rsa2048", VersionTLS13, false},
	{PSSWithSHA512, "rsa4096", VersionTLS13, false},
	{PSSPSSWithSHA256, "rsa2048", VersionTLS13, true},
	{PSSPSSWithSHA384, "rsa2048", VersionTLS13, true},
	{PSSPSSWithSHA512, "rsa4096", VersionTLS13, true},
	{PKCS1WithSHA256, "rsa2048", VersionTLS12, false},
	{PKCS1WithSHA384, "rsa2048", VersionTLS12, false},
	{PKCS1WithSHA512, "rsa4096", VersionTLS12, false},
	{PKCS1WithSHA1, "rsa2048", VersionTLS12, false},
	{ECDSAWithSHA1, "p256", VersionTLS12, false},
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, tc := range roundTrips {
		t.Run(tc.scheme.String(), func(t *testing.T) {
			signer := signerFor(t, tc.key)
			msg := randomMessage(t)
			sig, err := Sign(t.Context(), signer, tc.scheme, msg)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			var pub crypto.PublicKey = signer.Public()
			if tc.pss {
				pub = pssPub(t, tc.key)
			}
			offered := []Scheme{tc.scheme}
			if err := Verify(tc.vers, offered, pub, tc.scheme, msg, sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// The signature covers this message and no other.
			msg[len(msg)/2] ^= 1
			err = Verify(tc.vers, offered, pub, tc.scheme, msg, sig)
			if got := alert.For(err); got != alert.DecryptError {
				t.Fatalf("Verify of another message: alert %v (%v), want decrypt_error", got, err)
			}
		})
	}
}

func TestSignECDSAIsDER(t *testing.T) {
	sig, err := Sign(t.Context(), signerFor(t, "p256"), ECDSAWithP256AndSHA256, randomMessage(t))
	if err != nil {
		t.Fatal(err)
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	if err != nil || len(rest) != 0 {
		t.Fatalf("signature is not one DER SEQUENCE: %v, %d bytes left", err, len(rest))
	}
	again, err := asn1.Marshal(rs)
	if err != nil || string(again) != string(sig) {
		t.Fatalf("signature is not canonical DER")
	}
}

// corruptingSigner flips one bit of every signature, as a faulty device
// might.
type corruptingSigner struct{ crypto.Signer }

func (c corruptingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := c.Signer.Sign(rand, digest, opts)
	if err != nil {
		return nil, err
	}
	sig[len(sig)-1] ^= 0x01
	return sig, nil
}

// rawECDSASigner returns r||s, as PKCS #11 does, instead of ASN.1 DER.
type rawECDSASigner struct{ *ecdsa.PrivateKey }

func (r rawECDSASigner) Sign(rand io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	x, y, err := ecdsa.Sign(rand, r.PrivateKey, digest)
	if err != nil {
		return nil, err
	}
	size := (r.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	x.FillBytes(out[:size])
	y.FillBytes(out[size:])
	return out, nil
}

// wrongPublicSigner signs with one key and claims another.
type wrongPublicSigner struct {
	crypto.Signer
	pub crypto.PublicKey
}

func (w wrongPublicSigner) Public() crypto.PublicKey { return w.pub }

func TestSignRejectsSignatureThatDoesNotVerify(t *testing.T) {
	for _, tc := range roundTrips {
		t.Run("corrupt/"+tc.scheme.String(), func(t *testing.T) {
			sig, err := Sign(t.Context(), corruptingSigner{signerFor(t, tc.key)}, tc.scheme, randomMessage(t))
			if !errors.Is(err, ErrBadSignatureFromSigner) {
				t.Fatalf("Sign = %x, %v; want ErrBadSignatureFromSigner", sig, err)
			}
			if sig != nil {
				t.Fatal("a signature came back with the error")
			}
			if got := alert.For(err); got != alert.InternalError {
				t.Fatalf("alert %v, want internal_error", got)
			}
		})
	}
	t.Run("raw r||s", func(t *testing.T) {
		s := rawECDSASigner{signerFor(t, "p256").(*ecdsa.PrivateKey)}
		if _, err := Sign(t.Context(), s, ECDSAWithP256AndSHA256, randomMessage(t)); !errors.Is(err, ErrBadSignatureFromSigner) {
			t.Fatalf("Sign: %v; want ErrBadSignatureFromSigner", err)
		}
	})
	t.Run("Public of another key", func(t *testing.T) {
		s := wrongPublicSigner{signerFor(t, "rsa2048"), signerFor(t, "rsa4096").Public()}
		if _, err := Sign(t.Context(), s, PSSWithSHA256, randomMessage(t)); !errors.Is(err, ErrBadSignatureFromSigner) {
			t.Fatalf("Sign: %v; want ErrBadSignatureFromSigner", err)
		}
	})
}

// blockingSigner stands for a device that answers only when cancelled. Its
// work runs on a goroutine of its own, as a real backend's might, so that
// the leak check below has something to catch.
type blockingSigner struct{ crypto.Signer }

func (b blockingSigner) SignContext(ctx context.Context, _ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	done := make(chan struct{})
	go func() {
		<-ctx.Done()
		close(done)
	}()
	<-done
	return nil, ctx.Err()
}

// waitGoroutines waits for the goroutine count to fall back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, had %d before:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSignContextDeadline(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	sig, err := Sign(ctx, blockingSigner{signerFor(t, "p256")}, ECDSAWithP256AndSHA256, randomMessage(t))
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sign = %x, %v; want context.DeadlineExceeded", sig, err)
	}
	if elapsed < 40*time.Millisecond || elapsed > time.Second {
		t.Fatalf("Sign returned after %v; want about 50ms", elapsed)
	}
	cancel()
	waitGoroutines(t, before)
}

// funcSigner is a ContextSigner built from a function.
type funcSigner struct {
	crypto.Signer
	sign func(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

func (f funcSigner) SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return f.sign(ctx, digest, opts)
}

// countingSigner counts the calls that reach the key.
type countingSigner struct {
	crypto.Signer
	calls  *atomic.Int32
	during func() // runs inside Sign, before the key signs
}

func (c countingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.calls.Add(1)
	if c.during != nil {
		c.during()
	}
	return c.Signer.Sign(rand, digest, opts)
}

type ctxKey struct{}

func TestSignContext(t *testing.T) {
	key := signerFor(t, "rsa2048")
	errDevice := errors.New("device said no")

	t.Run("ctx and PSS options reach the backend", func(t *testing.T) {
		ctx := context.WithValue(t.Context(), ctxKey{}, "handshake-7")
		msg := randomMessage(t)
		s := funcSigner{key, func(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
			if ctx.Value(ctxKey{}) != "handshake-7" {
				t.Error("SignContext got another context")
			}
			pss, ok := opts.(*rsa.PSSOptions)
			if !ok || pss.SaltLength != rsa.PSSSaltLengthEqualsHash || pss.Hash != crypto.SHA384 {
				t.Errorf("opts = %#v; want PSS, salt = hash length, SHA-384", opts)
			}
			if len(digest) != crypto.SHA384.Size() {
				t.Errorf("digest of %d bytes; want a SHA-384 digest", len(digest))
			}
			return key.Sign(cryptorand.Reader, digest, opts)
		}}
		if _, err := Sign(ctx, s, PSSWithSHA384, msg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Ed25519 gets the message unhashed", func(t *testing.T) {
		ed := signerFor(t, "ed25519")
		msg := randomMessage(t)
		s := funcSigner{ed, func(_ context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
			if opts.HashFunc() != 0 || string(digest) != string(msg) {
				t.Errorf("Ed25519 got a prehashed message or hash %v", opts.HashFunc())
			}
			return ed.Sign(cryptorand.Reader, digest, opts)
		}}
		if _, err := Sign(t.Context(), s, Ed25519, msg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("backend error is wrapped", func(t *testing.T) {
		s := funcSigner{key, func(context.Context, []byte, crypto.SignerOpts) ([]byte, error) { return nil, errDevice }}
		_, err := Sign(t.Context(), s, PSSWithSHA256, randomMessage(t))
		if !errors.Is(err, errDevice) {
			t.Fatalf("Sign: %v; want the backend's error wrapped", err)
		}
		if got := alert.For(err); got != alert.InternalError {
			t.Fatalf("alert %v, want internal_error", got)
		}
	})
	t.Run("backend's own timeout error still says deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		s := funcSigner{key, func(ctx context.Context, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
			<-ctx.Done()
			return nil, errDevice
		}}
		_, err := Sign(ctx, s, PSSWithSHA256, randomMessage(t))
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errDevice) {
			t.Fatalf("Sign: %v; want both the deadline and the backend's error", err)
		}
	})
	t.Run("late signature is dropped", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		s := funcSigner{key, func(_ context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
			cancel()
			return key.Sign(cryptorand.Reader, digest, opts)
		}}
		sig, err := Sign(ctx, s, PSSWithSHA256, randomMessage(t))
		if !errors.Is(err, context.Canceled) || sig != nil {
			t.Fatalf("Sign = %x, %v; want no signature and context.Canceled", sig, err)
		}
	})
}

func TestSignPlainSignerAndContext(t *testing.T) {
	key := signerFor(t, "p384")
	t.Run("done before: the key is not asked", func(t *testing.T) {
		var calls atomic.Int32
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Sign(ctx, countingSigner{Signer: key, calls: &calls}, ECDSAWithP384AndSHA384, randomMessage(t))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Sign: %v; want context.Canceled", err)
		}
		if calls.Load() != 0 {
			t.Fatalf("the signer was called %d times", calls.Load())
		}
	})
	t.Run("done during: the result is dropped", func(t *testing.T) {
		var calls atomic.Int32
		ctx, cancel := context.WithCancel(t.Context())
		sig, err := Sign(ctx, countingSigner{Signer: key, calls: &calls, during: cancel}, ECDSAWithP384AndSHA384, randomMessage(t))
		if !errors.Is(err, context.Canceled) || sig != nil {
			t.Fatalf("Sign = %x, %v; want no signature and context.Canceled", sig, err)
		}
		if calls.Load() != 1 {
			t.Fatalf("the signer was called %d times, want 1", calls.Load())
		}
	})
}

// messageOnlySigner is a crypto.MessageSigner whose device hashes on its
// own side and refuses prehashed input.
type messageOnlySigner struct {
	crypto.Signer
	calls *atomic.Int32
}

func (m messageOnlySigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("this device signs messages, not digests")
}

func (m messageOnlySigner) SignMessage(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	m.calls.Add(1)
	return crypto.SignMessage(m.Signer, rand, msg, opts)
}

func TestSignUsesMessageSigner(t *testing.T) {
	var calls atomic.Int32
	s := messageOnlySigner{signerFor(t, "rsa2048"), &calls}
	msg := randomMessage(t)
	sig, err := Sign(t.Context(), s, PSSWithSHA512, msg)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("SignMessage called %d times, want 1", calls.Load())
	}
	if err := Verify(VersionTLS13, Supported13(), s.Public(), PSSWithSHA512, msg, sig); err != nil {
		t.Fatal(err)
	}
}

func TestSignRefusesSchemeTheKeyCannotMake(t *testing.T) {
	cases := []struct {
		key    string
		scheme Scheme
	}{
		{"rsa2048", ECDSAWithP256AndSHA256},
		{"p256", PSSWithSHA256},
		{"p256", Ed25519},
		{"ed25519", ECDSAWithP256AndSHA256},
		{"rsa2048", Ed25519},
	}
	for _, tc := range cases {
		_, err := Sign(t.Context(), signerFor(t, tc.key), tc.scheme, randomMessage(t))
		if !errors.Is(err, ErrSchemeMismatch) {
			t.Errorf("%s with %v: %v; want ErrSchemeMismatch", tc.key, tc.scheme, err)
		}
		if got := alert.For(err); got != alert.InternalError {
			t.Errorf("%s with %v: alert %v, want internal_error", tc.key, tc.scheme, got)
		}
	}
	if _, err := Sign(t.Context(), signerFor(t, "p256"), Scheme(0x0fff), nil); err == nil {
		t.Error("Sign with an unknown scheme succeeded")
	}
}

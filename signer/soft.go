package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

// softKey is a software key whose private material (an ECDSA scalar, an
// Ed25519 seed, or an RSA key's PKCS#1 encoding) lives in locked memory.
// The Go key object is rebuilt inside erase.Do for each operation.
type softKey struct {
	mu     sync.RWMutex // Close waits for operations in flight
	kind   keyKind
	curve  elliptic.Curve
	secret *mem.Secret
	public crypto.PublicKey
	name   string // where the key came from, for errors
}

type keyKind int

const (
	kindECDSA keyKind = iota + 1
	kindEd25519
	kindRSA
)

// ErrClosed is returned by operations on a closed key.
var ErrClosed = errors.New("signer: key is closed")

func (k *softKey) Public() crypto.PublicKey { return k.public }

func (k *softKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rand, digest, opts)
}

// SignContext signs in process; the context is checked before the
// operation, which cannot be interrupted once started.
func (k *softKey) SignContext(ctx context.Context, rnd io.Reader, digest []byte, opts crypto.SignerOpts) (sig []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.secret == nil {
		return nil, fmt.Errorf("%s: %w", k.name, ErrClosed)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	erase.Do(func() { sig, err = k.sign(rnd, digest, opts) })
	if err != nil {
		return nil, fmt.Errorf("signer: signing with %s: %w", k.name, err)
	}
	return sig, nil
}

func (k *softKey) sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	switch k.kind {
	case kindECDSA:
		priv, err := ecdsa.ParseRawPrivateKey(k.curve, k.secret.Bytes())
		if err != nil {
			return nil, err
		}
		return ecdsa.SignASN1(rnd, priv, digest)
	case kindEd25519:
		if opts.HashFunc() != crypto.Hash(0) {
			return nil, errors.New("Ed25519 signs messages, not digests: pass crypto.Hash(0)")
		}
		priv := ed25519.NewKeyFromSeed(k.secret.Bytes())
		defer clear(priv)
		return ed25519.Sign(priv, digest), nil
	case kindRSA:
		priv, err := x509.ParsePKCS1PrivateKey(k.secret.Bytes())
		if err != nil {
			return nil, err
		}
		defer wipeRSA(priv)
		return priv.Sign(rnd, digest, opts)
	}
	return nil, errors.New("unknown key kind")
}

// ChecksOwnSignatures reports that an RSA key's signatures need no second
// verification: they are made by crypto/rsa, which checks every
// private-key operation against the public key. ECDSA and Ed25519
// signatures are not checked by their makers, so the engines verify them.
func (k *softKey) ChecksOwnSignatures() bool { return k.kind == kindRSA }

// Decrypt performs RSA decryption (PKCS #1 v1.5 by default, OAEP with
// *rsa.OAEPOptions) for RSA keys. The plaintext is returned on the heap,
// as crypto.Decrypter requires; TLS 1.2 key transport copies it into
// locked memory and clears it.
func (k *softKey) Decrypt(rnd io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) (plain []byte, err error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.secret == nil {
		return nil, fmt.Errorf("%s: %w", k.name, ErrClosed)
	}
	if k.kind != kindRSA {
		return nil, fmt.Errorf("signer: %s is not an RSA key and cannot decrypt", k.name)
	}
	erase.Do(func() {
		var priv *rsa.PrivateKey
		if priv, err = x509.ParsePKCS1PrivateKey(k.secret.Bytes()); err != nil {
			return
		}
		defer wipeRSA(priv)
		plain, err = priv.Decrypt(rnd, ciphertext, opts)
	})
	return plain, err
}

// Close wipes the key's private material. It is safe to call more than
// once; operations in flight finish first.
func (k *softKey) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.secret.Free()
	k.secret = nil
	return nil
}

// wipeRSA clears the private big integers of an RSA key in place.
func wipeRSA(k *rsa.PrivateKey) {
	wipeInt := func(i *big.Int) {
		if i != nil {
			clear(i.Bits())
		}
	}
	wipeInt(k.D)
	for _, p := range k.Primes {
		wipeInt(p)
	}
	wipeInt(k.Precomputed.Dp)
	wipeInt(k.Precomputed.Dq)
	wipeInt(k.Precomputed.Qinv)
}

// fromParsed moves a parsed private key's material into locked memory and
// wipes what it can of the parsed object. It runs inside erase.Do.
func fromParsed(parsed any, name string) (*softKey, error) {
	switch priv := parsed.(type) {
	case *ecdsa.PrivateKey:
		raw, err := priv.Bytes()
		if err != nil {
			return nil, fmt.Errorf("signer: %s: %w", name, err)
		}
		defer clear(raw)
		s, err := secretFrom(raw)
		if err != nil {
			return nil, err
		}
		pub, err := publicECDSA(priv)
		if err != nil {
			return nil, fmt.Errorf("signer: %s: %w", name, err)
		}
		return &softKey{kind: kindECDSA, curve: priv.Curve, secret: s, public: pub, name: name}, nil
	case ed25519.PrivateKey:
		defer clear(priv)
		s, err := secretFrom(priv.Seed())
		if err != nil {
			return nil, err
		}
		pub := append(ed25519.PublicKey(nil), priv.Public().(ed25519.PublicKey)...)
		return &softKey{kind: kindEd25519, secret: s, public: pub, name: name}, nil
	case *rsa.PrivateKey:
		der := x509.MarshalPKCS1PrivateKey(priv)
		defer clear(der)
		s, err := secretFrom(der)
		if err != nil {
			return nil, err
		}
		pub := &rsa.PublicKey{N: new(big.Int).Set(priv.N), E: priv.E}
		wipeRSA(priv)
		return &softKey{kind: kindRSA, secret: s, public: pub, name: name}, nil
	}
	return nil, fmt.Errorf("signer: %s holds a %T key; supported are ECDSA, Ed25519 and RSA", name, parsed)
}

// secretFrom copies b into a new locked secret, a byte at a time: the
// built-in copy moves 16 to 64 bytes at a time through vector registers,
// which a preemption signal can spill into a signal frame on the Go heap.
func secretFrom(b []byte) (*mem.Secret, error) {
	s, err := mem.New(len(b))
	if err != nil {
		return nil, err
	}
	dst := s.Bytes()
	//lint:ignore S1001 the loop is the point: copy would go through vector registers
	for i := range b {
		dst[i] = b[i]
	}
	return s, nil
}

// GenerateECDSA makes an ephemeral ECDSA key whose scalar is drawn
// straight into locked memory, for tests and for servers that start with
// a throwaway self-signed certificate.
func GenerateECDSA(curve elliptic.Curve) (Key, error) {
	n := (curve.Params().BitSize + 7) / 8
	s, err := mem.New(n)
	if err != nil {
		return nil, err
	}
	var pub *ecdsa.PublicKey
	erase.Do(func() {
		for range 16 {
			if _, err = rand.Read(s.Bytes()); err != nil {
				return
			}
			var priv *ecdsa.PrivateKey
			if priv, err = ecdsa.ParseRawPrivateKey(curve, s.Bytes()); err == nil {
				pub, err = publicECDSA(priv)
				return
			}
		}
	})
	if pub == nil || err != nil {
		s.Free()
		return nil, fmt.Errorf("signer: generating an ECDSA %s key: %v", curve.Params().Name, err)
	}
	return &softKey{kind: kindECDSA, curve: curve, secret: s, public: pub, name: "ephemeral " + curve.Params().Name + " key"}, nil
}

// publicECDSA copies the public half of a private key into a value that
// does not keep the private key reachable.
func publicECDSA(priv *ecdsa.PrivateKey) (*ecdsa.PublicKey, error) {
	b, err := priv.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	return ecdsa.ParseUncompressedPublicKey(priv.Curve, b)
}

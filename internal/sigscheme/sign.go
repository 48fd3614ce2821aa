package sigscheme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
)

// ContextSigner is a crypto.Signer whose backend can be told to give up: an
// HSM session, a TPM, a remote signing service. SignContext is Sign with
// the handshake's context; it should return promptly once ctx is done,
// with an error that wraps ctx.Err().
//
// digest and opts are as for crypto.Signer.Sign: the message hashed with
// opts.HashFunc(), or the message itself when that is 0 (Ed25519).
// RSA-PSS requests come with *rsa.PSSOptions.
type ContextSigner interface {
	crypto.Signer
	SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// ErrBadSignatureFromSigner is wrapped by Sign's error when the signer
// returned a signature that does not verify under its own public key: a
// faulty device (an RSA-CRT fault leaks the private key to whoever sees
// the bad signature), a backend that returns ECDSA signatures as raw r||s
// instead of ASN.1 DER, or a signer whose Public does not match its key.
// The signature is discarded, never sent. The error wraps no alert reason,
// so alert.For gives internal_error.
var ErrBadSignatureFromSigner = errors.New("sigscheme: signer produced a signature that does not verify")

// ErrSchemeMismatch is wrapped by an error about a scheme that the key
// cannot make: an ECDSA scheme for an RSA key, rsa_pss_rsae_* for an
// id-RSASSA-PSS key, and, in TLS 1.3, an ECDSA scheme for another curve.
// From Sign it is our own mistake (internal_error); from Verify it also
// wraps alert.ErrIllegalParameter.
var ErrSchemeMismatch = errors.New("sigscheme: signature scheme does not fit the key")

// Sign signs message with signer under scheme and returns the signature as
// TLS carries it (ECDSA in ASN.1 DER). message is the whole content to be
// signed, not a digest; Sign hashes it with scheme.Hash(), except for
// Ed25519, which signs it as is. RSA-PSS uses a salt as long as the hash,
// as RFC 8446 §4.2.3 requires.
//
// If signer is a ContextSigner, ctx reaches its backend through
// SignContext. Otherwise the signature goes through crypto.SignMessage (so
// a crypto.MessageSigner hashes on its side), ctx is checked before the
// call and after it, and a done ctx discards the result; but a plain
// crypto.Signer cannot be interrupted, so Sign returns only when it does.
// An error caused by ctx wraps ctx.Err().
//
// Every signature is verified under signer.Public() before it is returned;
// one that does not verify gives ErrBadSignatureFromSigner. Backend errors
// are wrapped with %w and the scheme's name; no key material enters an
// error.
//
// Randomness, where the scheme needs it, comes from crypto/rand.
func Sign(ctx context.Context, signer crypto.Signer, scheme Scheme, message []byte) ([]byte, error) {
	p, ok := scheme.params()
	if !ok {
		return nil, fmt.Errorf("sigscheme: cannot sign with unknown %v", scheme)
	}
	if p.hash != 0 && !p.hash.Available() {
		return nil, fmt.Errorf("sigscheme: %v: hash %v is not linked in", scheme, p.hash)
	}
	k, err := classify(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("sigscheme: signing with %v: %w", scheme, err)
	}
	// The signer cannot tell which OID its certificate gives the key, so an
	// RSA signer may make either kind of PSS signature.
	if !(k.takes(p) || (k.kind == keyRSA && p.alg == algPSS)) {
		return nil, fmt.Errorf("sigscheme: %v with our %v key: %w", scheme, k, ErrSchemeMismatch)
	}

	var opts crypto.SignerOpts = p.hash
	if p.alg == algPSS {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: p.hash}
	}
	digest := message
	if p.hash != 0 {
		h := p.hash.New()
		h.Write(message)
		digest = h.Sum(nil)
	}

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sigscheme: %v signature not started: %w", scheme, err)
	}
	var sig []byte
	if cs, ok := signer.(ContextSigner); ok {
		sig, err = cs.SignContext(ctx, rand.Reader, digest, opts)
	} else {
		sig, err = crypto.SignMessage(signer, rand.Reader, message, opts)
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return nil, fmt.Errorf("sigscheme: %v signature: %w (%w)", scheme, err, cerr)
		}
		return nil, fmt.Errorf("sigscheme: %v signature: %w", scheme, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sigscheme: %v signature finished after the context ended: %w", scheme, err)
	}
	if !checksOwnSignatures(signer) {
		if err := verifySignature(k, p, message, digest, sig); err != nil {
			return nil, fmt.Errorf("sigscheme: %v: %w: %w", scheme, ErrBadSignatureFromSigner, err)
		}
	}
	return sig, nil
}

// SelfChecking is implemented by signers that check every signature they
// make against their public key before returning it, so that Sign need
// not verify it a second time.
type SelfChecking interface {
	ChecksOwnSignatures() bool
}

// checksOwnSignatures reports whether signer already verifies what it
// signs. Go's crypto/rsa does, for every private-key operation (it
// re-encrypts the result with the public exponent: the RSA-CRT fault
// defence), and its Public is derived from the same key; Holdfast's
// in-memory keys say so through SelfChecking. Every other signer, HSMs and
// TPMs above all, is verified by Sign.
func checksOwnSignatures(signer crypto.Signer) bool {
	switch s := signer.(type) {
	case *rsa.PrivateKey:
		return true
	case SelfChecking:
		return s.ChecksOwnSignatures()
	}
	return false
}

// verifySignature checks sig over message (digest is message hashed with
// p.hash, or message itself for Ed25519). It checks only the mathematics;
// who may use which scheme is the callers' business.
func verifySignature(k key, p params, message, digest, sig []byte) error {
	switch p.alg {
	case algECDSA:
		pub, ok := k.pub.(*ecdsa.PublicKey)
		if !ok {
			break
		}
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	case algEd25519:
		pub, ok := k.pub.(ed25519.PublicKey)
		if !ok {
			break
		}
		if !ed25519.Verify(pub, message, sig) {
			return errors.New("Ed25519 signature does not verify")
		}
		return nil
	case algPSS:
		if k.rsa == nil {
			break
		}
		return verifyRSAPSS(k.rsa, p.hash, digest, sig)
	case algPKCS1:
		if k.rsa == nil {
			break
		}
		return verifyRSAPKCS1(k.rsa, p.hash, digest, sig)
	}
	return fmt.Errorf("%v key cannot check a %s signature", k, p.name)
}

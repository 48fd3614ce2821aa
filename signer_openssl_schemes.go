//go:build (cgo && unix && !darwin) || windows || darwin

package holdfast

// TLS signature schemes by key type, and a probe that signs once under a
// scheme and verifies the result, for the OS key-store backends
// (signer_openssl.go, signer_windows.go, signer_darwin.go): a key in a
// device may refuse a scheme its type allows, or make it in a form TLS
// rejects, and SignatureSchemes must list only what works.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"

	"github.com/holdfast-tls/holdfast/signer"
)

// tlsSchemeCase is one TLS signature scheme: its code point, its hash
// (0 for Ed25519) and whether it is RSA-PSS.
type tlsSchemeCase struct {
	scheme uint16
	hash   crypto.Hash
	pss    bool
}

// opts are the crypto.SignerOpts that make the scheme's signature.
func (c tlsSchemeCase) opts() crypto.SignerOpts {
	if c.pss {
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: c.hash}
	}
	return c.hash
}

// tlsSchemesFor lists the schemes a public key's type allows, in the
// order a server prefers them. RSA-PSS needs room for two hashes and two
// bytes in the modulus (RFC 8017 §9.1.1), which small keys lack for the
// larger hashes. RSA keys with the RSASSA-PSS OID never get here: Go does
// not parse them.
func tlsSchemesFor(pub crypto.PublicKey) []tlsSchemeCase {
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve.Params().Name {
		case "P-256":
			return []tlsSchemeCase{{signer.ECDSAP256SHA256, crypto.SHA256, false}}
		case "P-384":
			return []tlsSchemeCase{{signer.ECDSAP384SHA384, crypto.SHA384, false}}
		case "P-521":
			return []tlsSchemeCase{{signer.ECDSAP521SHA512, crypto.SHA512, false}}
		}
	case ed25519.PublicKey:
		return []tlsSchemeCase{{signer.Ed25519, 0, false}}
	case *rsa.PublicKey:
		var list []tlsSchemeCase
		emLen := (pub.N.BitLen() - 1 + 7) / 8
		for _, s := range []struct {
			pss, pkcs1 uint16
			h          crypto.Hash
		}{{signer.RSAPSSRSAESHA256, signer.RSAPKCS1SHA256, crypto.SHA256},
			{signer.RSAPSSRSAESHA384, signer.RSAPKCS1SHA384, crypto.SHA384},
			{signer.RSAPSSRSAESHA512, signer.RSAPKCS1SHA512, crypto.SHA512}} {
			if emLen >= 2*s.h.Size()+2 {
				list = append(list, tlsSchemeCase{s.pss, s.h, true})
			}
			list = append(list, tlsSchemeCase{s.pkcs1, s.h, false})
		}
		return list
	}
	return nil
}

// probeMessage is what a probe signs.
var probeMessage = []byte("holdfast: which signatures can this key make?")

// probeScheme signs probeMessage under c and verifies the signature in Go
// with the strictness TLS applies (a PSS salt exactly as long as the hash).
func probeScheme(s crypto.Signer, c tlsSchemeCase) error {
	tbs := probeMessage
	if c.hash != 0 {
		h := c.hash.New()
		h.Write(tbs)
		tbs = h.Sum(nil)
	}
	sig, err := s.Sign(nil, tbs, c.opts())
	if err != nil {
		return err
	}
	switch pub := s.Public().(type) {
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(pub, tbs, sig) {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(pub, tbs, sig) {
			return nil
		}
	case *rsa.PublicKey:
		if c.pss {
			return rsa.VerifyPSS(pub, c.hash, tbs, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(pub, c.hash, tbs, sig)
	default:
		return fmt.Errorf("%T keys are not supported", pub)
	}
	return errors.New("signature does not verify")
}

// nilOpts reports signer options that are missing or a nil pointer, whose
// HashFunc would panic.
func nilOpts(opts crypto.SignerOpts) bool {
	switch o := opts.(type) {
	case nil:
		return true
	case *rsa.PSSOptions:
		return o == nil
	case *ed25519.Options:
		return o == nil
	}
	return false
}

// pkcs1DecryptPlan reads the options of an RSA PKCS #1 v1.5 decryption
// for the OS key-store backends: the session key length (0 for a plain
// decryption, where a bad ciphertext is an error) and, when it is set, the
// random bytes to return instead of a bad ciphertext's plaintext, as
// crypto/rsa does for TLS 1.2 key transport. blockSize is the RSA modulus
// size in bytes. The caller clears fallback when done.
func pkcs1DecryptPlan(uri string, blockSize int, rnd io.Reader, opts crypto.DecrypterOpts) (sessionLen int, fallback []byte, err error) {
	switch o := opts.(type) {
	case nil:
	//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
	case *rsa.PKCS1v15DecryptOptions:
		if o != nil {
			sessionLen = o.SessionKeyLen
		}
	default:
		return 0, nil, fmt.Errorf("signer: %s: decryption options %T are not supported (only PKCS #1 v1.5)", uri, opts)
	}
	if sessionLen < 0 || sessionLen > blockSize-11 {
		return 0, nil, fmt.Errorf("signer: %s: session key length %d does not fit a %d-byte RSA block", uri, sessionLen, blockSize)
	}
	if sessionLen == 0 {
		return 0, nil, nil
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	fallback = make([]byte, sessionLen)
	if _, err := io.ReadFull(rnd, fallback); err != nil {
		return 0, nil, fmt.Errorf("signer: %s: reading randomness: %w", uri, err)
	}
	return sessionLen, fallback, nil
}

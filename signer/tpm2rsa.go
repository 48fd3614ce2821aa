package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-tpm/tpm2"
)

// RSA in a TPM. TLS 1.3 needs RSA-PSS with a salt as long as the hash;
// many TPMs sign PSS only with the longest salt the key allows, which a
// TLS 1.3 peer rejects. When the key permits the raw private operation
// (TPM2_RSA_Decrypt with TPM_ALG_NULL: a decrypting, unrestricted key
// without a fixed scheme), Holdfast encodes PSS itself and has the TPM
// apply the private key to the encoded block. Each way's signature is
// verified before it is returned.

// tpmDigestInfo holds the DER DigestInfo prefixes of RFC 8017 §9.2 note 1.
var tpmDigestInfo = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

var tpmProbeHashes = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

// probe finds, by signing a test digest each way and verifying the
// result, what the key can do, and so which TLS schemes it offers. A
// failed authorization ends the probe (and the open) at once: the TPM
// counts it towards its dictionary-attack lockout.
func (k *tpmKey) probe(ctx context.Context) error {
	attrs := k.area.ObjectAttributes
	switch pub := k.public.(type) {
	case *ecdsa.PublicKey:
		if !attrs.SignEncrypt {
			return fmt.Errorf("signer: %s: the key may not sign", k.uri)
		}
		h, scheme := crypto.SHA256, ECDSAP256SHA256
		switch pub.Curve.Params().BitSize {
		case 256:
		case 384:
			h, scheme = crypto.SHA384, ECDSAP384SHA384
		default:
			return fmt.Errorf("signer: %s: curve %s is not supported (P-256 and P-384 are)", k.uri, pub.Curve.Params().Name)
		}
		// One signature now: a wrong auth value or an unusable key shows
		// at open, not in the first handshake.
		d := h.New()
		d.Write([]byte("holdfast tpm2 probe"))
		if _, err := k.SignContext(ctx, nil, d.Sum(nil), h); err != nil {
			return err
		}
		k.schemes = []uint16{scheme}
		return nil
	case *rsa.PublicKey:
		rp, err := k.area.Parameters.RSADetail()
		if err != nil {
			return fmt.Errorf("signer: %s: %w", k.uri, err)
		}
		fixed := rp.Scheme.Scheme
		k.pkcs1Native = map[crypto.Hash]bool{}
		k.pssNative = map[crypto.Hash]bool{}
		k.rawRSA = attrs.Decrypt && fixed == tpm2.TPMAlgNull
		k.rsaes = attrs.Decrypt && (fixed == tpm2.TPMAlgNull || fixed == tpm2.TPMAlgRSAES)
		canPKCS1 := attrs.SignEncrypt && (fixed == tpm2.TPMAlgNull || fixed == tpm2.TPMAlgRSASSA)
		canPSS := attrs.SignEncrypt && (fixed == tpm2.TPMAlgNull || fixed == tpm2.TPMAlgRSAPSS)
		var firstErr error // for the message if nothing works
		note := func(err error) {
			if firstErr == nil {
				firstErr = err
			}
		}
		if k.rawRSA {
			d := crypto.SHA256.New()
			d.Write([]byte("holdfast tpm2 probe"))
			if _, err := k.rawSign(ctx, pub, d.Sum(nil), crypto.SHA256, 32, nil); err != nil {
				if tpmAuthFailure(err) {
					return err
				}
				note(err)
				k.rawRSA = false
			}
		}
		for _, h := range tpmProbeHashes {
			d := h.New()
			d.Write([]byte("holdfast tpm2 probe"))
			digest := d.Sum(nil)
			if canPKCS1 {
				sig, err := k.tpmSign(ctx, digest, tpm2.TPMAlgRSASSA, tpmHashAlg(h))
				if tpmAuthFailure(err) {
					return err
				}
				note(err)
				if err == nil {
					if s, e := sig.Signature.RSASSA(); e == nil {
						k.pkcs1Native[h] = rsa.VerifyPKCS1v15(pub, h, digest, tpmLeftPad(s.Sig.Buffer, pub.Size())) == nil
					}
				}
			}
			if canPSS {
				sig, err := k.tpmSign(ctx, digest, tpm2.TPMAlgRSAPSS, tpmHashAlg(h))
				if tpmAuthFailure(err) {
					return err
				}
				note(err)
				if err == nil {
					if s, e := sig.Signature.RSAPSS(); e == nil {
						// A TPM that uses the maximum salt fails this
						// check; the raw path then makes PSS instead.
						k.pssNative[h] = rsa.VerifyPSS(pub, h, digest, tpmLeftPad(s.Sig.Buffer, pub.Size()), &rsa.PSSOptions{SaltLength: h.Size()}) == nil
					}
				}
			}
		}
		pkcs1 := map[crypto.Hash]uint16{crypto.SHA256: RSAPKCS1SHA256, crypto.SHA384: RSAPKCS1SHA384, crypto.SHA512: RSAPKCS1SHA512}
		pss := map[crypto.Hash]uint16{crypto.SHA256: RSAPSSRSAESHA256, crypto.SHA384: RSAPSSRSAESHA384, crypto.SHA512: RSAPSSRSAESHA512}
		for _, h := range tpmProbeHashes {
			// PSS needs room for the hash, an equal salt and 2 bytes.
			if (k.pssNative[h] || k.rawRSA) && (pub.N.BitLen()+6)/8 >= 2*h.Size()+2 {
				k.schemes = append(k.schemes, pss[h])
			}
		}
		for _, h := range tpmProbeHashes {
			if k.pkcs1Native[h] || k.rawRSA {
				k.schemes = append(k.schemes, pkcs1[h])
			}
		}
		if len(k.schemes) == 0 && !k.rsaes {
			return fmt.Errorf("signer: %s: the TPM makes no usable RSA signature with this key and it may not decrypt (first failure: %w)", k.uri, firstErr)
		}
		return nil
	}
	return fmt.Errorf("signer: %s: unsupported key type %T", k.uri, k.public)
}

func (k *tpmKey) signPKCS1(ctx context.Context, pub *rsa.PublicKey, digest []byte, h crypto.Hash) ([]byte, error) {
	var sig []byte
	switch {
	case k.pkcs1Native[h]:
		s, err := k.tpmSign(ctx, digest, tpm2.TPMAlgRSASSA, tpmHashAlg(h))
		if err != nil {
			return nil, err
		}
		r, err := s.Signature.RSASSA()
		if err != nil {
			return nil, fmt.Errorf("signer: %s: TPM2_Sign answered %v, not RSASSA", k.uri, s.SigAlg)
		}
		sig = r.Sig.Buffer
	case k.rawRSA:
		prefix := tpmDigestInfo[h]
		size := pub.Size()
		if prefix == nil || size < len(prefix)+len(digest)+11 {
			return nil, fmt.Errorf("signer: %s: RSA PKCS #1 v1.5 with %v is not possible with this key", k.uri, h)
		}
		// EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || DigestInfo || H
		em := make([]byte, size)
		em[1] = 1
		tail := size - len(prefix) - len(digest)
		for i := 2; i < tail-1; i++ {
			em[i] = 0xff
		}
		copy(em[tail:], prefix)
		copy(em[tail+len(prefix):], digest)
		var err error
		if sig, err = k.rsaDecrypt(ctx, em, tpm2.TPMAlgNull); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("signer: %s: the TPM cannot make RSA PKCS #1 v1.5 signatures with %v with this key", k.uri, h)
	}
	sig = tpmLeftPad(sig, pub.Size())
	if rsa.VerifyPKCS1v15(pub, h, digest, sig) != nil {
		return nil, fmt.Errorf("signer: %s: the TPM's RSA PKCS #1 v1.5 signature does not verify; not used", k.uri)
	}
	return sig, nil
}

func (k *tpmKey) signPSS(ctx context.Context, rnd io.Reader, pub *rsa.PublicKey, digest []byte, h crypto.Hash, saltLen int) ([]byte, error) {
	if saltLen == rsa.PSSSaltLengthEqualsHash || saltLen == rsa.PSSSaltLengthAuto {
		saltLen = h.Size()
	}
	if saltLen == h.Size() && k.pssNative[h] {
		s, err := k.tpmSign(ctx, digest, tpm2.TPMAlgRSAPSS, tpmHashAlg(h))
		if err != nil {
			return nil, err
		}
		r, err := s.Signature.RSAPSS()
		if err != nil {
			return nil, fmt.Errorf("signer: %s: TPM2_Sign answered %v, not RSAPSS", k.uri, s.SigAlg)
		}
		sig := tpmLeftPad(r.Sig.Buffer, pub.Size())
		if rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: saltLen}) != nil {
			return nil, fmt.Errorf("signer: %s: the TPM's RSA-PSS signature does not verify with a %d-byte salt; not used", k.uri, saltLen)
		}
		return sig, nil
	}
	if !k.rawRSA {
		return nil, fmt.Errorf("signer: %s: the TPM cannot make RSA-PSS signatures with %v and a %d-byte salt with this key", k.uri, h, saltLen)
	}
	return k.rawSign(ctx, pub, digest, h, saltLen, rnd)
}

// rawSign makes an RSA-PSS signature: EMSA-PSS encoding here, the private
// operation in the TPM, the result verified.
func (k *tpmKey) rawSign(ctx context.Context, pub *rsa.PublicKey, digest []byte, h crypto.Hash, saltLen int, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	em, err := tpmEncodePSS(rnd, digest, h, saltLen, pub.N.BitLen()-1)
	if err != nil {
		return nil, fmt.Errorf("signer: %s: %w", k.uri, err)
	}
	sig, err := k.rsaDecrypt(ctx, tpmLeftPad(em, pub.Size()), tpm2.TPMAlgNull)
	if err != nil {
		return nil, err
	}
	sig = tpmLeftPad(sig, pub.Size())
	if rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: saltLen}) != nil {
		return nil, fmt.Errorf("signer: %s: the RSA-PSS signature made through the TPM's raw RSA operation does not verify; not used", k.uri)
	}
	return sig, nil
}

// tpmEncodePSS is EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with MGF1 over the
// same hash, for a modulus of emBits+1 bits.
func tpmEncodePSS(rnd io.Reader, mHash []byte, h crypto.Hash, sLen, emBits int) ([]byte, error) {
	hLen := h.Size()
	emLen := (emBits + 7) / 8
	if len(mHash) != hLen || sLen < 0 || emLen < hLen+sLen+2 {
		return nil, errors.New("RSA-PSS: key too short for this hash and salt")
	}
	salt := make([]byte, sLen)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return nil, err
	}
	// H = Hash(0x00 * 8 || mHash || salt)
	hh := h.New()
	hh.Write(make([]byte, 8))
	hh.Write(mHash)
	hh.Write(salt)
	H := hh.Sum(nil)
	// DB = PS (zeros) || 0x01 || salt, masked with MGF1(H).
	em := make([]byte, emLen)
	db := em[:emLen-hLen-1]
	db[len(db)-sLen-1] = 1
	copy(db[len(db)-sLen:], salt)
	tpmMGF1XOR(db, h, H)
	// Clear the bits above emBits so that EM < n.
	db[0] &= 0xff >> (8*emLen - emBits)
	copy(em[emLen-hLen-1:], H)
	em[emLen-1] = 0xbc
	return em, nil
}

// tpmMGF1XOR xors out with MGF1(seed) (RFC 8017 §B.2.1).
func tpmMGF1XOR(out []byte, h crypto.Hash, seed []byte) {
	var counter [4]byte
	for done := 0; done < len(out); {
		d := h.New()
		d.Write(seed)
		d.Write(counter[:])
		for _, b := range d.Sum(nil) {
			if done == len(out) {
				break
			}
			out[done] ^= b
			done++
		}
		binary.BigEndian.PutUint32(counter[:], binary.BigEndian.Uint32(counter[:])+1)
	}
}

// tpmLeftPad returns b left-padded with zeros to n bytes (a TPM may drop
// leading zero bytes of a result).
func tpmLeftPad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}

// Decrypt performs RSA PKCS #1 v1.5 decryption in the TPM, for TLS 1.2
// RSA key transport, with both the ciphertext and the plaintext encrypted
// on the bus. When the key allows the raw operation the padding is checked
// here in constant time and, with PKCS1v15DecryptOptions.SessionKeyLen
// set, a bad padding yields random bytes without an error, as crypto/rsa
// does (the Bleichenbacher countermeasure); otherwise the TPM checks the
// padding and its error is returned.
func (k *tpmKey) Decrypt(rnd io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, fmt.Errorf("%s: %w", k.uri, ErrClosed)
	}
	pub, ok := k.public.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signer: %s is not an RSA key and cannot decrypt", k.uri)
	}
	sessionKeyLen := 0
	switch o := opts.(type) {
	case nil:
	//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
	case *rsa.PKCS1v15DecryptOptions:
		sessionKeyLen = o.SessionKeyLen
	default:
		return nil, fmt.Errorf("signer: %s: only RSA PKCS #1 v1.5 decryption is supported, not %T", k.uri, opts)
	}
	if len(ciphertext) != pub.Size() {
		return nil, fmt.Errorf("signer: %s: ciphertext is %d bytes, want %d", k.uri, len(ciphertext), pub.Size())
	}
	if !k.rawRSA {
		if !k.rsaes {
			return nil, fmt.Errorf("signer: %s: the key may not decrypt", k.uri)
		}
		return k.rsaDecrypt(context.Background(), ciphertext, tpm2.TPMAlgRSAES)
	}
	em, err := k.rsaDecrypt(context.Background(), ciphertext, tpm2.TPMAlgNull)
	if err != nil {
		return nil, err
	}
	em = tpmLeftPad(em, pub.Size())
	defer clear(em)
	valid, start := tpmUnpadPKCS1(em)
	if sessionKeyLen > 0 {
		if rnd == nil {
			rnd = rand.Reader
		}
		key := make([]byte, sessionKeyLen)
		if _, err := io.ReadFull(rnd, key); err != nil {
			return nil, err
		}
		if sessionKeyLen <= len(em) {
			valid &= subtle.ConstantTimeEq(int32(len(em)-start), int32(sessionKeyLen))
			subtle.ConstantTimeCopy(valid, key, em[len(em)-sessionKeyLen:])
		}
		return key, nil
	}
	if valid == 0 {
		return nil, fmt.Errorf("signer: %s: RSA decryption error", k.uri)
	}
	return append([]byte(nil), em[start:]...), nil
}

// tpmUnpadPKCS1 checks EME-PKCS1-v1_5 padding (RFC 8017 §7.2.2:
// 0x00 || 0x02 || at least 8 non-zero bytes || 0x00 || M) without
// branching on the contents, and returns 1 and the offset of M when it
// is good.
func tpmUnpadPKCS1(em []byte) (valid, start int) {
	if len(em) < 11 {
		return 0, 0
	}
	ok := subtle.ConstantTimeByteEq(em[0], 0) & subtle.ConstantTimeByteEq(em[1], 2)
	searching, zeroAt := 1, 0
	for i := 2; i < len(em); i++ {
		isZero := subtle.ConstantTimeByteEq(em[i], 0)
		hit := searching & isZero
		zeroAt = subtle.ConstantTimeSelect(hit, i, zeroAt)
		searching &^= isZero
	}
	// The separator must exist and follow at least 8 padding bytes.
	ok &= 1 - searching
	ok &= subtle.ConstantTimeLessOrEq(10, zeroAt)
	return ok, zeroAt + 1
}

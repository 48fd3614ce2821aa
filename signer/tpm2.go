package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"slices"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/holdfast-tls/holdfast/mem"
)

func init() { Register("tpm2", openTPM) }

// tpmKey is a key inside a TPM 2.0: a persistent object, or one loaded
// from a TSS2 key file under its parent. The process holds its public
// half, its (parent-encrypted) key-file blobs and its auth value in locked
// memory; every private operation runs in the TPM.
type tpmKey struct {
	dev    *tpmDevice
	uri    string // for errors; pin-value redacted
	handle tpm2.TPMHandle
	file   *TSS2Key
	pub    tpm2.TPM2BPublic // the public area as loaded
	area   tpm2.TPMTPublic
	name   tpm2.TPM2BName
	public crypto.PublicKey
	auth   *mem.Secret // nil for an empty auth value

	parentID int // template that parents a file key under the owner hierarchy; -1 until found

	// What the key can do, found when it is opened (see probe).
	rawRSA      bool                 // RSA_Decrypt with TPM_ALG_NULL: a raw private operation
	rsaes       bool                 // RSA_Decrypt with TPM_ALG_RSAES
	pkcs1Native map[crypto.Hash]bool // TPM2_Sign with RSASSA
	pssNative   map[crypto.Hash]bool // TPM2_Sign with RSAPSS, salt = hash length
	schemes     []uint16

	mu     sync.RWMutex // Close waits for operations in flight
	closed bool
}

// openTPM opens a "tpm2:" URI (see TPMURI for the grammar).
func openTPM(ctx context.Context, raw string) (Key, error) {
	u, err := ParseTPMURI(raw)
	if err != nil {
		return nil, err
	}
	defer clear(u.pin)
	k := &tpmKey{uri: u.String(), parentID: -1, handle: tpm2.TPMHandle(u.Handle)}
	if u.File != "" {
		b, err := os.ReadFile(u.File)
		if err != nil {
			return nil, fmt.Errorf("signer: %s: %w", k.uri, err)
		}
		if k.file, err = ParseTSS2PEM(b); err != nil {
			return nil, fmt.Errorf("signer: %s: %w", k.uri, err)
		}
		if err := k.checkFile(); err != nil {
			return nil, fmt.Errorf("signer: %s: %w", k.uri, err)
		}
	}
	auth, err := u.readAuth()
	if err != nil {
		return nil, fmt.Errorf("signer: %s: %w", k.uri, err)
	}
	if len(auth) > 0 {
		k.auth, err = secretFrom(auth)
	}
	clear(auth)
	if err != nil {
		return nil, err
	}
	k.dev = tpmAcquireDevice(u.Device)
	if err := k.open(ctx); err != nil {
		k.Close()
		return nil, err
	}
	return k, nil
}

// checkFile accepts loadable keys without policies, and parses the public
// area (go-tpm's decoder is guarded: a bad file must not panic us).
func (k *tpmKey) checkFile() error {
	f := k.file
	if !f.Type.Equal(OIDTSS2LoadableKey) {
		return fmt.Errorf("key file type %v is not a loadable key (%v); importable and sealed files are not supported", f.Type, OIDTSS2LoadableKey)
	}
	if len(f.Policy) > 0 || len(f.AuthPolicy) > 0 {
		return errors.New("the key file carries a policy; policy-bound keys are not supported")
	}
	pub, err := tpmUnmarshalPublic(f.Public)
	if err != nil {
		return fmt.Errorf("key file pubkey: %w", err)
	}
	k.pub = *pub
	return nil
}

// tpmUnmarshalPublic decodes a TPM2B_PUBLIC, turning any panic inside the
// decoder into an error.
func tpmUnmarshalPublic(b []byte) (pub *tpm2.TPM2BPublic, err error) {
	defer func() {
		if r := recover(); r != nil {
			pub, err = nil, fmt.Errorf("malformed TPM2B_PUBLIC: %v", r)
		}
	}()
	pub, err = tpm2.Unmarshal[tpm2.TPM2BPublic](b)
	if err != nil {
		return nil, err
	}
	if _, err := pub.Contents(); err != nil {
		return nil, err
	}
	return pub, nil
}

// open reads the public area, then finds what the key can sign (probe).
func (k *tpmKey) open(ctx context.Context) error {
	if k.file == nil {
		err := k.dev.do(ctx, func(t transport.TPM) error {
			rp, err := tpm2.ReadPublic{ObjectHandle: k.handle}.Execute(t)
			if err != nil {
				return err
			}
			k.pub, k.name = rp.OutPublic, rp.Name
			return nil
		})
		if err != nil {
			return k.errorf("TPM2_ReadPublic", err)
		}
	}
	area, err := k.pub.Contents()
	if err != nil {
		return fmt.Errorf("signer: %s: public area: %w", k.uri, err)
	}
	k.area = *area
	if k.file != nil {
		name, err := tpm2.ObjectName(area)
		if err != nil {
			return fmt.Errorf("signer: %s: %w", k.uri, err)
		}
		k.name = *name
	}
	if !area.ObjectAttributes.SignEncrypt && !area.ObjectAttributes.Decrypt {
		return fmt.Errorf("signer: %s: the key may neither sign nor decrypt", k.uri)
	}
	if area.ObjectAttributes.Restricted {
		return fmt.Errorf("signer: %s: the key is restricted (it signs only TPM-made digests); TLS needs an unrestricted key", k.uri)
	}
	if k.public, err = tpm2.Pub(*area); err != nil {
		return fmt.Errorf("signer: %s: public key: %w", k.uri, err)
	}
	return k.probe(ctx)
}

// object returns the key's handle, loading a file key (and its parent)
// if needed. It runs with the TPM held.
func (k *tpmKey) object(t transport.TPM) (tpm2.NamedHandle, error) {
	if k.file == nil {
		return tpm2.NamedHandle{Handle: k.handle, Name: k.name}, nil
	}
	if l := k.dev.loaded[k]; l != nil {
		return tpm2.NamedHandle{Handle: l.handle, Name: l.name}, nil
	}
	load := func(p *tpmParent) (*tpm2.LoadResponse, error) {
		return tpm2.Load{
			ParentHandle: tpm2.AuthHandle{Handle: p.handle, Name: p.name, Auth: tpm2.PasswordAuth(nil)},
			InPrivate:    tpm2.TPM2BPrivate{Buffer: k.file.Private[2:]},
			InPublic:     k.pub,
		}.Execute(t)
	}
	var rsp *tpm2.LoadResponse
	switch parent := k.file.Parent; {
	case parent >= 0x81000000 && parent <= 0x81ffffff:
		p, err := k.dev.persistent(t, parent)
		if err != nil {
			return tpm2.NamedHandle{}, err
		}
		if rsp, err = load(p); err != nil {
			return tpm2.NamedHandle{}, fmt.Errorf("TPM2_Load under 0x%08x: %w", parent, err)
		}
	case parent == uint32(tpm2.TPMRHOwner):
		ecc := []int{tpmTemplateECC, tpmTemplateECCZero, tpmTemplateECCTools}
		rsa := []int{tpmTemplateRSA, tpmTemplateRSAZero, tpmTemplateRSATools}
		order := append(ecc, rsa...)
		if k.file.RSAParent {
			order = append(rsa, ecc...)
		}
		if k.parentID >= 0 {
			order = []int{k.parentID}
		}
		var err error
		for _, id := range order {
			var p *tpmParent
			if p, err = k.dev.primary(t, uint32(id)); err != nil {
				return tpm2.NamedHandle{}, err
			}
			if rsp, err = load(p); err == nil {
				k.parentID = id
				break
			}
			if !errors.Is(err, tpm2.TPMRCIntegrity) {
				return tpm2.NamedHandle{}, fmt.Errorf("TPM2_Load: %w", err)
			}
			// Not this parent. Keep the ECC one (it salts sessions); free
			// the slot of any other.
			if id != tpmTemplateECC {
				tpmFlush(t, p.handle)
				delete(k.dev.parents, uint32(id))
			}
		}
		if err != nil {
			return tpm2.NamedHandle{}, fmt.Errorf("TPM2_Load: no standard storage key of this TPM is the key's parent: %w", err)
		}
	default:
		return tpm2.NamedHandle{}, fmt.Errorf("parent 0x%08x is not supported (want the owner hierarchy 0x40000001 or a persistent key)", parent)
	}
	k.dev.loaded[k] = &tpmLoaded{handle: rsp.ObjectHandle, name: rsp.Name}
	return tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}, nil
}

// authBytes is a view of the auth value in locked memory. go-tpm copies it
// into the HMAC key it builds on the heap for each command.
func (k *tpmKey) authBytes() []byte {
	if k.auth == nil {
		return nil
	}
	return k.auth.Bytes()
}

// errorf makes the error for a failed TPM operation: the URI, the
// command, go-tpm's description and the TPM_RC, never the auth value.
func (k *tpmKey) errorf(command string, err error) error {
	var rc tpm2.TPMRC
	code := ""
	if errors.As(err, &rc) {
		code = fmt.Sprintf(" [TPM_RC 0x%03x]", uint32(rc))
	}
	hint := ""
	if tpmAuthFailure(err) {
		hint = " (wrong auth value for the key? not retried: the TPM counts failures towards its dictionary-attack lockout)"
	}
	return fmt.Errorf("signer: %s on %s: %s: %w%s%s", k.uri, k.dev.name, command, err, code, hint)
}

func (k *tpmKey) Public() crypto.PublicKey { return k.public }

// SignatureSchemes lists the TLS signature schemes this key can make, as
// found when it was opened (signer.SchemeLimiter).
func (k *tpmKey) SignatureSchemes() []uint16 { return slices.Clone(k.schemes) }

func (k *tpmKey) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rnd, digest, opts)
}

// SignContext signs in the TPM; the context bounds the wait for the TPM
// (which runs one command at a time) and between retries. Every signature
// is verified against the public key before it is returned.
func (k *tpmKey) SignContext(ctx context.Context, rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, fmt.Errorf("%s: %w", k.uri, ErrClosed)
	}
	h := opts.HashFunc()
	if h == 0 || !h.Available() || len(digest) != h.Size() {
		return nil, fmt.Errorf("signer: %s: want a SHA-256, SHA-384 or SHA-512 digest of the right length", k.uri)
	}
	switch pub := k.public.(type) {
	case *ecdsa.PublicKey:
		sig, err := k.signECDSA(ctx, digest, h)
		if err != nil {
			return nil, err
		}
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return nil, fmt.Errorf("signer: %s: the TPM's ECDSA signature does not verify; not used", k.uri)
		}
		return sig, nil
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return k.signPSS(ctx, rnd, pub, digest, h, pss.SaltLength)
		}
		return k.signPKCS1(ctx, pub, digest, h)
	}
	return nil, fmt.Errorf("signer: %s: unsupported key type %T", k.uri, k.public)
}

// tpmHashAlg maps a Go hash to the TPM's algorithm identifier.
func tpmHashAlg(h crypto.Hash) tpm2.TPMAlgID {
	switch h {
	case crypto.SHA256:
		return tpm2.TPMAlgSHA256
	case crypto.SHA384:
		return tpm2.TPMAlgSHA384
	case crypto.SHA512:
		return tpm2.TPMAlgSHA512
	}
	return tpm2.TPMAlgNull
}

// tpmSign runs TPM2_Sign with the given scheme, its digest encrypted on
// the way in.
func (k *tpmKey) tpmSign(ctx context.Context, digest []byte, scheme, hash tpm2.TPMAlgID) (*tpm2.TPMTSignature, error) {
	var sig *tpm2.TPMTSignature
	err := k.dev.do(ctx, func(t transport.TPM) error {
		obj, err := k.object(t)
		if err != nil {
			return err
		}
		sess, err := k.dev.session(t, k.authBytes(), false)
		if err != nil {
			return err
		}
		rsp, err := tpm2.Sign{
			KeyHandle:  tpm2.AuthHandle{Handle: obj.Handle, Name: obj.Name, Auth: sess},
			Digest:     tpm2.TPM2BDigest{Buffer: digest},
			InScheme:   tpm2.TPMTSigScheme{Scheme: scheme, Details: tpm2.NewTPMUSigScheme(scheme, &tpm2.TPMSSchemeHash{HashAlg: hash})},
			Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
		}.Execute(t)
		if err != nil {
			return err
		}
		sig = &rsp.Signature
		return nil
	})
	if err != nil {
		return nil, k.errorf("TPM2_Sign", err)
	}
	return sig, nil
}

func (k *tpmKey) signECDSA(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	sig, err := k.tpmSign(ctx, digest, tpm2.TPMAlgECDSA, tpmHashAlg(h))
	if err != nil {
		return nil, err
	}
	e, err := sig.Signature.ECDSA()
	if err != nil {
		return nil, fmt.Errorf("signer: %s: TPM2_Sign answered %v, not ECDSA", k.uri, sig.SigAlg)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(e.SignatureR.Buffer))
		b.AddASN1BigInt(new(big.Int).SetBytes(e.SignatureS.Buffer))
	})
	return b.Bytes()
}

// rsaDecrypt runs TPM2_RSA_Decrypt with the scheme given (TPM_ALG_NULL for
// the raw private operation), encrypted both ways.
func (k *tpmKey) rsaDecrypt(ctx context.Context, in []byte, scheme tpm2.TPMAlgID) ([]byte, error) {
	var out []byte
	err := k.dev.do(ctx, func(t transport.TPM) error {
		obj, err := k.object(t)
		if err != nil {
			return err
		}
		sess, err := k.dev.session(t, k.authBytes(), true)
		if err != nil {
			return err
		}
		cmd := tpm2.RSADecrypt{
			KeyHandle:  tpm2.AuthHandle{Handle: obj.Handle, Name: obj.Name, Auth: sess},
			CipherText: tpm2.TPM2BPublicKeyRSA{Buffer: in},
			InScheme:   tpm2.TPMTRSADecrypt{Scheme: tpm2.TPMAlgNull},
		}
		if scheme == tpm2.TPMAlgRSAES {
			cmd.InScheme = tpm2.TPMTRSADecrypt{Scheme: scheme, Details: tpm2.NewTPMUAsymScheme(scheme, &tpm2.TPMSEncSchemeRSAES{})}
		}
		rsp, err := cmd.Execute(t)
		if err != nil {
			return err
		}
		out = rsp.Message.Buffer
		return nil
	})
	if err != nil {
		return nil, k.errorf("TPM2_RSA_Decrypt", err)
	}
	return out, nil
}

// Close flushes the key's object from the TPM (a file key) and wipes its
// auth value. It is safe to call more than once; operations in flight
// finish first.
func (k *tpmKey) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	if k.dev != nil {
		k.dev.do(context.Background(), func(t transport.TPM) error {
			if l := k.dev.loaded[k]; l != nil {
				tpmFlush(t, l.handle)
				delete(k.dev.loaded, k)
			}
			return nil
		})
		k.dev.release()
	}
	k.auth.Free()
	k.auth = nil
	return nil
}

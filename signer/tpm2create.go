package signer

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// TPMKeyOptions describe a key for CreateTPMKey.
type TPMKeyOptions struct {
	// Device is the TPM: a device path or "swtpm://HOST:PORT"; empty means
	// /dev/tpmrm0.
	Device string
	// Algorithm is "ecdsa-p256" (the default), "ecdsa-p384", "rsa2048" or
	// "rsa3072".
	Algorithm string
	// Auth is the key's auth value (password); empty for none. The caller
	// owns and wipes it.
	Auth []byte
	// Persist, when non-zero, also makes the key persistent at this handle
	// (0x81000000 to 0x81FFFFFF) so that "tpm2:handle=..." opens it.
	Persist uint32
	// Description goes into the key file. tpm2-openssl 1.1 cannot read
	// files with a description (a field newer than it), so leave it empty
	// for keys that tools other than Holdfast must read.
	Description string
}

// CreateTPMKey makes a new key inside the TPM, under the ECC storage root
// key made from the standard template (transient; the owner hierarchy's
// auth is taken to be empty), and returns its TSS2 key file. The key's
// private half never leaves the TPM except encrypted to that parent; its
// auth value travels in a salted session with parameter encryption. The
// key may sign and decrypt, with no fixed scheme: tpm2-openssl makes keys
// the same way, and it is what lets Holdfast make RSA-PSS signatures with
// a hash-length salt on TPMs that sign PSS only with the longest one.
func CreateTPMKey(ctx context.Context, opts TPMKeyOptions) (*TSS2Key, error) {
	dev := opts.Device
	if dev == "" {
		dev = tpmDefaultDevice
	}
	if err := checkTPMDevice(dev); err != nil {
		return nil, fmt.Errorf("signer: device %s: %w", dev, err)
	}
	tmpl, err := tpmKeyTemplate(opts.Algorithm)
	if err != nil {
		return nil, err
	}
	if opts.Persist != 0 && (opts.Persist < 0x81000000 || opts.Persist > 0x81ffffff) {
		return nil, fmt.Errorf("signer: 0x%08x is not a persistent handle", opts.Persist)
	}
	d := tpmAcquireDevice(dev)
	defer d.release()
	var out *TSS2Key
	err = d.do(ctx, func(t transport.TPM) error {
		srk, err := d.primary(t, tpmTemplateECC)
		if err != nil {
			return err
		}
		sess, err := d.session(t, nil, false)
		if err != nil {
			return err
		}
		rsp, err := tpm2.Create{
			ParentHandle: tpm2.AuthHandle{Handle: srk.handle, Name: srk.name, Auth: sess},
			InSensitive:  tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{UserAuth: tpm2.TPM2BAuth{Buffer: opts.Auth}}},
			InPublic:     tpm2.New2B(tmpl),
		}.Execute(t)
		if err != nil {
			return fmt.Errorf("TPM2_Create: %w", err)
		}
		out = &TSS2Key{
			Type:        OIDTSS2LoadableKey,
			EmptyAuth:   len(opts.Auth) == 0,
			Description: opts.Description,
			Parent:      uint32(tpm2.TPMRHOwner),
			Public:      tpm2.Marshal(rsp.OutPublic),
			Private:     tpm2.Marshal(rsp.OutPrivate),
		}
		if opts.Persist == 0 {
			return nil
		}
		l, err := tpm2.Load{
			ParentHandle: tpm2.AuthHandle{Handle: srk.handle, Name: srk.name, Auth: tpm2.PasswordAuth(nil)},
			InPrivate:    rsp.OutPrivate,
			InPublic:     rsp.OutPublic,
		}.Execute(t)
		if err != nil {
			return fmt.Errorf("TPM2_Load: %w", err)
		}
		defer tpmFlush(t, l.ObjectHandle)
		_, err = tpm2.EvictControl{
			Auth:             tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
			ObjectHandle:     tpm2.NamedHandle{Handle: l.ObjectHandle, Name: l.Name},
			PersistentHandle: tpm2.TPMHandle(opts.Persist),
		}.Execute(t)
		if err != nil {
			return fmt.Errorf("TPM2_EvictControl to 0x%08x: %w", opts.Persist, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("signer: creating a TPM key on %s: %w", dev, err)
	}
	return out, nil
}

// tpmKeyTemplate is the public template of a new key: fixed to this TPM
// and parent, made inside it, authorized by its auth value, for signing
// and decryption with no fixed scheme.
func tpmKeyTemplate(alg string) (tpm2.TPMTPublic, error) {
	attrs := tpm2.TPMAObject{
		FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true,
		SignEncrypt: true, Decrypt: true,
	}
	null := tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull}
	switch alg {
	case "", "ecdsa-p256", "ecdsa-p384":
		curve := tpm2.TPMECCNistP256
		if alg == "ecdsa-p384" {
			curve = tpm2.TPMECCNistP384
		}
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				Symmetric: null,
				Scheme:    tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
				CurveID:   curve,
				KDF:       tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
		}, nil
	case "rsa2048", "rsa3072":
		bits := tpm2.TPMKeyBits(2048)
		if alg == "rsa3072" {
			bits = 3072
		}
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgRSA, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Symmetric: null,
				Scheme:    tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
				KeyBits:   bits,
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{}),
		}, nil
	}
	return tpm2.TPMTPublic{}, errors.New("signer: algorithm must be ecdsa-p256, ecdsa-p384, rsa2048 or rsa3072")
}

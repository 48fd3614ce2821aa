package signer

import (
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TSS2PEMType is the PEM block type of a TPM 2.0 key file, as written by
// tpm2-openssl, tpm2-tss-engine and tpm2_encodeobject.
const TSS2PEMType = "TSS2 PRIVATE KEY"

// Object identifiers of the key-file types (TCG arc 2.23.133.10.1).
var (
	// OIDTSS2LoadableKey marks a key that TPM2_Load takes as it is.
	OIDTSS2LoadableKey = asn1.ObjectIdentifier{2, 23, 133, 10, 1, 3}
	// OIDTSS2ImportableKey marks a key wrapped for TPM2_Import.
	OIDTSS2ImportableKey = asn1.ObjectIdentifier{2, 23, 133, 10, 1, 4}
	// OIDTSS2SealedData marks sealed data, not a key.
	OIDTSS2SealedData = asn1.ObjectIdentifier{2, 23, 133, 10, 1, 5}
)

// TSS2Policy is one policy step of a key file: the command code of a
// TPM2_Policy* command and its marshalled parameters.
type TSS2Policy struct {
	CommandCode   uint32
	CommandPolicy []byte
}

// TSS2AuthPolicy is a named alternative policy of a key file.
type TSS2AuthPolicy struct {
	Name   string
	Policy []TSS2Policy
}

// TSS2Key is a TPM 2.0 key file: the ASN.1 TPMKey structure
//
//	TPMKey ::= SEQUENCE {
//	    type        OBJECT IDENTIFIER,
//	    emptyAuth   [0] EXPLICIT BOOLEAN OPTIONAL,
//	    policy      [1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
//	    secret      [2] EXPLICIT OCTET STRING OPTIONAL,
//	    authPolicy  [3] EXPLICIT SEQUENCE OF TPMAuthPolicy OPTIONAL,
//	    description [4] EXPLICIT UTF8String OPTIONAL,
//	    rsaParent   [5] EXPLICIT BOOLEAN OPTIONAL,
//	    parent      INTEGER,
//	    pubkey      OCTET STRING,
//	    privkey     OCTET STRING }
//
// Public and Private hold the TPM2B_PUBLIC and TPM2B_PRIVATE structures
// with their size prefixes, as in the file. The private part is the
// key's sensitive area encrypted by its parent inside the TPM: it is of
// no use without that TPM, and is not a secret of this process.
type TSS2Key struct {
	Type        asn1.ObjectIdentifier
	EmptyAuth   bool
	Policy      []TSS2Policy
	Secret      []byte
	AuthPolicy  []TSS2AuthPolicy
	Description string
	RSAParent   bool
	Parent      uint32
	Public      []byte
	Private     []byte
}

// Context-specific, constructed tags of the optional fields.
var (
	tssTagEmptyAuth   = cbasn1.Tag(0).ContextSpecific().Constructed()
	tssTagPolicy      = cbasn1.Tag(1).ContextSpecific().Constructed()
	tssTagSecret      = cbasn1.Tag(2).ContextSpecific().Constructed()
	tssTagAuthPolicy  = cbasn1.Tag(3).ContextSpecific().Constructed()
	tssTagDescription = cbasn1.Tag(4).ContextSpecific().Constructed()
	tssTagRSAParent   = cbasn1.Tag(5).ContextSpecific().Constructed()
)

// ParseTSS2PEM parses a PEM file holding a "TSS2 PRIVATE KEY" block. Other
// blocks before it (a certificate, say) are skipped.
func ParseTSS2PEM(data []byte) (*TSS2Key, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no \"-----BEGIN " + TSS2PEMType + "-----\" block")
		}
		if block.Type == TSS2PEMType {
			return ParseTSS2DER(block.Bytes)
		}
	}
}

// ParseTSS2DER parses the DER (or BER booleans, which tpm2-openssl writes
// as 0x01) body of a TSS2 key file. It checks the structure, not whether a
// TPM will accept the key.
func ParseTSS2DER(der []byte) (*TSS2Key, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("TSS2 key: not a single ASN.1 SEQUENCE")
	}
	k := &TSS2Key{}
	if !seq.ReadASN1ObjectIdentifier(&k.Type) {
		return nil, errors.New("TSS2 key: bad type OID")
	}
	var err error
	if k.EmptyAuth, err = tssOptionalBool(&seq, tssTagEmptyAuth, "emptyAuth"); err != nil {
		return nil, err
	}
	if seq.PeekASN1Tag(tssTagPolicy) {
		var inner cryptobyte.String
		if !seq.ReadASN1(&inner, tssTagPolicy) {
			return nil, errors.New("TSS2 key: bad policy")
		}
		if k.Policy, err = tssParsePolicies(inner); err != nil {
			return nil, err
		}
	}
	if seq.PeekASN1Tag(tssTagSecret) {
		var inner cryptobyte.String
		var secret []byte
		if !seq.ReadASN1(&inner, tssTagSecret) || !inner.ReadASN1Bytes(&secret, cbasn1.OCTET_STRING) || !inner.Empty() {
			return nil, errors.New("TSS2 key: bad secret")
		}
		k.Secret = tssClone(secret)
	}
	if seq.PeekASN1Tag(tssTagAuthPolicy) {
		var inner, list cryptobyte.String
		if !seq.ReadASN1(&inner, tssTagAuthPolicy) || !inner.ReadASN1(&list, cbasn1.SEQUENCE) || !inner.Empty() {
			return nil, errors.New("TSS2 key: bad authPolicy")
		}
		for !list.Empty() {
			var ap cryptobyte.String
			if !list.ReadASN1(&ap, cbasn1.SEQUENCE) {
				return nil, errors.New("TSS2 key: bad authPolicy entry")
			}
			var entry TSS2AuthPolicy
			if ap.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific().Constructed()) {
				var n cryptobyte.String
				var name []byte
				if !ap.ReadASN1(&n, cbasn1.Tag(0).ContextSpecific().Constructed()) || !n.ReadASN1Bytes(&name, cbasn1.UTF8String) || !n.Empty() {
					return nil, errors.New("TSS2 key: bad authPolicy name")
				}
				entry.Name = string(name)
			}
			var p cryptobyte.String
			if !ap.ReadASN1(&p, cbasn1.Tag(1).ContextSpecific().Constructed()) || !ap.Empty() {
				return nil, errors.New("TSS2 key: bad authPolicy policy")
			}
			if entry.Policy, err = tssParsePolicies(p); err != nil {
				return nil, err
			}
			k.AuthPolicy = append(k.AuthPolicy, entry)
		}
	}
	if seq.PeekASN1Tag(tssTagDescription) {
		var inner cryptobyte.String
		var desc []byte
		if !seq.ReadASN1(&inner, tssTagDescription) || !inner.ReadASN1Bytes(&desc, cbasn1.UTF8String) || !inner.Empty() {
			return nil, errors.New("TSS2 key: bad description")
		}
		k.Description = string(desc)
	}
	if k.RSAParent, err = tssOptionalBool(&seq, tssTagRSAParent, "rsaParent"); err != nil {
		return nil, err
	}
	var parent int64
	if !seq.ReadASN1Integer(&parent) || parent < 0 || parent > 0xffffffff {
		return nil, errors.New("TSS2 key: bad parent handle")
	}
	k.Parent = uint32(parent)
	var pub, priv []byte
	if !seq.ReadASN1Bytes(&pub, cbasn1.OCTET_STRING) || !seq.ReadASN1Bytes(&priv, cbasn1.OCTET_STRING) {
		return nil, errors.New("TSS2 key: bad pubkey or privkey")
	}
	if !seq.Empty() {
		return nil, errors.New("TSS2 key: trailing fields")
	}
	if err := tssCheck2B(pub, "pubkey"); err != nil {
		return nil, err
	}
	if !k.Type.Equal(OIDTSS2ImportableKey) {
		// An importable key's privkey is a TPM2B_PRIVATE too; a loadable
		// key's must be, and a sealed blob's likewise.
		if err := tssCheck2B(priv, "privkey"); err != nil {
			return nil, err
		}
	}
	k.Public, k.Private = tssClone(pub), tssClone(priv)
	return k, nil
}

// tssClone copies b; empty becomes nil, so that parsing is canonical.
func tssClone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// tssCheck2B checks that b is a TPM2B: a big-endian 16-bit size and that
// many bytes, no more.
func tssCheck2B(b []byte, field string) error {
	if len(b) < 2 || int(b[0])<<8|int(b[1]) != len(b)-2 || len(b) == 2 {
		return fmt.Errorf("TSS2 key: %s is not a sized TPM structure", field)
	}
	return nil
}

// tssOptionalBool reads an optional [tag] EXPLICIT BOOLEAN. Any non-zero
// content is true: tpm2-openssl writes 0x01, which DER does not allow.
func tssOptionalBool(s *cryptobyte.String, tag cbasn1.Tag, field string) (bool, error) {
	if !s.PeekASN1Tag(tag) {
		return false, nil
	}
	var inner, b cryptobyte.String
	if !s.ReadASN1(&inner, tag) || !inner.ReadASN1(&b, cbasn1.BOOLEAN) || !inner.Empty() || len(b) != 1 {
		return false, fmt.Errorf("TSS2 key: bad %s", field)
	}
	return b[0] != 0, nil
}

// tssParsePolicies reads SEQUENCE OF TPMPolicy, where
// TPMPolicy ::= SEQUENCE { commandCode [0] EXPLICIT INTEGER,
// commandPolicy [1] EXPLICIT OCTET STRING }.
func tssParsePolicies(in cryptobyte.String) ([]TSS2Policy, error) {
	var list cryptobyte.String
	if !in.ReadASN1(&list, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("TSS2 key: bad policy list")
	}
	var out []TSS2Policy
	for !list.Empty() {
		var p, cc, cp cryptobyte.String
		var code int64
		var body []byte
		if !list.ReadASN1(&p, cbasn1.SEQUENCE) ||
			!p.ReadASN1(&cc, cbasn1.Tag(0).ContextSpecific().Constructed()) || !cc.ReadASN1Integer(&code) || !cc.Empty() ||
			!p.ReadASN1(&cp, cbasn1.Tag(1).ContextSpecific().Constructed()) || !cp.ReadASN1Bytes(&body, cbasn1.OCTET_STRING) || !cp.Empty() ||
			!p.Empty() || code < 0 || code > 0xffffffff {
			return nil, errors.New("TSS2 key: bad policy entry")
		}
		out = append(out, TSS2Policy{CommandCode: uint32(code), CommandPolicy: tssClone(body)})
	}
	return out, nil
}

// MarshalDER encodes the key file body in DER. emptyAuth is always
// written, true or false.
func (k *TSS2Key) MarshalDER() ([]byte, error) {
	if len(k.Type) == 0 {
		return nil, errors.New("TSS2 key: no type")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(k.Type)
		// Written even when false: tpm2-openssl reads an absent
		// emptyAuth as "no password" and would never ask for one.
		b.AddASN1(tssTagEmptyAuth, func(b *cryptobyte.Builder) { b.AddASN1Boolean(k.EmptyAuth) })
		if len(k.Policy) > 0 {
			b.AddASN1(tssTagPolicy, func(b *cryptobyte.Builder) { tssAddPolicies(b, k.Policy) })
		}
		if k.Secret != nil {
			b.AddASN1(tssTagSecret, func(b *cryptobyte.Builder) { b.AddASN1OctetString(k.Secret) })
		}
		if len(k.AuthPolicy) > 0 {
			b.AddASN1(tssTagAuthPolicy, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, ap := range k.AuthPolicy {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							if ap.Name != "" {
								b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
									b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(ap.Name)) })
								})
							}
							b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { tssAddPolicies(b, ap.Policy) })
						})
					}
				})
			})
		}
		if k.Description != "" {
			b.AddASN1(tssTagDescription, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(k.Description)) })
			})
		}
		if k.RSAParent {
			b.AddASN1(tssTagRSAParent, func(b *cryptobyte.Builder) { b.AddASN1Boolean(true) })
		}
		b.AddASN1Int64(int64(k.Parent))
		b.AddASN1OctetString(k.Public)
		b.AddASN1OctetString(k.Private)
	})
	return b.Bytes()
}

func tssAddPolicies(b *cryptobyte.Builder, ps []TSS2Policy) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, p := range ps {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(p.CommandCode)) })
				b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(p.CommandPolicy) })
			})
		}
	})
}

// MarshalPEM encodes the key file as a "TSS2 PRIVATE KEY" PEM block.
func (k *TSS2Key) MarshalPEM() ([]byte, error) {
	der, err := k.MarshalDER()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: TSS2PEMType, Bytes: der}), nil
}

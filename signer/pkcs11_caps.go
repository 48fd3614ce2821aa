//go:build cgo

package signer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/pkcs11"
)

// p11Caps is what a PKCS#11 key can do, read once at Open from the token's
// mechanism list (C_GetMechanismList, C_GetMechanismInfo) and the key's
// CKA_ALLOWED_MECHANISMS. Many tokens cannot make the RSA-PSS signatures
// TLS 1.3 requires of RSA keys; knowing it up front lets the engine pick a
// version and scheme the key can finish instead of failing mid-handshake.
type p11Caps struct {
	schemes []uint16 // TLS SignatureScheme code points, our order
	decrypt bool     // CKM_RSA_PKCS decryption, for TLS 1.2 RSA key transport
	why     string   // what was missing, for the operator
}

// readCaps asks the token which mechanisms the key may use.
func (k *p11Key) readCaps(s pkcs11.SessionHandle) (p11Caps, error) {
	c := k.mod.ctx
	list, err := c.GetMechanismList(k.slot)
	if err != nil {
		return p11Caps{}, fmt.Errorf("signer: %s: C_GetMechanismList: %w", k.uri, err)
	}
	token := map[uint]pkcs11.MechanismInfo{}
	for _, m := range list {
		info, err := c.GetMechanismInfo(k.slot, []*pkcs11.Mechanism{m})
		if err != nil {
			continue
		}
		token[m.Mechanism] = info
	}
	// CKA_ALLOWED_MECHANISMS is optional (PKCS#11 v2.40); a token that
	// does not know it, or a key without it, allows every mechanism.
	var allowed []uint
	restricted := false
	if a, err := c.GetAttributeValue(s, k.priv, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ALLOWED_MECHANISMS, nil)}); err == nil && len(a) == 1 && len(a[0].Value) > 0 {
		restricted = true
		allowed = decodeULongs(a[0].Value)
	}
	bits := 0
	if pub, ok := k.public.(*rsa.PublicKey); ok {
		bits = pub.N.BitLen()
	}
	var missing []string
	usable := func(mech uint, flag uint, name string) bool {
		info, ok := token[mech]
		switch {
		case !ok:
			missing = append(missing, name+" (not offered by the token)")
			return false
		case info.Flags&flag == 0:
			missing = append(missing, name+" (token lacks the operation)")
			return false
		case restricted && !slices.Contains(allowed, mech):
			missing = append(missing, name+" (not in the key's CKA_ALLOWED_MECHANISMS)")
			return false
		case bits > 0 && info.MaxKeySize > 0 && (uint(bits) < info.MinKeySize || uint(bits) > info.MaxKeySize):
			missing = append(missing, fmt.Sprintf("%s (key size %d outside %d..%d)", name, bits, info.MinKeySize, info.MaxKeySize))
			return false
		}
		return true
	}
	var caps p11Caps
	switch k.public.(type) {
	case *ecdsa.PublicKey:
		// CKM_ECDSA signs a digest of any length, so every ECDSA scheme
		// is possible; which one suits the curve is the engine's choice
		// (TLS 1.3 binds the curve, TLS 1.2 does not).
		if usable(pkcs11.CKM_ECDSA, pkcs11.CKF_SIGN, "CKM_ECDSA") {
			caps.schemes = append(caps.schemes, ECDSAP256SHA256, ECDSAP384SHA384, ECDSAP521SHA512)
		}
	case ed25519.PublicKey:
		if usable(ckmEdDSA, pkcs11.CKF_SIGN, "CKM_EDDSA") {
			caps.schemes = append(caps.schemes, Ed25519)
		}
	case *rsa.PublicKey:
		if usable(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.CKF_SIGN, "CKM_RSA_PKCS_PSS") {
			caps.schemes = append(caps.schemes, RSAPSSRSAESHA256, RSAPSSRSAESHA384, RSAPSSRSAESHA512,
				RSAPSSPSSSHA256, RSAPSSPSSSHA384, RSAPSSPSSSHA512)
		}
		if usable(pkcs11.CKM_RSA_PKCS, pkcs11.CKF_SIGN, "CKM_RSA_PKCS signing") {
			caps.schemes = append(caps.schemes, RSAPKCS1SHA256, RSAPKCS1SHA384, RSAPKCS1SHA512)
		}
		caps.decrypt = usable(pkcs11.CKM_RSA_PKCS, pkcs11.CKF_DECRYPT, "CKM_RSA_PKCS decryption")
	}
	caps.why = strings.Join(missing, ", ")
	return caps, nil
}

// decodeULongs reads a CK_ULONG array attribute, in the host's byte order
// and CK_ULONG width as the module returns it.
func decodeULongs(b []byte) []uint {
	const width = 8 // CK_ULONG on the 64-bit Unix targets cgo builds for
	out := make([]uint, 0, len(b)/width)
	for i := 0; i+width <= len(b); i += width {
		out = append(out, uint(binary.NativeEndian.Uint64(b[i:])))
	}
	return out
}

// SignatureSchemes lists the TLS signature schemes the token lets this key
// make (signer.SchemeLimiter); the TLS engine offers and picks only these.
func (k *p11Key) SignatureSchemes() []uint16 { return slices.Clone(k.caps.schemes) }

// Limits says, for logs and errors, which mechanisms the key lacks; empty
// when it has every one Holdfast uses.
func (k *p11Key) Limits() string { return k.caps.why }

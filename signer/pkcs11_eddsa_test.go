//go:build cgo

package signer

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/asn1"
	"slices"
	"strings"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
)

// An Ed25519 key made on SoftHSM (CKK_EC_EDWARDS) signs through
// CKM_EDDSA: the message itself, as crypto.Signer passes it for Ed25519,
// and the signature verifies under the public key read from the token.
func TestPKCS11Ed25519(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"ed": "EC:edwards25519"})
	k, err := Open(context.Background(), tk.URI("ed"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	pub, ok := k.Public().(ed25519.PublicKey)
	if !ok {
		t.Fatalf("Public is %T, want ed25519.PublicKey", k.Public())
	}
	if got := k.(SchemeLimiter).SignatureSchemes(); !slices.Equal(got, []uint16{Ed25519}) {
		t.Fatalf("SignatureSchemes %#04x, want Ed25519 only", got)
	}
	msg := []byte("TLS 1.3, server CertificateVerify, signed on the token")
	sig, err := k.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub, msg, sig) {
		t.Fatal("the token's Ed25519 signature does not verify")
	}
	// Ed25519ph and Ed25519ctx are not TLS's and are refused, not
	// silently signed as pure Ed25519.
	if _, err := k.Sign(rand.Reader, msg, crypto.SHA512); err == nil {
		t.Error("a SHA-512 digest was signed as Ed25519")
	}
	if _, err := k.Sign(rand.Reader, msg, &ed25519.Options{Context: "tls"}); err == nil {
		t.Error("Ed25519ctx was signed as pure Ed25519")
	}
}

func TestParseEdwardsPublic(t *testing.T) {
	point := make([]byte, ed25519.PublicKeySize)
	point[0] = 7
	wrapped, _ := asn1.Marshal(point)
	name, _ := asn1.MarshalWithParams("edwards25519", "printable")
	oid, _ := asn1.Marshal(oidEd25519)
	ed448, _ := asn1.MarshalWithParams("edwards448", "printable")
	ed448OID, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 101, 113})
	for _, c := range []struct {
		what          string
		params, point []byte
		want          string // "" for success, else part of the error
	}{
		{"name, wrapped point", name, wrapped, ""},
		{"OID, wrapped point", oid, wrapped, ""},
		{"name, bare point", name, point, ""},
		{"Ed448 by name", ed448, wrapped, "not supported"},
		{"Ed448 by OID", ed448OID, wrapped, "not supported"},
		{"garbage parameters", []byte{0x05, 0x00, 0x01}, wrapped, "neither a curve name nor an OID"},
		{"short point", name, point[:31], "31 bytes"},
	} {
		pub, err := parseEdwardsPublic("pkcs11:object=ed", c.params, c.point)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.what, err)
		case c.want == "" && !slices.Equal([]byte(pub.(ed25519.PublicKey)), point):
			t.Errorf("%s: key %x", c.what, pub)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error about %q", c.what, err, c.want)
		}
	}
}

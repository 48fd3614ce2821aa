package params

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

func issue(t *testing.T, name string, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer, ca bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: ca, BasicConstraintsValid: true, DNSNames: []string{"server.test"},
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// key_sha1_hash is computed as RFC 6066 §6 says, from the key itself
// rather than from the certificate's encoding: the RSA modulus without
// leading zeros, the EC point, the Ed25519 key.
func TestKeySHA1(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	point, err := ek.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		signer crypto.Signer
		want   []byte
	}{
		{"RSA", rk, bytes.TrimLeft(rk.N.FillBytes(make([]byte, 260)), "\x00")},
		{"ECDSA", ek, point},
		{"Ed25519", edk, edk.Public().(ed25519.PublicKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := issue(t, "Root", tc.signer.Public(), nil, tc.signer, true)
			got, err := KeySHA1(c)
			if err != nil {
				t.Fatal(err)
			}
			if want := sha1.Sum(tc.want); got != want {
				t.Fatalf("key hash %x, want %x", got, want)
			}
		})
	}
}

// NewCertificate indexes the chain's CAs: names of every certificate,
// hashes of every certificate after the leaf, and of a self-signed leaf.
func TestNewCertificateIndexesCAs(t *testing.T) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	interKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := issue(t, "Root", rootKey.Public(), nil, rootKey, true)
	inter := issue(t, "Intermediate", interKey.Public(), root, rootKey, true)
	leaf := issue(t, "server.test", leafKey.Public(), inter, interKey, false)

	c, err := NewCertificate([][]byte{leaf.Raw, inter.Raw}, leaf, leafKey)
	if err != nil {
		t.Fatal(err)
	}
	interKeyHash, _ := KeySHA1(inter)
	rootKeyHash, _ := KeySHA1(root)
	leafKeyHash, _ := KeySHA1(leaf)
	interCert, rootCert := sha1.Sum(inter.Raw), sha1.Sum(root.Raw)
	for _, tc := range []struct {
		what string
		got  bool
		want bool
	}{
		{"intermediate by name", c.HasCAName(inter.RawSubject), true},
		{"root by name (issuer of the last certificate)", c.HasCAName(root.RawSubject), true},
		{"intermediate by key", c.HasCAKey(interKeyHash[:]), true},
		{"intermediate by certificate", c.HasCACert(interCert[:]), true},
		{"root by key (not in the chain)", c.HasCAKey(rootKeyHash[:]), false},
		{"root by certificate (not in the chain)", c.HasCACert(rootCert[:]), false},
		{"leaf by key", c.HasCAKey(leafKeyHash[:]), false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.what, tc.got, tc.want)
		}
	}

	// With the root appended, its hashes match too.
	c, err = NewCertificate([][]byte{leaf.Raw, inter.Raw, root.Raw}, leaf, leafKey)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasCAKey(rootKeyHash[:]) || !c.HasCACert(rootCert[:]) {
		t.Error("root at the end of the chain not indexed by hash")
	}

	// A self-signed leaf is its own root.
	self := issue(t, "server.test", leafKey.Public(), nil, leafKey, false)
	c, err = NewCertificate([][]byte{self.Raw}, self, leafKey)
	if err != nil {
		t.Fatal(err)
	}
	selfCert := sha1.Sum(self.Raw)
	if !c.HasCAKey(leafKeyHash[:]) || !c.HasCACert(selfCert[:]) {
		t.Error("self-signed leaf not indexed by hash")
	}

	if _, err := NewCertificate([][]byte{leaf.Raw, {0x30, 0x00}}, leaf, leafKey); err == nil {
		t.Error("a chain certificate that does not parse was accepted")
	}
}

func TestAnnouncedCAs(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a, b := issue(t, "A", k.Public(), nil, k, true), issue(t, "B", k.Public(), nil, k, true)
	pool := x509.NewCertPool()
	pool.AddCert(a)
	got, err := AnnouncedCAs([]*x509.Certificate{a, b}, pool)
	if err != nil || len(got) != 2 || !bytes.Equal(got[1].Name, b.RawSubject) || len(got[1].KeySHA1) != sha1.Size {
		t.Fatalf("roots given: %+v, %v", got, err)
	}
	got, err = AnnouncedCAs(nil, pool)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Name, a.RawSubject) || got[0].KeySHA1 != nil {
		t.Fatalf("pool only: %+v, %v", got, err)
	}
	if _, err := AnnouncedCAs([]*x509.Certificate{a, nil}, pool); err == nil {
		t.Fatal("nil root accepted")
	}
}

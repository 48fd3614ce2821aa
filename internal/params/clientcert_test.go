package params

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/sigscheme"
)

// A TLS 1.2 client answers a CertificateRequest only with a chain whose
// key the request's certificate_types admit (RFC 5246 §7.4.4; Ed25519
// under ecdsa_sign, RFC 8422 §5.5), first in configured order; with none
// admitted it sends an empty Certificate. TLS 1.3 has no types.
func TestChooseClientCertificateByType(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	cert := func(k crypto.Signer) *Certificate {
		leaf := issue(t, "client", k.Public(), nil, k, false)
		c, err := NewCertificate([][]byte{leaf.Raw}, leaf, k)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rc, ec, ed := cert(rsaKey), cert(ecKey), cert(edKey)
	all := []sigscheme.Scheme{sigscheme.PSSWithSHA256, sigscheme.PKCS1WithSHA256, sigscheme.ECDSAWithP256AndSHA256, sigscheme.Ed25519}
	for _, tc := range []struct {
		name  string
		vers  uint16
		types []byte
		certs []*Certificate
		want  *Certificate
	}{
		{"rsa_sign picks RSA", sigscheme.VersionTLS12, []byte{1}, []*Certificate{ec, rc}, rc},
		{"ecdsa_sign picks ECDSA", sigscheme.VersionTLS12, []byte{64}, []*Certificate{rc, ec}, ec},
		{"ecdsa_sign admits Ed25519", sigscheme.VersionTLS12, []byte{64}, []*Certificate{rc, ed}, ed},
		{"both: configured order", sigscheme.VersionTLS12, []byte{1, 64}, []*Certificate{ec, rc}, ec},
		{"none admitted", sigscheme.VersionTLS12, []byte{1}, []*Certificate{ec, ed}, nil},
		{"TLS 1.3 has no types", sigscheme.VersionTLS13, nil, []*Certificate{ec, rc}, ec},
	} {
		got, _ := ChooseClientCertificate(tc.certs, ClientCertificateRequest{Version: tc.vers, Schemes: all, CertTypes: tc.types})
		if got != tc.want {
			t.Errorf("%s: chose %v, want %v", tc.name, subject(got), subject(tc.want))
		}
	}
}

func subject(c *Certificate) string {
	if c == nil {
		return "none"
	}
	return c.Leaf.PublicKeyAlgorithm.String()
}

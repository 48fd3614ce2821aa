package sigscheme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// pssParams describes RSASSA-PSS-params to encode; zero fields are left
// out, so they take their DEFAULT.
type pssParams struct {
	hash, mgfHash asn1.ObjectIdentifier
	nullParams    bool // NULL, rather than absent, hash parameters
	salt, trailer int64
	mgfOID        asn1.ObjectIdentifier
	extra         bool // a stray field after the sequence's last
}

func addHashAI(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, null bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if null {
			b.AddASN1NULL()
		}
	})
}

// buildPSSSPKI encodes an id-RSASSA-PSS SubjectPublicKeyInfo; params nil
// leaves the parameters absent.
func buildPSSSPKI(t testing.TB, pub *rsa.PublicKey, params *pssParams) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidRSASSAPSS)
			if params == nil {
				return
			}
			p := *params
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if p.hash != nil {
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						addHashAI(b, p.hash, p.nullParams)
					})
				}
				if p.mgfHash != nil {
					b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							mgf := p.mgfOID
							if mgf == nil {
								mgf = oidMGF1
							}
							b.AddASN1ObjectIdentifier(mgf)
							addHashAI(b, p.mgfHash, p.nullParams)
						})
					})
				}
				if p.salt != 0 {
					b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1Int64(p.salt)
					})
				}
				if p.trailer != 0 {
					b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1Int64(p.trailer)
					})
				}
				if p.extra {
					b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1Int64(0)
					})
				}
			})
		})
		b.AddASN1BitString(x509.MarshalPKCS1PublicKey(pub))
	})
	der, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePSSKey(t *testing.T) {
	pub := signerFor(t, "rsa2048").Public().(*rsa.PublicKey)
	cases := []struct {
		name   string
		params *pssParams
		hash   crypto.Hash
		ok     bool
	}{
		{"no parameters", nil, 0, true},
		{"SHA-256, salt 32", &pssParams{hash: oidSHA256, mgfHash: oidSHA256, salt: 32}, crypto.SHA256, true},
		{"SHA-384 with NULL hash parameters, salt 48", &pssParams{hash: oidSHA384, mgfHash: oidSHA384, nullParams: true, salt: 48}, crypto.SHA384, true},
		{"SHA-512, default salt 20, trailer 1", &pssParams{hash: oidSHA512, mgfHash: oidSHA512, trailer: 1}, crypto.SHA512, true},
		{"empty parameters: all SHA-1 defaults", &pssParams{}, 0, false},
		{"no MGF: MGF1-SHA1 default", &pssParams{hash: oidSHA256, salt: 32}, 0, false},
		{"MGF hash differs", &pssParams{hash: oidSHA256, mgfHash: oidSHA384, salt: 32}, 0, false},
		{"mask generation other than MGF1", &pssParams{hash: oidSHA256, mgfHash: oidSHA256, mgfOID: asn1.ObjectIdentifier{1, 2, 3}, salt: 32}, 0, false},
		{"hash TLS does not use", &pssParams{hash: asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, mgfHash: asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}}, 0, false},
		{"minimum salt longer than the hash", &pssParams{hash: oidSHA256, mgfHash: oidSHA256, salt: 33}, 0, false},
		{"trailer 2", &pssParams{hash: oidSHA256, mgfHash: oidSHA256, salt: 32, trailer: 2}, 0, false},
		{"stray field", &pssParams{hash: oidSHA256, mgfHash: oidSHA256, salt: 32, extra: true}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePSSKey(buildPSSSPKI(t, pub, tc.params))
			if !tc.ok {
				if !errors.Is(err, ErrUnsupportedKey) {
					t.Fatalf("parsePSSKey = %+v, %v; want ErrUnsupportedKey", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Key.Equal(pub) || got.Hash != tc.hash {
				t.Fatalf("parsePSSKey = key equal %v, hash %v; want hash %v", got.Key.Equal(pub), got.Hash, tc.hash)
			}
		})
	}
	t.Run("trailing bytes", func(t *testing.T) {
		der := append(buildPSSSPKI(t, pub, nil), 0)
		if _, err := parsePSSKey(der); !errors.Is(err, ErrUnsupportedKey) {
			t.Fatalf("parsePSSKey: %v; want ErrUnsupportedKey", err)
		}
	})
	t.Run("element after the key", func(t *testing.T) {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidRSASSAPSS)
			})
			b.AddASN1BitString(x509.MarshalPKCS1PublicKey(pub))
			b.AddASN1NULL()
		})
		if _, err := parsePSSKey(b.BytesOrPanic()); !errors.Is(err, ErrUnsupportedKey) {
			t.Fatalf("parsePSSKey: %v; want ErrUnsupportedKey", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		der := buildPSSSPKI(t, pub, &pssParams{hash: oidSHA256, mgfHash: oidSHA256, salt: 32})
		for n := range len(der) {
			if _, err := parsePSSKey(der[:n]); err == nil {
				t.Fatalf("accepted %d of %d bytes", n, len(der))
			}
		}
	})
}

func selfSigned(t testing.TB, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sigscheme test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCertPublicKey(t *testing.T) {
	for _, name := range []string{"p256", "p384", "p521", "rsa2048", "ed25519"} {
		signer := signerFor(t, name)
		pub, err := CertPublicKey(selfSigned(t, signer))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()) {
			t.Fatalf("%s: CertPublicKey returned another key", name)
		}
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = CertPublicKey(selfSigned(t, p224))
	if !errors.Is(err, ErrUnsupportedKey) || alert.For(err) != alert.UnsupportedCertificate {
		t.Fatalf("P-224 certificate: %v (alert %v); want unsupported_certificate", err, alert.For(err))
	}
	// A certificate crypto/x509 could not read the key of, and that is not
	// id-RSASSA-PSS either.
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	odd := selfSigned(t, ed)
	odd.PublicKey = nil
	_, err = CertPublicKey(odd)
	if !errors.Is(err, ErrUnsupportedKey) || alert.For(err) != alert.UnsupportedCertificate {
		t.Fatalf("unknown key algorithm: %v; want unsupported_certificate", err)
	}
}

func FuzzParsePSSKey(f *testing.F) {
	pub := signerFor(f, "rsa2048").Public().(*rsa.PublicKey)
	f.Add(buildPSSSPKI(f, pub, nil))
	f.Add(buildPSSSPKI(f, pub, &pssParams{hash: oidSHA256, mgfHash: oidSHA256, salt: 32}))
	f.Add(buildPSSSPKI(f, pub, &pssParams{hash: oidSHA384, mgfHash: oidSHA384, nullParams: true, salt: 48, trailer: 1}))
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := parsePSSKey(der)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedKey) {
				t.Fatalf("error without ErrUnsupportedKey: %v", err)
			}
			return
		}
		if k.Key.N.Sign() <= 0 || k.Key.E <= 1 {
			t.Fatalf("accepted a degenerate key")
		}
		if _, err := classify(k); err != nil {
			t.Fatalf("parsed key does not classify: %v", err)
		}
		// Re-encoding what was read must give a key that reads the same.
		again, err := parsePSSKey(buildPSSSPKI(t, k.Key, nil))
		if err != nil || !again.Key.Equal(k.Key) {
			t.Fatalf("re-encoded key does not round-trip: %v", err)
		}
	})
}

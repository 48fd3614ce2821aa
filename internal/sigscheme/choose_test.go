package sigscheme

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

func TestChoose(t *testing.T) {
	s13, s12 := Supported13(), Supported12()
	// A browser-like list, peer preference deliberately unlike ours.
	browser := []Scheme{PSSWithSHA256, PKCS1WithSHA256, ECDSAWithP384AndSHA384, ECDSAWithP256AndSHA256, Ed25519, PSSWithSHA384, PSSWithSHA512, PKCS1WithSHA1}
	cases := []struct {
		name  string
		vers  uint16
		key   string
		pss   bool
		peer  []Scheme
		ours  []Scheme
		want  Scheme
		alert alert.Alert // want this alert instead of a scheme
	}{
		{"P-256 takes its scheme", VersionTLS13, "p256", false, s13, s13, ECDSAWithP256AndSHA256, 0},
		{"P-384 takes its scheme", VersionTLS13, "p384", false, s13, s13, ECDSAWithP384AndSHA384, 0},
		{"P-521 takes its scheme", VersionTLS13, "p521", false, s13, s13, ECDSAWithP521AndSHA512, 0},
		{"P-384 with only P-256 offered, TLS 1.3", VersionTLS13, "p384", false, []Scheme{ECDSAWithP256AndSHA256}, s13, 0, alert.HandshakeFailure},
		{"P-384 with only P-256 offered, TLS 1.2", VersionTLS12, "p384", false, []Scheme{ECDSAWithP256AndSHA256}, s12, ECDSAWithP256AndSHA256, 0},
		{"P-384 prefers its own curve in TLS 1.2", VersionTLS12, "p384", false, s12, s12, ECDSAWithP384AndSHA384, 0},
		{"ECDSA-SHA1 is never chosen unless ours has it", VersionTLS12, "p256", false, []Scheme{ECDSAWithSHA1}, s12, 0, alert.HandshakeFailure},
		{"ECDSA-SHA1 in ours, TLS 1.2", VersionTLS12, "p256", false, []Scheme{ECDSAWithSHA1}, []Scheme{ECDSAWithSHA1}, ECDSAWithSHA1, 0},
		{"ECDSA-SHA1 in ours, TLS 1.3", VersionTLS13, "p256", false, []Scheme{ECDSAWithSHA1}, []Scheme{ECDSAWithSHA1}, 0, alert.HandshakeFailure},
		{"Ed25519", VersionTLS13, "ed25519", false, browser, s13, Ed25519, 0},
		{"Ed25519 not offered", VersionTLS13, "ed25519", false, []Scheme{ECDSAWithP256AndSHA256, PSSWithSHA256}, s13, 0, alert.HandshakeFailure},
		{"RSA follows our order, not the peer's", VersionTLS13, "rsa2048", false, []Scheme{PSSWithSHA512, PSSWithSHA256}, s13, PSSWithSHA256, 0},
		{"RSA never gets PKCS#1 in TLS 1.3", VersionTLS13, "rsa2048", false, []Scheme{PKCS1WithSHA256}, s12, 0, alert.HandshakeFailure},
		{"RSA gets PKCS#1 in TLS 1.2 when PSS is not offered", VersionTLS12, "rsa2048", false, []Scheme{PKCS1WithSHA384, PKCS1WithSHA256}, s12, PKCS1WithSHA256, 0},
		{"RSA prefers PSS in TLS 1.2", VersionTLS12, "rsa2048", false, browser, s12, PSSWithSHA256, 0},
		{"PKCS#1 only if ours has it", VersionTLS12, "rsa2048", false, []Scheme{PKCS1WithSHA256}, s13, 0, alert.HandshakeFailure},
		{"RSA-1024 too short for PSS-SHA512", VersionTLS13, "rsa1024", false, []Scheme{PSSWithSHA512}, s13, 0, alert.HandshakeFailure},
		{"RSA-1024 fits PSS-SHA384", VersionTLS13, "rsa1024", false, []Scheme{PSSWithSHA512, PSSWithSHA384}, s13, PSSWithSHA384, 0},
		{"rsaEncryption key never gets rsa_pss_pss", VersionTLS13, "rsa2048", false, []Scheme{PSSPSSWithSHA256}, s13, 0, alert.HandshakeFailure},
		{"RSASSA-PSS key gets rsa_pss_pss", VersionTLS13, "rsa2048", true, s13, s13, PSSPSSWithSHA256, 0},
		{"RSASSA-PSS key never gets rsae", VersionTLS13, "rsa2048", true, []Scheme{PSSWithSHA256}, s13, 0, alert.HandshakeFailure},
		{"RSASSA-PSS key never gets PKCS#1", VersionTLS12, "rsa2048", true, []Scheme{PKCS1WithSHA256}, s12, 0, alert.HandshakeFailure},
		{"ECDSA key and an RSA-only peer", VersionTLS13, "p256", false, []Scheme{PSSWithSHA256, PSSWithSHA384}, s13, 0, alert.HandshakeFailure},
		{"empty peer list", VersionTLS12, "p256", false, nil, s12, 0, alert.HandshakeFailure},
		{"unknown peer schemes are ignored", VersionTLS13, "p256", false, []Scheme{0xfefe, 0x0000, ECDSAWithP256AndSHA256}, s13, ECDSAWithP256AndSHA256, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pub crypto.PublicKey = signerFor(t, tc.key).Public()
			if tc.pss {
				pub = pssPub(t, tc.key)
			}
			got, err := Choose(tc.vers, pub, tc.peer, tc.ours)
			if tc.alert != 0 {
				if a := alert.For(err); a != tc.alert {
					t.Fatalf("Choose = %v, %v (alert %v); want alert %v", got, err, a, tc.alert)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Choose = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestChoosePSSKeyHashRestriction(t *testing.T) {
	pub := &PSSPublicKey{Key: signerFor(t, "rsa2048").Public().(*rsa.PublicKey), Hash: crypto.SHA384}
	got, err := Choose(VersionTLS13, pub, Supported13(), Supported13())
	if err != nil || got != PSSPSSWithSHA384 {
		t.Fatalf("Choose = %v, %v; want %v", got, err, PSSPSSWithSHA384)
	}
	_, err = Choose(VersionTLS13, pub, []Scheme{PSSPSSWithSHA256, PSSPSSWithSHA512}, Supported13())
	if alert.For(err) != alert.HandshakeFailure {
		t.Fatalf("Choose: %v; want handshake_failure", err)
	}
}

// TestChooseRSASizeBoundary checks the size rules to the bit. For PSS a
// modulus of 8k+1 bits has one byte fewer of encoded message than its byte
// length suggests.
func TestChooseRSASizeBoundary(t *testing.T) {
	// PSS-SHA512 needs emLen >= 130, so modBits-1 >= 1033: 1034 bits fit,
	// 1033 bits do not (131 bytes of modulus, but emLen 129).
	// PKCS #1 v1.5 with SHA-512 needs a 19+64+11 = 94-byte modulus: 745
	// bits fit, 744 do not.
	for _, tc := range []struct {
		scheme Scheme
		bits   int
		fits   bool
	}{
		{PSSWithSHA512, 1032, false}, {PSSWithSHA512, 1033, false}, {PSSWithSHA512, 1034, true}, {PSSWithSHA512, 1040, true},
		{PKCS1WithSHA512, 744, false}, {PKCS1WithSHA512, 745, true},
	} {
		n := new(big.Int).Lsh(big.NewInt(1), uint(tc.bits-1))
		n.SetBit(n, 0, 1)
		pub := &rsa.PublicKey{N: n, E: 65537}
		_, err := Choose(VersionTLS12, pub, []Scheme{tc.scheme}, Supported12())
		if (err == nil) != tc.fits {
			t.Errorf("%v, %d-bit key: Choose err = %v, want fits = %v", tc.scheme, tc.bits, err, tc.fits)
		}
	}
}

func TestChooseUnsupportedKey(t *testing.T) {
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, pub := range []crypto.PublicKey{p224.Public(), x.PublicKey(), nil, &PSSPublicKey{}, (*rsa.PublicKey)(nil)} {
		_, err := Choose(VersionTLS13, pub, Supported13(), Supported13())
		if !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("%T: %v; want ErrUnsupportedKey", pub, err)
		}
		if got := alert.For(err); got != alert.InternalError {
			t.Errorf("%T: alert %v; our own key's fault is internal_error", pub, got)
		}
	}
}

func TestChooseBadVersion(t *testing.T) {
	_, err := Choose(0x0302, signerFor(t, "p256").Public(), Supported12(), Supported12())
	if err == nil || alert.For(err) != alert.InternalError {
		t.Fatalf("Choose for TLS 1.1: %v; want an internal error", err)
	}
}

// TestChooseEveryOfferedScheme makes sure each scheme we offer is reachable.
func TestChooseEveryOfferedScheme(t *testing.T) {
	keyFor := map[Scheme]string{
		ECDSAWithP256AndSHA256: "p256", ECDSAWithP384AndSHA384: "p384", ECDSAWithP521AndSHA512: "p521",
		Ed25519: "ed25519", PSSWithSHA256: "rsa2048", PSSWithSHA384: "rsa2048", PSSWithSHA512: "rsa2048",
		PSSPSSWithSHA256: "rsa2048", PSSPSSWithSHA384: "rsa2048", PSSPSSWithSHA512: "rsa2048",
		PKCS1WithSHA256: "rsa2048", PKCS1WithSHA384: "rsa2048", PKCS1WithSHA512: "rsa2048",
	}
	for _, s := range Supported12() {
		name, ok := keyFor[s]
		if !ok {
			t.Fatalf("no key for offered %v", s)
		}
		var pub crypto.PublicKey = signerFor(t, name).Public()
		if p, _ := s.params(); p.pssKey {
			pub = pssPub(t, name)
		}
		got, err := Choose(VersionTLS12, pub, []Scheme{s}, Supported12())
		if err != nil || got != s {
			t.Errorf("Choose with only %v offered = %v, %v", s, got, err)
		}
	}
}

func TestChooseErrorIsBounded(t *testing.T) {
	peer := make([]Scheme, 30000)
	for i := range peer {
		peer[i] = Scheme(0xfe00 + i%200)
	}
	_, err := Choose(VersionTLS13, signerFor(t, "p256").Public(), peer, Supported13())
	if err == nil || len(err.Error()) > 1000 {
		t.Fatalf("error of %d bytes for a long peer list", len(err.Error()))
	}
}

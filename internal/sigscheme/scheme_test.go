package sigscheme

import (
	"crypto"
	"slices"
	"testing"
)

func TestSchemeNamesAndHashes(t *testing.T) {
	cases := []struct {
		s    Scheme
		code uint16
		name string
		hash crypto.Hash
	}{
		{ECDSAWithP256AndSHA256, 0x0403, "ecdsa_secp256r1_sha256", crypto.SHA256},
		{ECDSAWithP384AndSHA384, 0x0503, "ecdsa_secp384r1_sha384", crypto.SHA384},
		{ECDSAWithP521AndSHA512, 0x0603, "ecdsa_secp521r1_sha512", crypto.SHA512},
		{Ed25519, 0x0807, "ed25519", 0},
		{PSSWithSHA256, 0x0804, "rsa_pss_rsae_sha256", crypto.SHA256},
		{PSSWithSHA384, 0x0805, "rsa_pss_rsae_sha384", crypto.SHA384},
		{PSSWithSHA512, 0x0806, "rsa_pss_rsae_sha512", crypto.SHA512},
		{PSSPSSWithSHA256, 0x0809, "rsa_pss_pss_sha256", crypto.SHA256},
		{PSSPSSWithSHA384, 0x080a, "rsa_pss_pss_sha384", crypto.SHA384},
		{PSSPSSWithSHA512, 0x080b, "rsa_pss_pss_sha512", crypto.SHA512},
		{PKCS1WithSHA256, 0x0401, "rsa_pkcs1_sha256", crypto.SHA256},
		{PKCS1WithSHA384, 0x0501, "rsa_pkcs1_sha384", crypto.SHA384},
		{PKCS1WithSHA512, 0x0601, "rsa_pkcs1_sha512", crypto.SHA512},
		{PKCS1WithSHA1, 0x0201, "rsa_pkcs1_sha1", crypto.SHA1},
		{ECDSAWithSHA1, 0x0203, "ecdsa_sha1", crypto.SHA1},
		{Scheme(0x0fff), 0x0fff, "scheme(0x0fff)", 0},
	}
	for _, tc := range cases {
		if uint16(tc.s) != tc.code {
			t.Errorf("%s = %#04x, want %#04x", tc.name, uint16(tc.s), tc.code)
		}
		if got := tc.s.String(); got != tc.name {
			t.Errorf("%#04x.String() = %q, want %q", tc.code, got, tc.name)
		}
		if got := tc.s.Hash(); got != tc.hash {
			t.Errorf("%s.Hash() = %v, want %v", tc.name, got, tc.hash)
		}
	}
}

func TestSupportedLists(t *testing.T) {
	want13 := []Scheme{
		ECDSAWithP256AndSHA256, ECDSAWithP384AndSHA384, ECDSAWithP521AndSHA512, Ed25519,
		PSSWithSHA256, PSSWithSHA384, PSSWithSHA512,
		PSSPSSWithSHA256, PSSPSSWithSHA384, PSSPSSWithSHA512,
	}
	if got := Supported13(); !slices.Equal(got, want13) {
		t.Errorf("Supported13 = %v, want %v", got, want13)
	}
	want12 := append(slices.Clone(want13), PKCS1WithSHA256, PKCS1WithSHA384, PKCS1WithSHA512)
	if got := Supported12(); !slices.Equal(got, want12) {
		t.Errorf("Supported12 = %v, want %v", got, want12)
	}
	if got := SupportedCert(); !slices.Equal(got, want12) {
		t.Errorf("SupportedCert = %v, want %v", got, want12)
	}
	for _, s := range Supported13() {
		p, _ := s.params()
		if !allowedIn(VersionTLS13, p) {
			t.Errorf("Supported13 offers %v, which TLS 1.3 forbids", s)
		}
	}
	for _, l := range [][]Scheme{Supported13(), Supported12(), SupportedCert()} {
		for _, s := range l {
			if s.Hash() == crypto.SHA1 {
				t.Errorf("SHA-1 scheme %v offered by default", s)
			}
		}
	}
	// Each call is a fresh slice: a caller's edit changes no policy.
	l := Supported13()
	l[0] = PKCS1WithSHA1
	if Supported13()[0] != ECDSAWithP256AndSHA256 {
		t.Error("Supported13 shares its backing array")
	}
}

package wire

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

func TestCertificateURLRoundTrip(t *testing.T) {
	m := &CertificateURL{Type: CertChainIndividual, Entries: []URLAndHash{
		{URL: "http://certs.example.test/leaf.der", Hash: sha1.Sum([]byte("leaf"))},
		{URL: "http://certs.example.test/ca.der", Hash: sha1.Sum([]byte("ca"))},
	}}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseCertificateURL(raw)
	if err != nil || len(back.Entries) != 2 || back.Entries[1] != m.Entries[1] {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	// The padding byte of the first entry: not 1 is illegal_parameter.
	bad := append([]byte(nil), raw...)
	bad[HeaderLen+3+2+len(m.Entries[0].URL)] = 0
	if _, err := ParseCertificateURL(bad); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("padding 0: %v", err)
	}
	for name, body := range map[string][]byte{
		"empty list":      {0, 0, 0},
		"empty url":       {0, 0, 22, 0, 0, 1},
		"short hash":      {0, 0, 6, 0, 1, 'a', 1, 1, 2},
		"trailing byte":   append(append([]byte{}, raw[HeaderLen:]...), 0),
		"truncated entry": raw[HeaderLen : len(raw)-1],
	} {
		if _, err := ParseCertificateURL(msg(TypeCertificateURL, body)); !errors.Is(err, alert.ErrDecode) {
			t.Errorf("%s: %v, want decode_error", name, err)
		}
	}
	if _, err := (&CertificateURL{}).Marshal(); err == nil {
		t.Error("a CertificateURL without URLs was encoded")
	}
}

// FuzzCertificateURL: what parses re-encodes to the same bytes.
func FuzzCertificateURL(f *testing.F) {
	m := &CertificateURL{Entries: []URLAndHash{{URL: "http://a.test/c.der", Hash: sha1.Sum(nil)}}}
	raw, _ := m.Marshal()
	f.Add(raw)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseCertificateURL(in)
		if err != nil {
			return
		}
		again, err := m.Marshal()
		if err != nil || !bytes.Equal(again, in) {
			t.Fatalf("CertificateURL does not round-trip: %v", err)
		}
	})
}

package signer

import (
	"bytes"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
)

// tss2OpenSSLSample is a P-256 key file written by tpm2-openssl 1.1.1
// (openssl genpkey -provider tpm2): emptyAuth as BER TRUE (0x01), parent
// 0x40000001. Its blobs belong to a swtpm that no longer exists; it is
// here for the parser only.
const tss2OpenSSLSample = `-----BEGIN TSS2 PRIVATE KEY-----
MIHwBgZngQUKAQOgAwEBAQIEQAAAAQRYAFYAIwALAAYAcgAAABAAEAADABAAILWa
9dacgar93TK8FkAoi060VRH8eyjAnrTBPj1izDb3ACAIVNAH3bHuytQgPX7/lWSS
BRMrZ0jme3TD7DVW2+6sGASBgAB+ACC7TFlzWu4he05TOlNNwfBYtFuWvHpqRjSK
4xYbQX5YVgAQSHVvrUFS9JrQhUP7vy55o+S4Lblt67XybyAhpu7zbs7oYao2rhWf
0qkJXSEB7TPmznkQfF2zaYFx3kwVrElJgxe6i3mcYyGf+jcnbMVFuaHo7+pbxyDx
x9k+
-----END TSS2 PRIVATE KEY-----
`

func TestParseTSS2OpenSSLFile(t *testing.T) {
	k, err := ParseTSS2PEM([]byte("junk before\n" + tss2OpenSSLSample))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Type.Equal(OIDTSS2LoadableKey) || !k.EmptyAuth || k.Parent != 0x40000001 || len(k.Public) != 88 || len(k.Private) != 128 {
		t.Fatalf("parsed %+v", k)
	}
	if _, err := tpmUnmarshalPublic(k.Public); err != nil {
		t.Fatalf("public area: %v", err)
	}
	// Re-encoded in DER (0xff for TRUE), it parses to the same key.
	der, err := k.MarshalDER()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseTSS2DER(der)
	if err != nil || !reflect.DeepEqual(k, again) {
		t.Fatalf("round trip: %+v, %v", again, err)
	}
}

func TestTSS2RoundTripAllFields(t *testing.T) {
	k := &TSS2Key{
		Type: OIDTSS2LoadableKey, EmptyAuth: false,
		Policy:      []TSS2Policy{{CommandCode: 0x16b, CommandPolicy: []byte{1, 2}}, {CommandCode: 0x17f}},
		Secret:      []byte{9, 9},
		AuthPolicy:  []TSS2AuthPolicy{{Name: "one", Policy: []TSS2Policy{{CommandCode: 0x16b, CommandPolicy: []byte{3}}}}, {Policy: []TSS2Policy{{CommandCode: 1}}}},
		Description: "holdfast", RSAParent: true, Parent: 0x81000001,
		Public: []byte{0, 2, 0xaa, 0xbb}, Private: []byte{0, 1, 0xcc},
	}
	p, err := k.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseTSS2PEM(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(k, got) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, k)
	}
}

func TestParseTSS2Rejects(t *testing.T) {
	good, _ := (&TSS2Key{Type: OIDTSS2LoadableKey, Parent: 0x40000001, Public: []byte{0, 1, 1}, Private: []byte{0, 1, 2}}).MarshalDER()
	for name, der := range map[string][]byte{
		"empty":          nil,
		"trailing":       append(bytes.Clone(good), 0),
		"truncated":      good[:len(good)-1],
		"not a sequence": {0x04, 0x00},
		"bad 2B":         mustTSS2(t, &TSS2Key{Type: OIDTSS2LoadableKey, Parent: 1, Public: []byte{0, 5, 1}, Private: []byte{0, 1, 2}}),
		"empty 2B":       mustTSS2(t, &TSS2Key{Type: OIDTSS2LoadableKey, Parent: 1, Public: []byte{0, 0}, Private: []byte{0, 1, 2}}),
	} {
		if _, err := ParseTSS2DER(der); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := ParseTSS2PEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: good})); err == nil || !strings.Contains(err.Error(), TSS2PEMType) {
		t.Errorf("a PEM without a TSS2 block: %v", err)
	}
}

func mustTSS2(t *testing.T, k *TSS2Key) []byte {
	t.Helper()
	der, err := k.MarshalDER()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// FuzzParseTSS2 feeds the key-file parser arbitrary bytes: it must never
// panic, and whatever it accepts must re-encode to a file that parses to
// the same key. The public area decoder (go-tpm's, behind a recover) is
// exercised too.
func FuzzParseTSS2(f *testing.F) {
	block, _ := pem.Decode([]byte(tss2OpenSSLSample))
	f.Add(block.Bytes)
	full, err := (&TSS2Key{Type: OIDTSS2LoadableKey, Policy: []TSS2Policy{{1, []byte{2}}},
		AuthPolicy: []TSS2AuthPolicy{{Name: "n", Policy: []TSS2Policy{{3, nil}}}}, Description: "d", Parent: 0x81000001,
		Public: []byte{0, 1, 0}, Private: []byte{0, 1, 0}}).MarshalDER()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := ParseTSS2DER(der)
		if err != nil {
			return
		}
		tpmUnmarshalPublic(k.Public)
		again, err := k.MarshalDER()
		if err != nil {
			t.Fatalf("re-encoding an accepted key: %v", err)
		}
		k2, err := ParseTSS2DER(again)
		if err != nil || !reflect.DeepEqual(k, k2) {
			t.Fatalf("round trip: %+v, %v; want %+v", k2, err, k)
		}
		ParseTSS2PEM(der)
	})
}

func TestParseTPMURI(t *testing.T) {
	for _, c := range []struct {
		in, want string
		handle   uint32
		file     string
		device   string
	}{
		{"tpm2:handle=0x81000001", "tpm2:handle=0x81000001", 0x81000001, "", "/dev/tpmrm0"},
		{"tpm2:handle=2164260866", "tpm2:handle=0x81000002", 0x81000002, "", "/dev/tpmrm0"},
		{"tpm2:file=/etc/k.pem?device=swtpm://127.0.0.1:2321", "tpm2:file=/etc/k.pem?device=swtpm://127.0.0.1:2321", 0, "/etc/k.pem", "swtpm://127.0.0.1:2321"},
		{"tpm2:file=/a%20b/k.pem?device=/dev/tpm0&pin-source=file:/etc/pin", "tpm2:file=/a%20b/k.pem?device=/dev/tpm0&pin-source=file:/etc/pin", 0, "/a b/k.pem", "/dev/tpm0"},
		{"tpm2:handle=0x81000001?pin-value=s3cret", "tpm2:handle=0x81000001?pin-value=redacted", 0x81000001, "", "/dev/tpmrm0"},
	} {
		u, err := ParseTPMURI(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if u.String() != c.want || u.Handle != c.handle || u.File != c.file || u.Device != c.device {
			t.Errorf("%s: %+v, String %s", c.in, u, u.String())
		}
	}
	for _, bad := range []string{
		"tpm2:", "pkcs11:x", "tpm2:handle=0x80000001", "tpm2:handle=0x81000001;file=/k", "tpm2:handle=zz",
		"tpm2:key=/k", "tpm2:file=", "tpm2:file=/k?device=swtpm://nohost", "tpm2:file=/k?device=tpm0",
		"tpm2:file=/k?device=swtpm://h:0", "tpm2:file=/k?colour=red", "tpm2:file=/k?pin-source=/etc/pin",
		"tpm2:file=/k?device=/dev/a&device=/dev/b", "tpm2:file=/k?pin-value=s3cret&pin-source=file:/p",
		"tpm2:file=/k?pin-value=%zz",
	} {
		_, err := ParseTPMURI(bad)
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error shows the pin: %v", bad, err)
		}
	}
}

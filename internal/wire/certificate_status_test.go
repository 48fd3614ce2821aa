package wire

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

func randomCertificateStatus(r *rand.Rand) message {
	return &CertificateStatus{Response: randBytes(r, 1, 300)}
}

// ocspDER stands for an OCSPResponse: the codec carries it opaquely.
var ocspDER = []byte{0x30, 0x03, 0x0a, 0x01, 0x00}

// The encoding is RFC 6066 §8's byte for byte, and the TLS 1.3 entry
// extension carries the same body.
func TestCertificateStatusEncoding(t *testing.T) {
	m := &CertificateStatus{Response: ocspDER}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := msg(TypeCertificateStatus, u8(1), v24(ocspDER)); !bytes.Equal(raw, want) {
		t.Fatalf("encoding\n got %x\nwant %x", raw, want)
	}
	back, err := ParseCertificateStatus(raw)
	if err != nil || !bytes.Equal(back.Response, ocspDER) {
		t.Fatalf("parse: %+v, %v", back, err)
	}
	cm := &Certificate{Entries: []CertificateEntry{{Data: []byte{0x30, 0}, OCSPStaple: ocspDER}}}
	craw, err := cm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	entryExt := ext(int(ExtStatusRequest), u8(1), v24(ocspDER))
	if want := msg(TypeCertificate, v8(), v24(v24([]byte{0x30, 0}), v16(entryExt))); !bytes.Equal(craw, want) {
		t.Fatalf("Certificate entry\n got %x\nwant %x", craw, want)
	}
}

// Every malformed status is decode_error, as are the same bodies in a
// TLS 1.3 CertificateEntry.
func TestCertificateStatusRejections(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"type only", u8(1)},
		{"unknown status_type", cat(u8(2), v24(ocspDER))},
		{"status_type 0", cat(u8(0), v24(ocspDER))},
		{"empty response", cat(u8(1), v24())},
		{"short response", cat(u8(1), []byte{0, 0, 9}, ocspDER)},
		{"trailing byte", cat(u8(1), v24(ocspDER), u8(0))},
	} {
		if _, err := ParseCertificateStatus(msg(TypeCertificateStatus, tc.body)); alert.For(err) != alert.DecodeError {
			t.Errorf("%s: CertificateStatus: got %v, want decode_error", tc.name, err)
		}
		entry := msg(TypeCertificate, v8(), v24(v24([]byte{0x30, 0}), v16(ext(int(ExtStatusRequest), tc.body))))
		if _, err := ParseCertificate(entry); alert.For(err) != alert.DecodeError {
			t.Errorf("%s: Certificate entry: got %v, want decode_error", tc.name, err)
		}
	}
	if _, err := ParseCertificateStatus(msg(TypeCertificate, u8(1), v24(ocspDER))); alert.For(err) != alert.UnexpectedMessage {
		t.Errorf("wrong message type: got %v", err)
	}
	if _, err := (&CertificateStatus{}).Marshal(); err == nil {
		t.Error("an empty response marshalled")
	}
}

// WantsOCSP sees a status_request of type ocsp in either form, and no
// other.
func TestWantsOCSP(t *testing.T) {
	for _, tc := range []struct {
		name string
		exts [][]byte
		want bool
	}{
		{"absent", nil, false},
		{"plain", [][]byte{ext(int(ExtStatusRequest), u8(1), v16(), v16())}, true},
		{"with responder ids", [][]byte{ext(int(ExtStatusRequest), u8(1), v16(v16(u8(7))), v16())}, true},
		{"another status_type", [][]byte{ext(int(ExtStatusRequest), u8(2), v16(), v16())}, false},
	} {
		ch, err := ParseClientHello(clientHello(nil, tc.exts...))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := ch.WantsOCSP(); got != tc.want {
			t.Errorf("%s: WantsOCSP %v, want %v", tc.name, got, tc.want)
		}
	}
}

func FuzzCertificateStatus(f *testing.F) {
	seedCodec(f, "CertificateStatus", 4)
	f.Add(msg(TypeCertificateStatus, u8(1), v24(ocspDER)))
	f.Add(msg(TypeCertificateStatus, u8(2), v24(ocspDER)))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseCertificateStatus)
		checkParse(t, retype(in, TypeCertificateStatus), ParseCertificateStatus)
	})
}

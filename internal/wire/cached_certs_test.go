package wire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

const testMark uint16 = 0xFFC1

// Stand-ins for DER certificates: a SEQUENCE tag, then a name.
var testCerts = [][]byte{[]byte("\x30new leaf"), []byte("\x30intermediate"), []byte("\x30root")}

func testLookup(d []byte) ([]byte, bool) {
	for _, c := range testCerts {
		if h := sha256.Sum256(c); bytes.Equal(h[:], d) {
			return c, true
		}
	}
	return nil, false
}

// heldExceptLeaf is a client that holds every test certificate but the
// first.
func heldExceptLeaf(d *[32]byte) bool {
	_, ok := testLookup(d[:])
	return ok && *d != sha256.Sum256(testCerts[0])
}

func TestCachedCertsRoundTrip13(t *testing.T) {
	m := &Certificate{Entries: []CertificateEntry{{Data: testCerts[0], OCSPStaple: []byte("staple")}, {Data: testCerts[1]}, {Data: testCerts[2]}}}
	full, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parts, n, err := ElideCertificates13(full, testMark, heldExceptLeaf)
	if err != nil || n != 2 {
		t.Fatalf("elide: %d replaced, %v", n, err)
	}
	if want := len(full) - len(testCerts[1]) - len(testCerts[2]) + 2*(32+4); len(parts) != want {
		t.Errorf("elided message of %d bytes, want %d", len(parts), want)
	}
	back, n, err := RestoreCertificates13(parts, testMark, testLookup)
	if err != nil || n != 2 || !bytes.Equal(back, full) {
		t.Fatalf("restore: %d restored, %v, same bytes %v", n, err, bytes.Equal(back, full))
	}
	// Every certificate held (a new OCSP staple on an unchanged chain):
	// the staple stays beside the leaf's digest.
	all, n, err := ElideCertificates13(full, testMark, func(*[32]byte) bool { return true })
	if am, _ := ParseCertificate(all); err != nil || n != 3 || !bytes.Equal(am.Entries[0].OCSPStaple, []byte("staple")) {
		t.Fatalf("eliding all: %d replaced, %v", n, err)
	}
	if back, _, err := RestoreCertificates13(all, testMark, testLookup); err != nil || !bytes.Equal(back, full) {
		t.Fatalf("restoring all: %v", err)
	}
	if same, n, err := ElideCertificates13(full, testMark, func(*[32]byte) bool { return false }); err != nil || n != 0 || !bytes.Equal(same, full) {
		t.Errorf("nothing held: %d replaced, %v", n, err)
	}

	// Mutations of the elided message.
	pm, _ := ParseCertificate(parts)
	mutate := func(f func(m *Certificate)) []byte {
		c, _ := ParseCertificate(parts)
		f(c)
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for name, tc := range map[string]struct {
		msg  []byte
		want error
	}{
		"short digest":     {mutate(func(m *Certificate) { m.Entries[1].Data = m.Entries[1].Data[:31] }), alert.ErrDecode},
		"mark with a body": {mutate(func(m *Certificate) { m.Entries[1].Unknown[0].Data = []byte{0} }), alert.ErrDecode},
		"unknown digest": {mutate(func(m *Certificate) {
			d := sha256.Sum256([]byte("someone else"))
			m.Entries[2].Data = d[:]
		}), alert.ErrIllegalParameter},
		"not a Certificate": {[]byte{TypeFinished, 0, 0, 0}, alert.ErrUnexpectedMessage},
	} {
		if _, _, err := RestoreCertificates13(tc.msg, testMark, testLookup); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	// Under another mark the digests are left alone (and would then fail
	// as certificates).
	if out, n, err := RestoreCertificates13(parts, testMark+1, testLookup); err != nil || n != 0 || !bytes.Equal(out, parts) {
		t.Errorf("another mark: %d restored, %v", n, err)
	}
	if len(pm.Entries[1].Unknown) != 1 || pm.Entries[1].Unknown[0].Type != testMark {
		t.Errorf("the elided entry's extensions: %+v", pm.Entries[1].Unknown)
	}
}

func TestCachedCertsRoundTrip12(t *testing.T) {
	full, _ := (&Certificate12{Certificates: testCerts}).Marshal()
	parts, n, err := ElideCertificates12(full, heldExceptLeaf)
	if err != nil || n != 2 {
		t.Fatalf("elide: %d replaced, %v", n, err)
	}
	if want := len(full) - len(testCerts[1]) - len(testCerts[2]) + 2*33; len(parts) != want {
		t.Errorf("elided message of %d bytes, want %d", len(parts), want)
	}
	back, n, err := RestoreCertificates12(parts, testLookup)
	if err != nil || n != 2 || !bytes.Equal(back, full) {
		t.Fatalf("restore: %d restored, %v", n, err)
	}
	other := sha256.Sum256([]byte("someone else"))
	for name, tc := range map[string]struct {
		certs [][]byte
		want  error
	}{
		"short digest":   {[][]byte{testCerts[0], make([]byte, 32)}, alert.ErrDecode},
		"long digest":    {[][]byte{testCerts[0], make([]byte, 34)}, alert.ErrDecode},
		"unknown digest": {[][]byte{testCerts[0], append([]byte{0}, other[:]...)}, alert.ErrIllegalParameter},
	} {
		msg, _ := (&Certificate12{Certificates: tc.certs}).Marshal()
		if _, _, err := RestoreCertificates12(msg, testLookup); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestCachedCertDigests(t *testing.T) {
	var objs []CachedObject
	for i := range MaxCachedCerts + 3 {
		objs = append(objs, CachedObject{Type: CachedCertEach, Hash: bytes.Repeat([]byte{byte(i)}, 32)})
	}
	objs = append(objs, CachedObject{Type: CachedCert, Hash: make([]byte, 32)}, CachedObject{Type: CachedCertEach, Hash: []byte{1}})
	got := CachedCertDigests(objs)
	if len(got) != MaxCachedCerts || got[0][0] != 0 || got[MaxCachedCerts-1][0] != MaxCachedCerts-1 {
		t.Fatalf("%d digests, want the first %d", len(got), MaxCachedCerts)
	}
}

// FuzzCachedCertificates feeds the restore parsers arbitrary Certificate
// messages. Properties: no panic; a failure wraps an alert reason; a
// restored message parses, holds no digest left to restore, and eliding
// what was restored and restoring again gives the same message.
func FuzzCachedCertificates(f *testing.F) {
	m := &Certificate{Entries: []CertificateEntry{{Data: testCerts[0]}, {Data: testCerts[1]}, {Data: testCerts[2]}}}
	full13, _ := m.Marshal()
	parts13, _, _ := ElideCertificates13(full13, testMark, heldExceptLeaf)
	full12, _ := (&Certificate12{Certificates: testCerts}).Marshal()
	parts12, _, _ := ElideCertificates12(full12, heldExceptLeaf)
	for _, s := range [][]byte{full13, parts13, full12, parts12} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = retype(data, TypeCertificate)
		restored := func(d *[32]byte) bool { _, ok := testLookup(d[:]); return ok }
		check := func(out []byte, n int, err error, elide func([]byte) ([]byte, int, error), restore func([]byte) ([]byte, int, error)) {
			if err != nil {
				if alert.For(err) == alert.InternalError {
					t.Fatalf("failure wraps no alert reason: %v", err)
				}
				return
			}
			again, k, err := restore(out)
			if err != nil || k != 0 || !bytes.Equal(again, out) {
				t.Fatalf("a restored message still names %d digests (%v)", k, err)
			}
			if n == 0 && !bytes.Equal(out, data) {
				t.Fatal("nothing restored, yet the message changed")
			}
			e, _, err := elide(out)
			if err != nil {
				t.Fatalf("eliding a restored message: %v", err)
			}
			if back, _, err := restore(e); err != nil || !bytes.Equal(back, out) {
				t.Fatalf("elide then restore does not give the restored message back: %v", err)
			}
		}
		out, n, err := RestoreCertificates13(data, testMark, testLookup)
		check(out, n, err, func(b []byte) ([]byte, int, error) { return ElideCertificates13(b, testMark, restored) },
			func(b []byte) ([]byte, int, error) { return RestoreCertificates13(b, testMark, testLookup) })
		out, n, err = RestoreCertificates12(data, testLookup)
		check(out, n, err, func(b []byte) ([]byte, int, error) { return ElideCertificates12(b, restored) },
			func(b []byte) ([]byte, int, error) { return RestoreCertificates12(b, testLookup) })
	})
}

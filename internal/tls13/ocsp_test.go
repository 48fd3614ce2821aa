package tls13

import (
	"bytes"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// RFC 8446 §4.4.2: a Certificate's entry extensions must answer what the
// peer was sent; anything else is unsupported_extension. Only the leaf's
// OCSP response is kept.
func TestCheckEntryExtensions(t *testing.T) {
	staple, other := []byte{1, 2, 3}, []byte{4, 5}
	leaf := wire.CertificateEntry{Data: []byte{0x30, 0}}
	for _, c := range []struct {
		name    string
		entries []wire.CertificateEntry
		asked   bool
		want    alert.Alert
		ocsp    []byte
	}{
		{name: "none", entries: []wire.CertificateEntry{leaf, leaf}, asked: true},
		{name: "leaf staple, asked", entries: []wire.CertificateEntry{{Data: leaf.Data, OCSPStaple: staple}, leaf}, asked: true, ocsp: staple},
		{name: "intermediate staple ignored", entries: []wire.CertificateEntry{leaf, {Data: leaf.Data, OCSPStaple: other}}, asked: true},
		{name: "staple not asked", entries: []wire.CertificateEntry{{Data: leaf.Data, OCSPStaple: staple}}, want: alert.UnsupportedExtension},
		{name: "staple on an intermediate, not asked", entries: []wire.CertificateEntry{leaf, {Data: leaf.Data, OCSPStaple: staple}}, want: alert.UnsupportedExtension},
		{name: "SCT never asked", entries: []wire.CertificateEntry{{Data: leaf.Data, SCTs: [][]byte{{1}}}}, asked: true, want: alert.UnsupportedExtension},
		{name: "unknown extension", entries: []wire.CertificateEntry{{Data: leaf.Data, Unknown: []wire.Extension{{Type: 0x7f}}}}, asked: true, want: alert.UnsupportedExtension},
	} {
		got, err := checkEntryExtensions(c.entries, c.asked)
		if c.want != 0 {
			if alert.For(err) != c.want {
				t.Errorf("%s: got %v, want %v", c.name, err, c.want)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.ocsp) {
			t.Errorf("%s: %x, %v; want %x", c.name, got, err, c.ocsp)
		}
	}
}

// The server staples only the leaf, only when asked, only when it has a
// response and stapling is on.
func TestServerEntries(t *testing.T) {
	cert := &params.Certificate{Chain: [][]byte{{1}, {2}}, OCSPStaple: []byte{9}}
	for _, c := range []struct {
		name            string
		asked, off      bool
		staple, stapled bool
	}{
		{"asked", true, false, true, true},
		{"not asked", false, false, true, false},
		{"off", true, true, true, false},
		{"no staple", true, false, false, false},
	} {
		cc := *cert
		if !c.staple {
			cc.OCSPStaple = nil
		}
		hs := &serverHandshake{p: &Params{OCSPStaplingOff: c.off}, cert: &cc, hello: &wire.ClientHello{StatusRequest: c.asked}}
		e := hs.serverEntries()
		if len(e) != 2 || e[1].OCSPStaple != nil || (e[0].OCSPStaple != nil) != c.stapled {
			t.Errorf("%s: entries %+v", c.name, e)
		}
	}
}

package tls12

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"slices"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// A renewed leaf in TLS 1.2 (cached_info type 224): a server with
// CachedCertificates answers 224 and elides the certificates the client
// holds, the client restores the message; answers the client did not ask
// for, digests it did not offer and malformed elements are refused.
func TestCachedCertsRenewedLeaf12(t *testing.T) {
	const cp = 0xFFC1 // CachedInfo13: CachedCertificates is on
	chain := func(names ...string) ([]*x509.Certificate, []byte) {
		var certs []*x509.Certificate
		var ders [][]byte
		for _, n := range names {
			der := append([]byte{0x30}, n...)
			certs, ders = append(certs, &x509.Certificate{Raw: der}), append(ders, der)
		}
		msg, err := (&wire.Certificate12{Certificates: ders}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return certs, msg
	}
	oldCerts, oldMsg := chain("leaf 1", "intermediate", "root")
	_, newMsg := chain("leaf 2", "intermediate", "root")
	known := params.NewKnownChains(8)
	known.Add("a.test", wire.CachedCert|params.KnownTLS12, oldMsg, oldCerts...)
	offer := []wire.CachedObject{}
	d := sha256.Sum256(oldMsg)
	offer = append(offer, wire.CachedObject{Type: wire.CachedCert, Hash: d[:]})
	for _, h := range known.CertDigests("a.test", wire.CachedCert|params.KnownTLS12, wire.MaxCachedCerts) {
		offer = append(offer, wire.CachedObject{Type: wire.CachedCertEach, Hash: h})
	}
	body, _ := wire.MarshalClientCachedInfo(offer)
	hello := &wire.ClientHello{Unknown: []wire.Extension{{Type: wire.ExtCachedInfo, Data: body}}}

	srv := &serverHandshake{p: &params.Params{ServeCachedInfo12: true, CachedInfo13: cp}, hello: hello}
	hits, err := srv.cachedInfoHits(newMsg, nil)
	if err != nil || !slices.Equal(hits, []uint8{wire.CachedCertEach}) || srv.certParts == nil {
		t.Fatalf("server: hits %v, %v", hits, err)
	}
	if want := len(newMsg) - len("\x30intermediate") - len("\x30root") + 2*33; len(srv.certParts) != want {
		t.Errorf("elided Certificate of %d bytes, want %d", len(srv.certParts), want)
	}
	// The whole message wins over its certificates.
	whole := &serverHandshake{p: srv.p, hello: hello}
	if hits, err := whole.cachedInfoHits(oldMsg, nil); err != nil || !slices.Equal(hits, []uint8{wire.CachedCert}) || whole.certParts != nil {
		t.Errorf("whole-message hit: %v %v", hits, err)
	}
	// Without CachedCertificates a server answers only RFC 7924's types.
	plain := &serverHandshake{p: &params.Params{ServeCachedInfo12: true}, hello: hello}
	if hits, err := plain.cachedInfoHits(newMsg, nil); err != nil || len(hits) != 0 {
		t.Errorf("server without CachedCertificates: %v %v", hits, err)
	}

	p := &params.Params{ServerName: "a.test", KnownChains: known, OfferCachedInfo12: true}
	answer := func(types ...uint8) *wire.ServerHello {
		b, _ := wire.MarshalServerCachedInfo(types)
		return &wire.ServerHello{Unknown: []wire.Extension{{Type: wire.ExtCachedInfo, Data: b}}}
	}
	hs := &clientHandshake{p: p, hello: hello}
	if err := hs.takeCachedInfo(answer(wire.CachedCertEach)); err != nil || !hs.certsCached {
		t.Fatalf("client: %v", err)
	}
	if got, err := hs.restoreCerts(srv.certParts); err != nil || !bytes.Equal(got, newMsg) {
		t.Fatalf("restore: %v", err)
	}
	if err := (&clientHandshake{p: p, hello: hello}).takeCachedInfo(answer(wire.CachedCert, wire.CachedCertEach)); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("answer naming 1 and 224: %v", err)
	}
	wholeOnly, _ := wire.MarshalClientCachedInfo(offer[:1])
	h1 := &wire.ClientHello{Unknown: []wire.Extension{{Type: wire.ExtCachedInfo, Data: wholeOnly}}}
	if err := (&clientHandshake{p: p, hello: h1}).takeCachedInfo(answer(wire.CachedCertEach)); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("224 not offered: %v", err)
	}

	// An unknown or unoffered digest, and a malformed element.
	stranger, _, _ := wire.ElideCertificates12(newMsg, func(*[32]byte) bool { return true })
	if _, err := hs.restoreCerts(stranger); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("the new leaf's digest, never offered: %v", err)
	}
	m, _ := wire.ParseCertificate12(srv.certParts)
	m.Certificates[1] = m.Certificates[1][:20]
	bad, _ := m.Marshal()
	if _, err := hs.restoreCerts(bad); !errors.Is(err, alert.ErrDecode) {
		t.Errorf("a 20-byte element: %v", err)
	}
}

package tls12

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// A TLS 1.2 server's cached_info answer may name only offered types, and
// a digest-form message must name a message the client holds.
func TestCachedInfoRefusals12(t *testing.T) {
	known := params.NewKnownChains(8)
	held := []byte{wire.TypeCertificate, 0, 0, 3, 0, 0, 0}
	known.Add("a.test", wire.CachedCert|params.KnownTLS12, held)
	p := &params.Params{ServerName: "a.test", KnownChains: known, OfferCachedInfo12: true}
	d := sha256.Sum256(held)
	offer, _ := wire.MarshalClientCachedInfo([]wire.CachedObject{{Type: wire.CachedCert, Hash: d[:]}})
	hello := &wire.ClientHello{Unknown: []wire.Extension{{Type: wire.ExtCachedInfo, Data: offer}}}
	answer := func(types ...uint8) *wire.ServerHello {
		body, _ := wire.MarshalServerCachedInfo(types)
		return &wire.ServerHello{Unknown: []wire.Extension{{Type: wire.ExtCachedInfo, Data: body}}}
	}

	hs := &clientHandshake{p: p, hello: hello}
	if err := hs.takeCachedInfo(answer(wire.CachedCertReq)); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("unoffered type: %v", err)
	}
	sh := answer(wire.CachedCert)
	if err := hs.takeCachedInfo(sh); err != nil || !hs.certCached || len(sh.Unknown) != 0 {
		t.Fatalf("good answer: %v", err)
	}
	// Not offered at all: left for the unsupported_extension check.
	silent := &clientHandshake{p: p, hello: &wire.ClientHello{}}
	if sh := answer(wire.CachedCert); silent.takeCachedInfo(sh) != nil || len(sh.Unknown) != 1 {
		t.Error("an answer to no offer was taken")
	}
	digest, _ := digestForm(held)
	if got, err := hs.restore(digest, wire.CachedCert, "Certificate"); err != nil || string(got) != string(held) {
		t.Fatalf("restore: %v", err)
	}
	other, _ := digestForm([]byte{wire.TypeCertificate, 0, 0, 0})
	if _, err := hs.restore(other, wire.CachedCert, "Certificate"); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("unknown digest: %v", err)
	}
	if _, err := hs.restore(digest, wire.CachedCertReq, "CertificateRequest"); !errors.Is(err, alert.ErrUnexpectedMessage) {
		t.Errorf("a Certificate where a CertificateRequest was due: %v", err)
	}
	// A server refuses a malformed offer with decode_error.
	srv := &serverHandshake{p: &params.Params{ServeCachedInfo12: true},
		hello: &wire.ClientHello{Unknown: []wire.Extension{{Type: wire.ExtCachedInfo, Data: []byte{0, 1, 1}}}}}
	if _, err := srv.cachedInfoHits(held, nil); !errors.Is(err, alert.ErrDecode) {
		t.Errorf("malformed offer: %v", err)
	}
}

package tls13

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// A server's cached-info answers the client did not ask for, or digests
// it does not hold, are refused with the alert RFC 8446 §4.3.1 and RFC
// 7924 imply.
func TestCachedInfoRefusals(t *testing.T) {
	const cp = 0xFFC1
	known := params.NewKnownChains(4)
	held := []byte{wire.TypeCertificate, 0, 0, 4, 0, 0, 0, 0}
	known.Add("a.test", wire.CachedCert, held)
	p := &params.Params{ServerName: "a.test", CachedInfo13: cp, KnownChains: known}
	ack := func(types ...uint8) *wire.EncryptedExtensions {
		body, _ := wire.MarshalServerCachedInfo(types)
		return &wire.EncryptedExtensions{Unknown: []wire.Extension{{Type: cp, Data: body}}}
	}

	// Not offered: the answer stays unknown (unsupported_extension).
	hs := &clientHandshake{p: p, hello: &wire.ClientHello{}}
	ee := ack(wire.CachedCert)
	if err := hs.takeCachedInfoAck(ee); err != nil || len(ee.Unknown) != 1 || hs.certCached {
		t.Fatalf("unoffered answer: %v, unknown %d, cached %v", err, len(ee.Unknown), hs.certCached)
	}
	// Offered: an answer with another type is illegal_parameter, a
	// malformed one decode_error.
	ch := &wire.ClientHello{}
	if err := (&clientHandshake{p: p}).offerCachedInfo(ch); err != nil || len(ch.Unknown) != 1 {
		t.Fatalf("offer: %v, %d extensions", err, len(ch.Unknown))
	}
	hs = &clientHandshake{p: p, hello: ch}
	if err := hs.takeCachedInfoAck(ack(wire.CachedCertReq)); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("cert_req answer: %v", err)
	}
	bad := &wire.EncryptedExtensions{Unknown: []wire.Extension{{Type: cp, Data: []byte{0, 0}}}}
	if err := hs.takeCachedInfoAck(bad); !errors.Is(err, alert.ErrDecode) {
		t.Errorf("malformed answer: %v", err)
	}
	if err := hs.takeCachedInfoAck(ack(wire.CachedCert)); err != nil || !hs.certCached {
		t.Fatalf("good answer: %v", err)
	}
	// A digest the client holds restores the message; any other is
	// illegal_parameter.
	d := sha256.Sum256(held)
	msg, _ := wire.MarshalCachedMessage(wire.TypeCertificate, d[:])
	if got, err := hs.restoreCachedCertificate(msg); err != nil || string(got) != string(held) {
		t.Fatalf("restore: %v", err)
	}
	other := sha256.Sum256([]byte("another chain"))
	msg, _ = wire.MarshalCachedMessage(wire.TypeCertificate, other[:])
	if _, err := hs.restoreCachedCertificate(msg); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("unknown digest: %v", err)
	}
	// The server refuses a malformed offer with decode_error.
	shs := &serverHandshake{p: p, hello: &wire.ClientHello{Unknown: []wire.Extension{{Type: cp, Data: []byte{0, 1, 1}}}}}
	if _, err := shs.cachedInfoHit(held); !errors.Is(err, alert.ErrDecode) {
		t.Errorf("malformed offer: %v", err)
	}
}

func TestKnownChainsBounds(t *testing.T) {
	k := params.NewKnownChains(3)
	for i := range 5 {
		k.Add("a.test", 1, []byte{byte(i)})
	}
	if n := len(k.Digests("a.test", 1)); n != 2 {
		t.Fatalf("%d chains kept for one name, want 2", n)
	}
	k.Add("b.test", 1, []byte{1})
	k.Add("c.test", 1, []byte{1})
	total := 0
	for _, n := range []string{"a.test", "b.test", "c.test"} {
		total += len(k.Digests(n, 1))
	}
	if total > 3 {
		t.Fatalf("%d chains kept, bound 3", total)
	}
}

func TestProfferedCertRefusals(t *testing.T) {
	const cp = 0xFFC2
	held := params.NewHeldChains(4)
	chain := &Certificate{Chain: [][]byte{[]byte("a client certificate")}}
	msg, _ := clientCertificateMessage(nil, chain)
	held.Add(msg)
	p := &params.Params{ProfferedCert: cp, HeldChains: held, ClientCertificates: []*Certificate{chain}}

	ch := &wire.ClientHello{}
	if err := (&clientHandshake{p: p}).offerProfferedCert(ch, true, false); err != nil || len(ch.Unknown) != 1 {
		t.Fatalf("offer: %v", err)
	}
	// The server lists what it holds; the client accepts exactly that.
	shs := &serverHandshake{p: p, hello: ch}
	ext, err := shs.profferedHeld()
	if err != nil || ext == nil || len(shs.heldMsgs) != 1 {
		t.Fatalf("server: %v %v", ext, err)
	}
	hs := &clientHandshake{p: p, hello: ch}
	if got, err := hs.serverHolds(&wire.CertificateRequest{Unknown: []wire.Extension{*ext}}); err != nil || len(got) != 1 {
		t.Fatalf("client: %v %v", got, err)
	}
	// A listed digest the client never proffered: illegal_parameter.
	other := sha256.Sum256([]byte("someone else"))
	body, _ := wire.MarshalClientCachedInfo([]wire.CachedObject{{Type: wire.CachedCert, Hash: other[:]}})
	if _, err := hs.serverHolds(&wire.CertificateRequest{Unknown: []wire.Extension{{Type: cp, Data: body}}}); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("unproffered digest listed: %v", err)
	}
	// The client's digest form: restored when listed, illegal_parameter
	// otherwise; a full Certificate passes through.
	d := sha256.Sum256(msg)
	short, _ := wire.MarshalCachedMessage(wire.TypeCertificate, d[:])
	if got, err := shs.restoreProfferedCert(short); err != nil || string(got) != string(msg) {
		t.Fatalf("restore: %v", err)
	}
	wrong, _ := wire.MarshalCachedMessage(wire.TypeCertificate, other[:])
	if _, err := shs.restoreProfferedCert(wrong); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("unlisted digest: %v", err)
	}
	if got, err := shs.restoreProfferedCert(msg); err != nil || string(got) != string(msg) {
		t.Errorf("full Certificate: %v", err)
	}
}

package tls12

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// A server's answers to the proffer and the server premaster are checked
// against what the client offered.
func TestProfferAndServerPremasterRefusals(t *testing.T) {
	const cpProffer, cpPremaster = 0xFFC2, 0xFFC4
	chain := &params.Certificate{Chain: [][]byte{[]byte("client certificate")}}
	msg, _ := (&wire.Certificate12{Certificates: chain.Chain}).Marshal()
	mine := sha256.Sum256(msg)
	offer, _ := wire.MarshalClientCachedInfo([]wire.CachedObject{{Type: wire.CachedCert, Hash: mine[:]}})
	hello := &wire.ClientHello{Unknown: []wire.Extension{{Type: cpProffer, Data: offer}, {Type: cpPremaster}}}
	p := &params.Params{ProfferedCert: cpProffer, ServerPremaster: cpPremaster, ClientCertificates: []*params.Certificate{chain}}
	rsaSuite, _ := SuiteByID(0x009c)
	ecdheSuite, _ := SuiteByID(0xc02b)

	answer := func(hashes ...[]byte) *wire.ServerHello {
		var objs []wire.CachedObject
		for _, h := range hashes {
			objs = append(objs, wire.CachedObject{Type: wire.CachedCert, Hash: h})
		}
		body, _ := wire.MarshalClientCachedInfo(objs)
		return &wire.ServerHello{Unknown: []wire.Extension{{Type: cpProffer, Data: body}, {Type: cpPremaster}}}
	}
	hs := &clientHandshake{p: p, hello: hello, suite: rsaSuite}
	other := sha256.Sum256([]byte("another chain"))
	if err := hs.takeProffer(answer(other[:])); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("a held chain this client did not proffer: %v", err)
	}
	hs = &clientHandshake{p: p, hello: hello, suite: rsaSuite}
	sh := answer(mine[:])
	if err := hs.takeProffer(sh); err != nil || len(hs.serverHolds) != 1 {
		t.Fatalf("good proffer answer: %v", err)
	}
	if err := hs.takeServerPremaster(sh); err != nil || !hs.serverPremaster || len(sh.Unknown) != 0 {
		t.Fatalf("good server-premaster answer: %v", err)
	}
	if hs.heldCertificate() != chain {
		t.Fatal("the held chain is not found among the client's")
	}
	// A server premaster with an ECDHE suite, or without a held chain.
	hs = &clientHandshake{p: p, hello: hello, suite: ecdheSuite, serverHolds: [][]byte{mine[:]}}
	if err := hs.takeServerPremaster(&wire.ServerHello{Unknown: []wire.Extension{{Type: cpPremaster}}}); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("server premaster with ECDHE: %v", err)
	}
	hs = &clientHandshake{p: p, hello: hello, suite: rsaSuite}
	if err := hs.takeServerPremaster(&wire.ServerHello{Unknown: []wire.Extension{{Type: cpPremaster}}}); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("server premaster without a held chain: %v", err)
	}
	// The server's restoration of a digest-form Certificate.
	srv := &serverHandshake{p: p, held: heldByServer{listed: []wire.CachedObject{{Type: wire.CachedCert, Hash: mine[:]}}, msgs: [][]byte{msg}}}
	short, _ := wire.MarshalCachedMessage(wire.TypeCertificate, mine[:])
	if got, err := srv.restoreProffered(short); err != nil || string(got) != string(msg) {
		t.Fatalf("restore: %v", err)
	}
	wrong, _ := wire.MarshalCachedMessage(wire.TypeCertificate, other[:])
	if _, err := srv.restoreProffered(wrong); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("an unlisted digest: %v", err)
	}
	if got, err := srv.restoreProffered(msg); err != nil || string(got) != string(msg) {
		t.Errorf("a full Certificate: %v", err)
	}
}

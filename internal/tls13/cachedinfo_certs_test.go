package tls13

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// fakeChain is a chain of stand-in DER certificates and its TLS 1.3
// Certificate message.
func fakeChain(t *testing.T, names ...string) ([]*x509.Certificate, []byte) {
	t.Helper()
	var certs []*x509.Certificate
	var entries []wire.CertificateEntry
	for _, n := range names {
		der := append([]byte{0x30}, n...)
		certs = append(certs, &x509.Certificate{Raw: der})
		entries = append(entries, wire.CertificateEntry{Data: der})
	}
	msg, err := (&wire.Certificate{Entries: entries}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return certs, msg
}

// A renewed leaf in TLS 1.3: the client offers its certificates one by
// one, the server answers type 224 and elides what the client holds, the
// client restores the message byte for byte. Answers the client did not
// ask for, digests it did not offer and malformed marks are refused.
func TestCachedCertsRenewedLeaf13(t *testing.T) {
	const cp = 0xFFC1
	known := params.NewKnownChains(4)
	oldCerts, oldMsg := fakeChain(t, "leaf 1", "intermediate", "root")
	known.Add("a.test", wire.CachedCert, oldMsg, oldCerts...)
	_, newMsg := fakeChain(t, "leaf 2", "intermediate", "root")
	p := &params.Params{ServerName: "a.test", CachedInfo13: cp, KnownChains: known}

	ch := &wire.ClientHello{}
	if err := (&clientHandshake{p: p}).offerCachedInfo(ch); err != nil || len(ch.Unknown) != 1 {
		t.Fatalf("offer: %v", err)
	}
	// The leaf is not named, only what follows it.
	if n := len(wire.CachedCertDigests(ownCachedObjects(ch, cp))); n != 2 {
		t.Fatalf("%d certificates offered one by one, want 2", n)
	}
	srv := &serverHandshake{p: p, hello: ch, certMsg: newMsg}
	ee := &wire.EncryptedExtensions{}
	if hit, err := srv.cachedInfoHit(newMsg); err != nil || hit {
		t.Fatalf("whole-message hit for a new chain: %v %v", hit, err)
	}
	if err := srv.ackCachedCerts(ee); err != nil || srv.certParts == nil || len(ee.Unknown) != 1 {
		t.Fatalf("server: %v, %d answers", err, len(ee.Unknown))
	}
	if want := len(newMsg) - len("\x30intermediate") - len("\x30root") + 2*(32+4); len(srv.certParts) != want {
		t.Errorf("elided Certificate of %d bytes, want %d", len(srv.certParts), want)
	}
	hs := &clientHandshake{p: p, hello: ch}
	if err := hs.takeCachedInfoAck(ee); err != nil || !hs.certsCached || hs.certCached {
		t.Fatalf("client: %v, certsCached %v", err, hs.certsCached)
	}
	if got, err := hs.restoreCachedCerts(srv.certParts); err != nil || !bytes.Equal(got, newMsg) {
		t.Fatalf("restore: %v", err)
	}

	// The whole message wins: a server whose message the client holds
	// answers type 1 and not 224.
	whole := &serverHandshake{p: p, hello: ch, certMsg: oldMsg, certCached: true}
	ee = &wire.EncryptedExtensions{}
	if err := whole.ackCachedCerts(ee); err != nil || whole.certParts != nil || len(ee.Unknown) != 0 {
		t.Errorf("a whole-message hit also answered 224: %v", err)
	}

	// An unknown digest, or one this client did not offer.
	other := sha256.Sum256([]byte("\x30someone else"))
	stranger, _, _ := wire.ElideCertificates13(newMsg, cp, func(*[32]byte) bool { return true })
	if _, err := hs.restoreCachedCerts(stranger); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("the new leaf's digest, never offered: %v", err)
	}
	m, _ := wire.ParseCertificate(srv.certParts)
	m.Entries[1].Data = other[:]
	bad, _ := m.Marshal()
	if _, err := hs.restoreCachedCerts(bad); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("unknown digest: %v", err)
	}
	m.Entries[1].Data = other[:20]
	bad, _ = m.Marshal()
	if _, err := hs.restoreCachedCerts(bad); !errors.Is(err, alert.ErrDecode) {
		t.Errorf("a 20-byte digest: %v", err)
	}
	// A marked entry the client did not agree to is an extension it did
	// not ask for.
	pm, _ := wire.ParseCertificate(srv.certParts)
	if _, err := checkEntryExtensions(pm.Entries, false); !errors.Is(err, alert.ErrUnsupportedExtension) {
		t.Errorf("unagreed mark: %v", err)
	}

	// Answers: 224 to a client that offered only whole messages, 1 and
	// 224 together, or a type never offered, are illegal_parameter.
	answer := func(types ...uint8) *wire.EncryptedExtensions {
		body, _ := wire.MarshalServerCachedInfo(types)
		return &wire.EncryptedExtensions{Unknown: []wire.Extension{{Type: cp, Data: body}}}
	}
	wholeOnly := params.NewKnownChains(4)
	wholeOnly.Add("a.test", wire.CachedCert, oldMsg) // no certificates: type 1 only
	pw := &params.Params{ServerName: "a.test", CachedInfo13: cp, KnownChains: wholeOnly}
	chw := &wire.ClientHello{}
	if err := (&clientHandshake{p: pw}).offerCachedInfo(chw); err != nil {
		t.Fatal(err)
	}
	if err := (&clientHandshake{p: pw, hello: chw}).takeCachedInfoAck(answer(wire.CachedCertEach)); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("224 not offered: %v", err)
	}
	for _, types := range [][]uint8{{wire.CachedCert, wire.CachedCertEach}, {225}, {wire.CachedCertReq}} {
		if err := (&clientHandshake{p: p, hello: ch}).takeCachedInfoAck(answer(types...)); !errors.Is(err, alert.ErrIllegalParameter) {
			t.Errorf("answer %v: %v", types, err)
		}
	}
}

// What KnownChains keeps for certificates one by one is bounded and
// computed when a chain is stored; storing it again keeps it.
func TestKnownChainsCertificates(t *testing.T) {
	k := params.NewKnownChains(4)
	var names []string
	for i := range params.MaxKnownCerts + 2 {
		names = append(names, string(rune('a'+i)))
	}
	certs, msg := fakeChain(t, names...)
	k.Add("a.test", wire.CachedCert, msg, certs...)
	// Kept: the first MaxKnownCerts; named: all of those but the leaf.
	if n := len(k.CertDigests("a.test", wire.CachedCert, 100)); n != params.MaxKnownCerts-1 {
		t.Fatalf("%d certificates named, want %d", n, params.MaxKnownCerts-1)
	}
	k.Add("a.test", wire.CachedCert, msg) // the same chain again, without certificates
	d := sha256.Sum256(certs[0].Raw)
	if der, ok := k.LookupCert("a.test", wire.CachedCert, d[:]); !ok || !bytes.Equal(der, certs[0].Raw) {
		t.Fatal("the chain's certificates were lost when it was stored again")
	}
	if _, ok := k.LookupCert("a.test", wire.CachedCert|params.KnownTLS12, d[:]); ok {
		t.Error("a TLS 1.3 chain's certificate was found under TLS 1.2")
	}
	if got := k.CertDigests("a.test", wire.CachedCert, 3); len(got) != 3 {
		t.Errorf("%d digests for a limit of 3", len(got))
	}
}

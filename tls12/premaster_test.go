package tls12

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// With the fully random premaster agreed, the client's premaster is 48
// random bytes and the server takes whatever two bytes come first; without
// it, the version check stands.
func TestRandomPremaster(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fill := bytes.NewReader(bytes.Repeat([]byte{0xAA}, 64))
	suite, _ := SuiteByID(0x009c) // TLS_RSA_WITH_AES_128_GCM_SHA256
	hs := &clientHandshake{p: &params.Params{Rand: fill}, hello: &wire.ClientHello{Vers: 0x0303}, suite: suite,
		randomPremaster: true}
	hs.leaf = selfSignedRSA(t, key)
	ckx, err := hs.clientKeyExchange()
	if err != nil {
		t.Fatal(err)
	}
	defer hs.premaster.Free()
	if pm := hs.premaster.Bytes(); pm[0] != 0xAA || pm[1] != 0xAA {
		t.Fatalf("premaster starts %x: the version bytes were not random", pm[:2])
	}
	ct, err := ckx.EncryptedPremaster()
	if err != nil {
		t.Fatal(err)
	}
	got, err := rsaPremaster(rand.Reader, key, ct, 0x0303, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), hs.premaster.Bytes()) {
		t.Fatal("the server without the version check did not recover the random premaster")
	}
	got.Free()
	checked, err := rsaPremaster(rand.Reader, key, ct, 0x0303, true)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(checked.Bytes(), hs.premaster.Bytes()) {
		t.Fatal("the standard version check accepted random version bytes")
	}
	checked.Free()
}

func TestRandomPremasterNegotiation(t *testing.T) {
	const cp = 0xFFC3
	rsaSuite, _ := SuiteByID(0x009c)
	ecdheSuite, _ := SuiteByID(0xc02b)
	offer := &wire.ClientHello{Unknown: []wire.Extension{{Type: cp}}}
	ack := func() *wire.ServerHello { return &wire.ServerHello{Unknown: []wire.Extension{{Type: cp}}} }

	srv := &serverHandshake{p: &params.Params{RandomPremaster: cp}, hello: offer, suite: rsaSuite}
	sh := &wire.ServerHello{}
	if err := srv.agreeRandomPremaster(sh); err != nil || !srv.randomPremaster || len(sh.Unknown) != 1 {
		t.Fatalf("server with RSA: %v", err)
	}
	srv = &serverHandshake{p: &params.Params{RandomPremaster: cp}, hello: offer, suite: ecdheSuite}
	if sh := (&wire.ServerHello{}); srv.agreeRandomPremaster(sh) != nil || srv.randomPremaster || len(sh.Unknown) != 0 {
		t.Fatal("server agreed with an ECDHE suite")
	}
	bad := &serverHandshake{p: &params.Params{RandomPremaster: cp}, hello: &wire.ClientHello{Unknown: []wire.Extension{{Type: cp, Data: []byte{1}}}}, suite: rsaSuite}
	if err := bad.agreeRandomPremaster(&wire.ServerHello{}); !errors.Is(err, alert.ErrDecode) {
		t.Errorf("offer with a body: %v", err)
	}

	cl := &clientHandshake{p: &params.Params{RandomPremaster: cp}, hello: offer, suite: rsaSuite}
	if sh := ack(); cl.takeRandomPremaster(sh) != nil || !cl.randomPremaster || len(sh.Unknown) != 0 {
		t.Fatal("client did not take the acknowledgement")
	}
	cl = &clientHandshake{p: &params.Params{RandomPremaster: cp}, hello: offer, suite: ecdheSuite}
	if err := cl.takeRandomPremaster(ack()); !errors.Is(err, alert.ErrIllegalParameter) {
		t.Errorf("acknowledgement with ECDHE: %v", err)
	}
	cl = &clientHandshake{p: &params.Params{RandomPremaster: cp}, hello: &wire.ClientHello{}, suite: rsaSuite}
	if sh := ack(); cl.takeRandomPremaster(sh) != nil || len(sh.Unknown) != 1 {
		t.Error("an acknowledgement to no offer was taken")
	}
}

// selfSignedRSA is a parsed certificate for key (only its public key is
// used).
func selfSignedRSA(t *testing.T, key *rsa.PrivateKey) *x509.Certificate {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

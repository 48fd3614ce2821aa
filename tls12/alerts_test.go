package tls12

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// item is one thing on the scripted wire: a handshake message or a
// change_cipher_spec.
type item struct {
	ccs bool
	msg []byte
}

// pipeTransport carries handshake messages and change_cipher_spec between
// two engines in memory, without record protection, so a test can spoil
// messages on the way.
type pipeTransport struct {
	in      chan item
	peer    *pipeTransport
	pending []item
	mutate  func([]byte) [][]byte
}

func newPipe() (*pipeTransport, *pipeTransport) {
	a := &pipeTransport{in: make(chan item, 64)}
	b := &pipeTransport{in: make(chan item, 64)}
	a.peer, b.peer = b, a
	return a, b
}

func (p *pipeTransport) next(ctx context.Context) (item, error) {
	select {
	case it := <-p.in:
		return it, nil
	case <-ctx.Done():
		return item{}, ctx.Err()
	}
}

func (p *pipeTransport) ReadHandshake(ctx context.Context) ([]byte, error) {
	it, err := p.next(ctx)
	if err != nil {
		return nil, err
	}
	if it.ccs {
		return nil, fmt.Errorf("change_cipher_spec where a handshake message was expected: %w", alert.ErrUnexpectedMessage)
	}
	return it.msg, nil
}

func (p *pipeTransport) ReadChangeCipherSpec(ctx context.Context) error {
	it, err := p.next(ctx)
	if err != nil {
		return err
	}
	if !it.ccs {
		return fmt.Errorf("handshake message where change_cipher_spec was expected: %w", alert.ErrUnexpectedMessage)
	}
	return nil
}

func (p *pipeTransport) WriteHandshake(msg []byte) error {
	p.pending = append(p.pending, item{msg: append([]byte(nil), msg...)})
	return nil
}
func (p *pipeTransport) WriteChangeCipherSpec() error {
	p.pending = append(p.pending, item{ccs: true})
	return nil
}
func (p *pipeTransport) Flush() error {
	for _, it := range p.pending {
		if it.ccs || p.mutate == nil {
			p.peer.in <- it
			continue
		}
		for _, m := range p.mutate(it.msg) {
			p.peer.in <- item{msg: m}
		}
	}
	p.pending = nil
	return nil
}
func (p *pipeTransport) SetReadProtection(o record.Opener) error { o.Free(); return nil }
func (p *pipeTransport) SetWriteProtection(s record.Sealer)      { s.Free() }

func testCert(t *testing.T, key crypto.Signer) *params.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "server.test"}, DNSNames: []string{"server.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &params.Certificate{Chain: [][]byte{der}, Leaf: leaf, Signer: key}
}

func testParams(t *testing.T, rsaKey bool) (server, client *params.Params) {
	t.Helper()
	var key crypto.Signer
	if rsaKey {
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	cert := testCert(t, key)
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	base := params.Params{Rand: rand.Reader, Time: time.Now, MinVersion: 0x0303, MaxVersion: 0x0303,
		Suites12: AllSuites, Groups: []kex.Group{kex.X25519, kex.P256}}
	server, client = new(params.Params), new(params.Params)
	*server, *client = base, base
	server.Certificates = []*params.Certificate{cert}
	client.Roots, client.ServerName = pool, "server.test"
	return server, client
}

// clientHello is what the connection sends before the TLS 1.2 client
// engine takes over.
func clientHello(cp *params.Params) *wire.ClientHello {
	ch := &wire.ClientHello{
		Vers: 0x0303, CipherSuites: cp.Suites12, CompressionMethods: []byte{0}, ServerName: cp.ServerName,
		ExtendedMasterSecret: true, SecureRenegotiationSupported: true, ECPointFormats: []byte{0},
	}
	for _, s := range sigscheme.Supported12() {
		ch.SignatureAlgorithms = append(ch.SignatureAlgorithms, uint16(s))
	}
	for _, g := range cp.Groups {
		ch.SupportedGroups = append(ch.SupportedGroups, uint16(g))
	}
	rand.Read(ch.Random[:])
	return ch
}

// run drives both engines against each other; edit may change the
// ClientHello before it is sent.
func run(t *testing.T, sp, cp *params.Params, editHello func(*wire.ClientHello), toClient, toServer func([]byte) [][]byte) (clientErr, serverErr error) {
	t.Helper()
	ct, st := newPipe()
	ct.mutate, st.mutate = toServer, toClient
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch := clientHello(cp)
	if editHello != nil {
		editHello(ch)
	}
	raw, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		hello, err := wire.ParseClientHello(raw)
		if err == nil {
			var s *State
			s, err = ServerHandshake(ctx, sp, st, hello)
			s.Free()
		}
		if err != nil {
			cancel()
		}
		done <- err
	}()
	sh, err := expect(ctx, ct, wire.TypeServerHello, "ServerHello", wire.ParseServerHello)
	if err == nil {
		var s *State
		s, err = ClientHandshake(ctx, cp, ct, ch, sh, nil)
		s.Free()
	}
	if err != nil {
		cancel()
	}
	return err, <-done
}

func rewrite(typ uint8, f func([]byte) []byte) func([]byte) [][]byte {
	return func(m []byte) [][]byte {
		if m[0] == typ {
			return [][]byte{f(m)}
		}
		return [][]byte{m}
	}
}

func remarshal[T interface{ Marshal() ([]byte, error) }](t *testing.T, parse func([]byte) (T, error), edit func(T)) func([]byte) []byte {
	return func(m []byte) []byte {
		msg, err := parse(m)
		if err != nil {
			t.Errorf("test parse: %v", err)
			return m
		}
		edit(msg)
		out, err := msg.Marshal()
		if err != nil {
			t.Errorf("test marshal: %v", err)
			return m
		}
		return out
	}
}

func flip(m []byte) []byte { m = append([]byte(nil), m...); m[len(m)-1] ^= 1; return m }

func TestHandshakeOverPipe(t *testing.T) {
	for _, rsaKey := range []bool{false, true} {
		sp, cp := testParams(t, rsaKey)
		if rsaKey {
			sp.Suites12 = []uint16{0x009c} // RSA key transport
		}
		if cerr, serr := run(t, sp, cp, nil, nil, nil); cerr != nil || serr != nil {
			t.Fatalf("rsa %v: client %v, server %v", rsaKey, cerr, serr)
		}
	}
}

func TestAlertsForBadPeers(t *testing.T) {
	cases := []struct {
		name               string
		rsa                bool
		edit               func(sp, cp *params.Params)
		hello              func(*wire.ClientHello)
		toClient, toServer func([]byte) [][]byte
		side               string
		want               alert.Alert
	}{
		{name: "ServerHello picks a suite not offered", side: "client", want: alert.IllegalParameter,
			edit:     func(sp, cp *params.Params) { cp.Suites12 = []uint16{0xc02b} },
			toClient: rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.CipherSuite = 0xc02c }))},
		{name: "ServerHello without extended_master_secret", side: "client", want: alert.HandshakeFailure,
			toClient: rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.ExtendedMasterSecret = false }))},
		{name: "ServerHello with a non-empty renegotiation_info", side: "client", want: alert.HandshakeFailure,
			toClient: rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.SecureRenegotiation = []byte{1} }))},
		{name: "ServerKeyExchange signature tampered", side: "client", want: alert.DecryptError, toClient: rewrite(wire.TypeServerKeyExchange, flip)},
		{name: "ServerKeyExchange group not offered", side: "client", want: alert.IllegalParameter,
			toClient: rewrite(wire.TypeServerKeyExchange, remarshal(t, wire.ParseServerKeyExchange, func(ske *wire.ServerKeyExchange) { ske.Group = uint16(kex.P384) }))},
		{name: "Finished where ServerHelloDone belongs", side: "client", want: alert.UnexpectedMessage,
			toClient: rewrite(wire.TypeServerHelloDone, func([]byte) []byte {
				m, _ := (&wire.Finished{VerifyData: make([]byte, 12)}).Marshal()
				return m
			})},
		{name: "server Finished tampered", side: "client", want: alert.DecryptError, toClient: rewrite(wire.TypeFinished, flip)},

		{name: "client without extended_master_secret", side: "server", want: alert.HandshakeFailure,
			hello: func(ch *wire.ClientHello) { ch.ExtendedMasterSecret = false }},
		{name: "client with a non-empty renegotiation_info", side: "server", want: alert.HandshakeFailure,
			hello: func(ch *wire.ClientHello) { ch.SecureRenegotiation = []byte{1, 2} }},
		{name: "fallback SCSV while TLS 1.3 is available", side: "server", want: alert.InappropriateFallback,
			edit:  func(sp, cp *params.Params) { sp.MaxVersion = 0x0304 },
			hello: func(ch *wire.ClientHello) { ch.CipherSuites = append(ch.CipherSuites, scsvFallback) }},
		{name: "no suite in common", side: "server", want: alert.HandshakeFailure,
			edit: func(sp, cp *params.Params) { sp.Suites12 = []uint16{0xc030} }},
		{name: "client Finished tampered", side: "server", want: alert.DecryptError, toServer: rewrite(wire.TypeFinished, flip)},
		{name: "ClientKeyExchange malformed", side: "server", want: alert.DecodeError,
			toServer: rewrite(wire.TypeClientKeyExchange, func(m []byte) []byte { return append(m[:len(m):len(m)], 0) })},
		// RFC 5246 §7.4.7.1: a spoiled RSA premaster must not be told apart
		// from a good one until the Finished fails to match.
		{name: "RSA premaster ciphertext spoiled", rsa: true, side: "server", want: alert.DecryptError,
			edit:     func(sp, cp *params.Params) { sp.Suites12 = []uint16{0x009c} },
			toServer: rewrite(wire.TypeClientKeyExchange, flip)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, cp := testParams(t, c.rsa)
			if c.edit != nil {
				c.edit(sp, cp)
			}
			cerr, serr := run(t, sp, cp, c.hello, c.toClient, c.toServer)
			err := cerr
			if c.side == "server" {
				err = serr
			}
			if err == nil {
				t.Fatalf("%s accepted it (client %v, server %v)", c.side, cerr, serr)
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s did not detect it: %v (client %v, server %v)", c.side, err, cerr, serr)
			}
			if got := alert.For(err); got != c.want {
				t.Fatalf("%s: alert %v, want %v (%v)", c.side, got, c.want, err)
			}
		})
	}
}

package tls13

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/record"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// pipeTransport carries whole handshake messages between two engines in
// memory, with no record protection, so a test can rewrite, drop or inject
// messages on the way: a scripted peer.
type pipeTransport struct {
	in      chan []byte
	peer    *pipeTransport
	pending [][]byte
	mutate  func(msg []byte) [][]byte // messages to deliver instead of msg
}

func newPipe() (*pipeTransport, *pipeTransport) {
	a := &pipeTransport{in: make(chan []byte, 64)}
	b := &pipeTransport{in: make(chan []byte, 64)}
	a.peer, b.peer = b, a
	return a, b
}

func (p *pipeTransport) ReadHandshake(ctx context.Context) ([]byte, error) {
	select {
	case m := <-p.in:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipeTransport) WriteHandshake(msg []byte) error {
	p.pending = append(p.pending, append([]byte(nil), msg...))
	return nil
}
func (p *pipeTransport) WriteChangeCipherSpec() error { return nil }
func (p *pipeTransport) Flush() error {
	for _, m := range p.pending {
		out := [][]byte{m}
		if p.mutate != nil {
			out = p.mutate(m)
		}
		for _, o := range out {
			p.peer.in <- o
		}
	}
	p.pending = nil
	return nil
}
func (p *pipeTransport) SetReadProtection(o record.Opener) error { o.Free(); return nil }
func (p *pipeTransport) SetWriteProtection(s record.Sealer)      { s.Free() }

func testParams(t *testing.T) (server, client *Params) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "server.test"}, DNSNames: []string{"server.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	base := Params{Rand: rand.Reader, Time: time.Now, MinVersion: 0x0304, MaxVersion: 0x0304, Suites: DefaultSuites, Groups: []kex.Group{kex.X25519, kex.P256}, KeyShares: 1, CertCompressors: []certcompress.Compressor{certcompress.Zlib()}, Compressed: &params.CompressedCache{}}
	server, client = new(Params), new(Params)
	*server, *client = base, base
	server.Certificates = []*Certificate{{Chain: [][]byte{der}, Leaf: leaf, Signer: key}}
	client.Roots, client.ServerName = pool, "server.test"
	return server, client
}

// run drives a client and a server engine against each other, the
// server's messages passing through toClient and the client's through
// toServer, and returns both errors.
func run(t *testing.T, sp, cp *Params, toClient, toServer func([]byte) [][]byte) (clientErr, serverErr error) {
	t.Helper()
	ct, st := newPipe()
	ct.mutate, st.mutate = toServer, toClient
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		first, err := st.ReadHandshake(ctx)
		if err == nil && (len(first) == 0 || first[0] != wire.TypeClientHello) {
			err = unexpected("ClientHello", first)
		}
		var hello *wire.ClientHello
		if err == nil {
			hello, err = wire.ParseClientHello(first)
		}
		if err == nil {
			var s *State
			s, err = ServerHandshake(ctx, sp, st, hello)
			s.Free()
		}
		if err != nil {
			cancel() // the peer would have read our alert and stopped
		}
		done <- err
	}()
	s, clientErr := ClientHandshake(ctx, cp, ct)
	s.Free()
	if clientErr != nil {
		cancel()
	}
	return clientErr, <-done
}

// rewrite applies f to messages of one type.
func rewrite(typ uint8, f func([]byte) []byte) func([]byte) [][]byte {
	return func(m []byte) [][]byte {
		if m[0] == typ {
			return [][]byte{f(m)}
		}
		return [][]byte{m}
	}
}

func drop(typ uint8) func([]byte) [][]byte {
	return func(m []byte) [][]byte {
		if m[0] == typ {
			return nil
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

func TestHandshakeSucceedsOverPipe(t *testing.T) {
	sp, cp := testParams(t)
	if cerr, serr := run(t, sp, cp, nil, nil); cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
}

// Each row spoils one message and names the alert RFC 8446 requires of the
// side that detects it.
func TestAlertsForBadPeers(t *testing.T) {
	flip := func(m []byte) []byte { m = append([]byte(nil), m...); m[len(m)-1] ^= 1; return m }
	cases := []struct {
		name               string
		toClient, toServer func([]byte) [][]byte
		edit               func(sp, cp *Params)
		side               string // which side detects it
		want               alert.Alert
	}{
		{name: "ServerHello picks a suite not offered", side: "client", want: alert.IllegalParameter,
			edit:     func(sp, cp *Params) { cp.Suites = []uint16{TLS_AES_128_GCM_SHA256} },
			toClient: rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.CipherSuite = TLS_AES_256_GCM_SHA384 }))},
		{name: "ServerHello does not echo the session ID", side: "client", want: alert.IllegalParameter,
			toClient: rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.SessionID = make([]byte, 32) }))},
		{name: "ServerHello picks a group with no share", side: "client", want: alert.IllegalParameter,
			toClient: rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.KeyShare.Group = uint16(kex.P384) }))},
		{name: "ServerHello selects TLS 1.2", side: "client", want: alert.ProtocolVersion,
			toClient: rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.SupportedVersion = 0x0303 }))},
		{name: "EncryptedExtensions missing", side: "client", want: alert.UnexpectedMessage,
			toClient: drop(wire.TypeEncryptedExtensions)},
		{name: "ALPN the client did not offer", side: "client", want: alert.IllegalParameter,
			toClient: rewrite(wire.TypeEncryptedExtensions, remarshal(t, wire.ParseEncryptedExtensions, func(ee *wire.EncryptedExtensions) { ee.ALPN = "spdy/1" }))},
		{name: "unoffered extension in EncryptedExtensions", side: "client", want: alert.UnsupportedExtension,
			toClient: rewrite(wire.TypeEncryptedExtensions, remarshal(t, wire.ParseEncryptedExtensions, func(ee *wire.EncryptedExtensions) {
				ee.Unknown = append(ee.Unknown, wire.Extension{Type: 0xfafa})
			}))},
		{name: "Certificate missing", side: "client", want: alert.UnexpectedMessage, toClient: drop(wire.TypeCompressedCert)},
		{name: "CompressedCertificate corrupt", side: "client", want: alert.BadCertificate,
			toClient: rewrite(wire.TypeCompressedCert, remarshal(t, wire.ParseCompressedCertificate, func(cc *wire.CompressedCertificate) {
				cc.Compressed[len(cc.Compressed)/2] ^= 0x40
			}))},
		{name: "CompressedCertificate bomb", side: "client", want: alert.BadCertificate,
			toClient: rewrite(wire.TypeCompressedCert, remarshal(t, wire.ParseCompressedCertificate, func(cc *wire.CompressedCertificate) {
				cc.UncompressedLength = 1<<24 - 1
			}))},
		{name: "CompressedCertificate length lies", side: "client", want: alert.BadCertificate,
			toClient: rewrite(wire.TypeCompressedCert, remarshal(t, wire.ParseCompressedCertificate, func(cc *wire.CompressedCertificate) {
				cc.UncompressedLength--
			}))},
		{name: "CompressedCertificate with an unoffered algorithm", side: "client", want: alert.IllegalParameter,
			toClient: rewrite(wire.TypeCompressedCert, remarshal(t, wire.ParseCompressedCertificate, func(cc *wire.CompressedCertificate) {
				cc.Algorithm = wire.CertCompressionBrotli
			}))},
		{name: "CertificateVerify signature tampered", side: "client", want: alert.DecryptError, toClient: rewrite(wire.TypeCertificateVerify, flip)},
		{name: "CertificateVerify with an unoffered scheme", side: "client", want: alert.IllegalParameter,
			toClient: rewrite(wire.TypeCertificateVerify, remarshal(t, wire.ParseCertificateVerify, func(cv *wire.CertificateVerify) { cv.Algorithm = 0x0201 }))},
		{name: "server Finished tampered", side: "client", want: alert.DecryptError, toClient: rewrite(wire.TypeFinished, flip)},
		{name: "server Finished truncated", side: "client", want: alert.DecodeError,
			toClient: rewrite(wire.TypeFinished, remarshal(t, wire.ParseFinished, func(f *wire.Finished) { f.VerifyData = f.VerifyData[:12] }))},
		{name: "server Finished missing, KeyUpdate instead", side: "client", want: alert.UnexpectedMessage,
			toClient: rewrite(wire.TypeFinished, func([]byte) []byte { m, _ := (&wire.KeyUpdate{}).Marshal(); return m })},
		{name: "garbage ServerHello", side: "client", want: alert.DecodeError,
			toClient: rewrite(wire.TypeServerHello, func(m []byte) []byte { return m[: len(m)-3 : len(m)-3] })},

		{name: "ClientHello without TLS 1.3", side: "server", want: alert.ProtocolVersion,
			toServer: rewrite(wire.TypeClientHello, remarshal(t, wire.ParseClientHello, func(ch *wire.ClientHello) { ch.SupportedVersions = []uint16{0x0303} }))},
		{name: "ClientHello with compression", side: "server", want: alert.IllegalParameter,
			toServer: rewrite(wire.TypeClientHello, remarshal(t, wire.ParseClientHello, func(ch *wire.ClientHello) { ch.CompressionMethods = []byte{1, 0} }))},
		{name: "no suite in common", side: "server", want: alert.HandshakeFailure,
			edit: func(sp, cp *Params) {
				sp.Suites = []uint16{TLS_AES_256_GCM_SHA384}
				cp.Suites = []uint16{TLS_AES_128_GCM_SHA256}
			}},
		{name: "no group in common", side: "server", want: alert.HandshakeFailure,
			edit: func(sp, cp *Params) { sp.Groups = []kex.Group{kex.P384}; cp.Groups = []kex.Group{kex.X25519} }},
		{name: "no signature_algorithms", side: "server", want: alert.MissingExtension,
			toServer: rewrite(wire.TypeClientHello, remarshal(t, wire.ParseClientHello, func(ch *wire.ClientHello) { ch.SignatureAlgorithms = nil }))},
		{name: "no ALPN in common", side: "server", want: alert.NoApplicationProtocol,
			edit: func(sp, cp *Params) { sp.NextProtos = []string{"h2"}; cp.NextProtos = []string{"http/1.1"} }},
		{name: "client Finished tampered", side: "server", want: alert.DecryptError, toServer: rewrite(wire.TypeFinished, flip)},
		{name: "client sends Certificate unasked", side: "server", want: alert.UnexpectedMessage,
			toServer: rewrite(wire.TypeFinished, func([]byte) []byte { m, _ := (&wire.Certificate{}).Marshal(); return m })},
		{name: "second ClientHello with the wrong group", side: "server", want: alert.IllegalParameter,
			edit: func(sp, cp *Params) {
				sp.Groups = []kex.Group{kex.P256}
				cp.Groups = []kex.Group{kex.X25519, kex.P256, kex.P384}
			},
			toServer: func(m []byte) [][]byte {
				ch, err := wire.ParseClientHello(m)
				if err != nil || len(ch.KeyShares) != 1 || ch.KeyShares[0].Group != uint16(kex.P256) {
					return [][]byte{m}
				}
				ch.KeyShares[0].Group = uint16(kex.P384)
				out, _ := ch.Marshal()
				return [][]byte{out}
			}},
		{name: "client certificate required but absent", side: "server", want: alert.CertificateRequired,
			edit: func(sp, cp *Params) { sp.ClientAuth = RequireAnyClientCert }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, cp := testParams(t)
			if c.edit != nil {
				c.edit(sp, cp)
			}
			cerr, serr := run(t, sp, cp, c.toClient, c.toServer)
			err := cerr
			if c.side == "server" {
				err = serr
			}
			if err == nil {
				t.Fatalf("%s accepted it (client %v, server %v)", c.side, cerr, serr)
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s did not detect it: %v (other side: client %v, server %v)", c.side, err, cerr, serr)
			}
			if got := alert.For(err); got != c.want {
				t.Fatalf("%s: alert %v, want %v (%v)", c.side, got, c.want, err)
			}
		})
	}
}

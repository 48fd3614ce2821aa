package tls12

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

var testStaple = []byte{0x30, 0x03, 0x0a, 0x01, 0x00}

// What RFC 6066 §8 asks of a TLS 1.2 client: an unasked status_request
// answer is unsupported_extension, a CertificateStatus without one is
// unexpected_message, a malformed one decode_error, and one the
// application refuses bad_certificate_status_response. (Every handshake
// in which the client asked and the server did not answer hands the
// message after Certificate back through pushedBack.)
func TestCertificateStatusAlerts(t *testing.T) {
	status, err := (&wire.CertificateStatus{Response: testStaple}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ask := func(ch *wire.ClientHello) { ch.StatusRequest = true }
	staple := func(sp, cp *params.Params) { sp.Certificates[0].OCSPStaple = testStaple }
	for _, c := range []struct {
		name     string
		edit     func(sp, cp *params.Params)
		hello    func(*wire.ClientHello)
		toClient func([]byte) [][]byte
		want     alert.Alert // 0: the handshake succeeds
	}{
		{name: "stapled", edit: staple, hello: ask},
		{name: "status_request answered but not asked", want: alert.UnsupportedExtension,
			toClient: rewrite(wire.TypeServerHello, remarshal(t, wire.ParseServerHello, func(sh *wire.ServerHello) { sh.StatusRequest = true }))},
		{name: "CertificateStatus without the answer", want: alert.UnexpectedMessage,
			toClient: func(m []byte) [][]byte {
				if m[0] == wire.TypeCertificate {
					return [][]byte{m, status}
				}
				return [][]byte{m}
			}},
		{name: "CertificateStatus of another status_type", edit: staple, hello: ask, want: alert.DecodeError,
			toClient: rewrite(wire.TypeCertificateStatus, func(m []byte) []byte {
				m = append([]byte(nil), m...)
				m[wire.HeaderLen] = 2
				return m
			})},
		{name: "refused by the application", hello: ask, want: alert.BadCertificateStatusResponse,
			edit: func(sp, cp *params.Params) {
				staple(sp, cp)
				cp.VerifyOCSP = func(resp []byte, _ []*x509.Certificate) error { return errors.New("revoked") }
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sp, cp := testParams(t, false)
			if c.edit != nil {
				c.edit(sp, cp)
			}
			cerr, serr := run(t, sp, cp, c.hello, c.toClient, nil)
			if c.want == 0 {
				if cerr != nil || serr != nil {
					t.Fatalf("client %v, server %v", cerr, serr)
				}
				return
			}
			if cerr == nil || errors.Is(cerr, context.Canceled) {
				t.Fatalf("client did not refuse it: %v (server %v)", cerr, serr)
			}
			if got := alert.For(cerr); got != c.want {
				t.Fatalf("alert %v, want %v (%v)", got, c.want, cerr)
			}
		})
	}
}

package wire

import (
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// Test encodings are built from these small pieces, so each row shows the
// one thing it breaks.

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func u8(v int) []byte  { return []byte{byte(v)} }
func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
func v8(parts ...[]byte) []byte {
	b := cat(parts...)
	return cat(u8(len(b)), b)
}
func v16(parts ...[]byte) []byte {
	b := cat(parts...)
	return cat(u16(len(b)), b)
}
func v24(parts ...[]byte) []byte {
	b := cat(parts...)
	return cat([]byte{byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b)
}
func ext(typ int, body ...[]byte) []byte { return cat(u16(typ), v16(body...)) }
func msg(typ uint8, body ...[]byte) []byte {
	return reframe(typ, cat(body...))
}

var zeros32 = make([]byte, 32)

// clientHello is a minimal ClientHello with the given session id and
// extensions.
func clientHello(sid []byte, exts ...[]byte) []byte {
	return msg(TypeClientHello, u16(0x0303), zeros32, v8(sid), v16(u16(0x1301)), v8(u8(0)), v16(exts...))
}

func serverHello(random []byte, sid []byte, comp int, exts ...[]byte) []byte {
	return msg(TypeServerHello, u16(0x0303), random, v8(sid), u16(0x1301), u8(comp), v16(exts...))
}

var (
	psk          = ext(int(ExtPreSharedKey), v16(v16([]byte("id")), []byte{0, 0, 0, 1}), v16(v8(zeros32)))
	groups       = ext(int(ExtSupportedGroups), v16(u16(29)))
	sigalgs      = ext(int(ExtSignatureAlgorithms), v16(u16(0x0403)))
	goodCertData = v24([]byte{0x30, 0x00})
)

func TestRejections(t *testing.T) {
	ch := func(b []byte) error { _, err := ParseClientHello(b); return err }
	sh := func(b []byte) error { _, err := ParseServerHello(b); return err }
	ee := func(b []byte) error { _, err := ParseEncryptedExtensions(b); return err }
	cert := func(b []byte) error { _, err := ParseCertificate(b); return err }
	cert12 := func(b []byte) error { _, err := ParseCertificate12(b); return err }
	cr := func(b []byte) error { _, err := ParseCertificateRequest(b); return err }
	cv := func(b []byte) error { _, err := ParseCertificateVerify(b); return err }
	nst := func(b []byte) error { _, err := ParseNewSessionTicket(b); return err }
	ku := func(b []byte) error { _, err := ParseKeyUpdate(b); return err }
	eoed := func(b []byte) error { _, err := ParseEndOfEarlyData(b); return err }
	fin := func(b []byte) error { _, err := ParseFinished(b); return err }

	cases := []struct {
		name  string
		parse func([]byte) error
		in    []byte
		want  alert.Alert
	}{
		// ClientHello.
		{"CH duplicate known extension", ch, clientHello(nil, groups, groups), alert.DecodeError},
		{"CH duplicate unknown extension", ch, clientHello(nil, ext(0x1234), ext(0x1234)), alert.DecodeError},
		{"CH pre_shared_key not last", ch, clientHello(nil, psk, groups), alert.IllegalParameter},
		{"CH binders and identities differ", ch, clientHello(nil,
			ext(int(ExtPreSharedKey), v16(v16([]byte("id")), []byte{0, 0, 0, 1}), v16(v8(zeros32), v8(zeros32)))), alert.IllegalParameter},
		{"CH binder of 31 bytes", ch, clientHello(nil,
			ext(int(ExtPreSharedKey), v16(v16([]byte("id")), []byte{0, 0, 0, 1}), v16(v8(zeros32[:31])))), alert.DecodeError},
		{"CH session id of 33 bytes", ch, clientHello(make([]byte, 33)), alert.DecodeError},
		{"CH empty ALPN name", ch, clientHello(nil, ext(int(ExtALPN), v16(v8([]byte("h2")), v8()))), alert.DecodeError},
		{"CH empty ALPN list", ch, clientHello(nil, ext(int(ExtALPN), v16())), alert.DecodeError},
		{"CH no cipher suites", ch, msg(TypeClientHello, u16(0x0303), zeros32, v8(), v16(), v8(u8(0))), alert.DecodeError},
		{"CH odd cipher suite list", ch, msg(TypeClientHello, u16(0x0303), zeros32, v8(), v16(u8(1)), v8(u8(0))), alert.DecodeError},
		{"CH no compression methods", ch, msg(TypeClientHello, u16(0x0303), zeros32, v8(), v16(u16(0x1301)), v8()), alert.DecodeError},
		{"CH odd signature_algorithms", ch, clientHello(nil, ext(int(ExtSignatureAlgorithms), v16(u8(4)))), alert.DecodeError},
		{"CH non-empty extended_master_secret", ch, clientHello(nil, ext(int(ExtExtendedMasterSecret), u8(0))), alert.DecodeError},
		{"CH two server names", ch, clientHello(nil,
			ext(int(ExtServerName), v16(u8(0), v16([]byte("a")), u8(0), v16([]byte("b"))))), alert.DecodeError},
		{"CH server name type 1", ch, clientHello(nil, ext(int(ExtServerName), v16(u8(1), v16([]byte("a"))))), alert.DecodeError},
		{"CH server name with NUL", ch, clientHello(nil, ext(int(ExtServerName), v16(u8(0), v16([]byte("a\x00b"))))), alert.DecodeError},
		{"CH server name with a trailing dot", ch, clientHello(nil, ext(int(ExtServerName), v16(u8(0), v16([]byte("a.test."))))), alert.DecodeError},
		{"CH empty server name", ch, clientHello(nil, ext(int(ExtServerName), v16(u8(0), v16()))), alert.DecodeError},
		{"CH empty key_exchange", ch, clientHello(nil, ext(int(ExtKeyShare), v16(u16(29), v16()))), alert.DecodeError},
		{"CH trailing byte in extension", ch, clientHello(nil, ext(int(ExtSupportedGroups), v16(u16(29)), u8(0))), alert.DecodeError},
		{"CH extension overruns block", ch, msg(TypeClientHello, u16(0x0303), zeros32, v8(), v16(u16(0x1301)), v8(u8(0)),
			u16(4), u16(10), u16(5)), alert.DecodeError},
		{"CH bad status_request", ch, clientHello(nil, ext(int(ExtStatusRequest), u8(1), u16(5))), alert.DecodeError},
		{"CH unknown status_type without OCSP's layout", ch, clientHello(nil, ext(int(ExtStatusRequest), u8(7), u8(1), u8(2))), alert.DecodeError},
		{"CH odd supported_versions", ch, clientHello(nil, ext(int(ExtSupportedVersions), v8(u8(3)))), alert.DecodeError},
		{"CH empty cookie", ch, clientHello(nil, ext(int(ExtCookie), v16())), alert.DecodeError},
		{"CH empty certificate authority", ch, clientHello(nil, ext(int(ExtCertificateAuthorities), v16(v16()))), alert.DecodeError},
		{"wrong message type", ch, serverHello(zeros32, nil, 0), alert.UnexpectedMessage},

		// ServerHello and HelloRetryRequest.
		{"SH compression 1", sh, serverHello(zeros32, nil, 1), alert.IllegalParameter},
		{"SH session id of 33 bytes", sh, serverHello(zeros32, make([]byte, 33), 0), alert.DecodeError},
		{"SH supported_versions 0", sh, serverHello(zeros32, nil, 0, ext(int(ExtSupportedVersions), u16(0))), alert.IllegalParameter},
		{"SH supported_versions list", sh, serverHello(zeros32, nil, 0, ext(int(ExtSupportedVersions), v8(u16(0x0304)))), alert.DecodeError},
		{"HRR selects group 0", sh, serverHello(HelloRetryRequestRandom[:], nil, 0, ext(int(ExtKeyShare), u16(0))), alert.IllegalParameter},
		{"HRR key share with a key", sh, serverHello(HelloRetryRequestRandom[:], nil, 0, ext(int(ExtKeyShare), u16(29), v16(u8(1)))), alert.DecodeError},
		{"SH two ALPN names", sh, serverHello(zeros32, nil, 0, ext(int(ExtALPN), v16(v8([]byte("a")), v8([]byte("b"))))), alert.DecodeError},
		{"SH duplicate extension", sh, serverHello(zeros32, nil, 0, ext(int(ExtExtendedMasterSecret)), ext(int(ExtExtendedMasterSecret))), alert.DecodeError},

		// EncryptedExtensions.
		{"EE duplicate extension", ee, msg(TypeEncryptedExtensions, v16(ext(int(ExtEarlyData)), ext(int(ExtEarlyData)))), alert.DecodeError},
		{"EE empty ALPN name", ee, msg(TypeEncryptedExtensions, v16(ext(int(ExtALPN), v16(v8())))), alert.DecodeError},
		{"EE no extension block", ee, msg(TypeEncryptedExtensions), alert.DecodeError},

		// Certificate, CertificateRequest, CertificateVerify.
		{"empty certificate entry", cert, msg(TypeCertificate, v8(), v24(v24(), v16())), alert.DecodeError},
		{"entry without extension block", cert, msg(TypeCertificate, v8(), v24(goodCertData)), alert.DecodeError},
		{"entry duplicate extension", cert, msg(TypeCertificate, v8(), v24(goodCertData,
			v16(ext(int(ExtSCT), v16(v16(u8(1)))), ext(int(ExtSCT), v16(v16(u8(1))))))), alert.DecodeError},
		{"entry status_type 2", cert, msg(TypeCertificate, v8(), v24(goodCertData,
			v16(ext(int(ExtStatusRequest), u8(2), v24(u8(1)))))), alert.DecodeError},
		{"entry empty OCSP response", cert, msg(TypeCertificate, v8(), v24(goodCertData,
			v16(ext(int(ExtStatusRequest), u8(1), v24())))), alert.DecodeError},
		{"TLS 1.2 empty certificate", cert12, msg(TypeCertificate, v24(v24())), alert.DecodeError},
		{"CR without signature_algorithms", cr, msg(TypeCertificateRequest, v8(), v16(groups)), alert.MissingExtension},
		{"CR with no extensions", cr, msg(TypeCertificateRequest, v8(), v16()), alert.MissingExtension},
		{"CR empty signature_algorithms", cr, msg(TypeCertificateRequest, v8(), v16(ext(int(ExtSignatureAlgorithms), v16()))), alert.DecodeError},
		{"CR duplicate signature_algorithms", cr, msg(TypeCertificateRequest, v8(), v16(sigalgs, sigalgs)), alert.DecodeError},
		{"CV trailing byte", cv, msg(TypeCertificateVerify, u16(0x0403), v16(u8(1)), u8(0)), alert.DecodeError},

		// Post-handshake and the rest.
		{"KeyUpdate 2", ku, msg(TypeKeyUpdate, u8(2)), alert.IllegalParameter},
		{"KeyUpdate 255", ku, msg(TypeKeyUpdate, u8(255)), alert.IllegalParameter},
		{"KeyUpdate empty", ku, msg(TypeKeyUpdate), alert.DecodeError},
		{"KeyUpdate two bytes", ku, msg(TypeKeyUpdate, u8(0), u8(0)), alert.DecodeError},
		{"NST empty ticket", nst, msg(TypeNewSessionTicket, make([]byte, 8), v8(), v16(), v16()), alert.DecodeError},
		{"NST short early_data", nst, msg(TypeNewSessionTicket, make([]byte, 8), v8(), v16(u8(1)), v16(ext(int(ExtEarlyData), u16(1)))), alert.DecodeError},
		{"EndOfEarlyData with a body", eoed, msg(TypeEndOfEarlyData, u8(0)), alert.DecodeError},
		{"Finished as KeyUpdate", fin, msg(TypeKeyUpdate, u8(0)), alert.UnexpectedMessage},
		{"header longer than message", fin, []byte{TypeFinished, 0, 0, 5, 1}, alert.DecodeError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.parse(c.in)
			if err == nil {
				t.Fatalf("parsed; want %v", c.want)
			}
			if got := alert.For(err); got != c.want {
				t.Fatalf("alert %v (%v); want %v", got, err, c.want)
			}
		})
	}
}

// TestAcceptsEdges checks encodings at the edge of the rules that must
// still parse.
func TestAcceptsEdges(t *testing.T) {
	for name, in := range map[string][]byte{
		"session id of 32 bytes":     clientHello(zeros32),
		"no extension block":         msg(TypeClientHello, u16(0x0303), zeros32, v8(), v16(u16(0x1301)), v8(u8(0))),
		"empty key_share list":       clientHello(nil, ext(int(ExtKeyShare), v16())),
		"pre_shared_key last":        clientHello(nil, groups, psk),
		"unknown status_type":        clientHello(nil, ext(int(ExtStatusRequest), u8(7), v16(), v16(u8(2)))),
		"OCSP with a responder list": clientHello(nil, ext(int(ExtStatusRequest), u8(1), v16(v16(u8(1))), v16())),
	} {
		m, err := ParseClientHello(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if out, err := m.Marshal(); err != nil || string(out) != string(in) {
			t.Errorf("%s: does not re-marshal to the same bytes (%v)", name, err)
		}
	}
}

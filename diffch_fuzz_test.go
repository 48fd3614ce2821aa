package holdfast

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/wire"
	"golang.org/x/crypto/cryptobyte"
)

// stdParsesClientHello reports whether crypto/tls's server parses msg (a
// whole ClientHello message) as a ClientHello: it calls
// GetConfigForClient right after parsing it, before any policy check.
func stdParsesClientHello(t testing.TB, msg []byte) bool {
	a, b := net.Pipe()
	defer a.Close()
	parsed := make(chan bool, 1)
	errStop := errors.New("parsed; stop here")
	srv := tls.Server(b, &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		parsed <- true
		return nil, errStop
	}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.SetDeadline(time.Now().Add(5 * time.Second))
		srv.Handshake()
		b.Close()
	}()
	// One record (or more: a message longer than a record is split, as a
	// real client would).
	go func() {
		for rest := msg; len(rest) > 0; {
			n := min(len(rest), 1<<14)
			rec := append([]byte{22, 3, 1, byte(n >> 8), byte(n)}, rest[:n]...)
			if _, err := a.Write(rec); err != nil {
				return
			}
			rest = rest[n:]
		}
	}()
	// Drain whatever the server answers until it closes.
	buf := make([]byte, 512)
	for {
		if _, err := a.Read(buf); err != nil {
			break
		}
	}
	<-done
	select {
	case <-parsed:
		return true
	default:
		return false
	}
}

// goHello returns the ClientHello crypto/tls's client sends with cfg.
func goHello(t testing.TB, cfg *tls.Config) []byte {
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		tls.Client(b, cfg).Handshake()
		b.Close()
	}()
	hdr := make([]byte, 5)
	if _, err := readFull(a, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := readFull(a, body); err != nil {
		t.Fatal(err)
	}
	return body
}

func readFull(c net.Conn, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := c.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// FuzzClientHelloDifferential feeds the same ClientHello bytes to
// Holdfast's codec and to crypto/tls's server. Where crypto/tls parses a
// message, Holdfast's codec must too, unless the difference is one
// Holdfast makes on purpose (listed in knownStricter); where crypto/tls
// refuses one, Holdfast must refuse it as well.
func FuzzClientHelloDifferential(f *testing.F) {
	f.Add(goHello(f, &tls.Config{ServerName: "example.test", NextProtos: []string{"h2", "http/1.1"}}))
	f.Add(goHello(f, &tls.Config{ServerName: "example.test", MaxVersion: tls.VersionTLS12}))
	f.Add(goHello(f, &tls.Config{InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.CurveP256}}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) < 4 || msg[0] != wire.TypeClientHello || len(msg) > 1<<16 {
			return
		}
		// The header's length is the framing's business, not the
		// parser's: make it true, so both sides see one whole message.
		n := len(msg) - 4
		msg = append([]byte{wire.TypeClientHello, byte(n >> 16), byte(n >> 8), byte(n)}, msg[4:]...)
		compareClientHello(t, msg)
	})
}

// compareClientHello parses msg with Holdfast's codec and crypto/tls's
// server and fails t where they disagree other than by design.
func compareClientHello(t *testing.T, msg []byte) {
	t.Helper()
	_, ourErr := wire.ParseClientHello(msg)
	std := stdParsesClientHello(t, msg)
	switch {
	case std && ourErr != nil:
		if reason := knownStricter(ourErr); reason == "" {
			t.Errorf("crypto/tls parses this ClientHello, Holdfast refuses it: %v", ourErr)
		}
	case !std && ourErr == nil:
		// crypto/tls processes encrypted_client_hello (RFC 9849) before
		// the point this test watches, even with no ECH keys; Holdfast
		// has no ECH and ignores it as it must any unknown extension
		// (RFC 8446 §4.2). Without it the two must agree.
		if rest, ok := withoutExtension(msg, extEncryptedClientHello); ok && stdParsesClientHello(t, rest) {
			return
		}
		t.Errorf("Holdfast parses a ClientHello crypto/tls refuses")
	}
}

// stricterFields are the refusals (a field, and for server_name the
// reason) where Holdfast's codec applies a bound the RFCs state and
// crypto/tls's parser leaves to later checks or does not apply: a refusal
// naming one of them, of a message crypto/tls parses, is a difference by
// design. A trailing dot in a host_name is refused by both.
var stricterFields = map[string]string{
	// RFC 8446 §4.1.2: CipherSuite cipher_suites<2..2^16-2>; crypto/tls
	// parses an empty list and fails the handshake later.
	"cipher_suites:": "empty cipher_suites (RFC 8446 §4.1.2 <2..2^16-2>)",
	// RFC 8446 §4.1.2: opaque legacy_session_id<0..32>; crypto/tls reads
	// any length.
	"legacy_session_id:": "a session ID over 32 bytes (RFC 8446 §4.1.2 <0..32>)",
	// RFC 8446 §4.1.2: opaque legacy_compression_methods<1..2^8-1>;
	// crypto/tls parses an empty list and refuses it later.
	"legacy_compression_methods:": "empty legacy_compression_methods (RFC 8446 §4.1.2 <1..2^8-1>)",
	// RFC 8446 §4.2.9: PskKeyExchangeMode ke_modes<1..255>; crypto/tls
	// reads an empty list.
	"psk_key_exchange_modes:": "empty psk_key_exchange_modes (RFC 8446 §4.2.9 <1..255>)",
	// RFC 8446 §4.2.11: PskBinderEntry <32..255>; crypto/tls reads any
	// non-empty binder and fails it at verification.
	"pre_shared_key binder:": "a binder under 32 bytes (RFC 8446 §4.2.11 <32..255>)",
	// Extensions crypto/tls does not read in a ClientHello, so it takes
	// any body: Holdfast implements them and holds them to their RFCs.
	"certificate_authorities:":      "certificate_authorities, which crypto/tls ignores in a ClientHello (RFC 8446 §4.2.4)",
	"compress_certificate:":         "compress_certificate, which crypto/tls does not implement (RFC 8879 §3 <2..2^8-2>)",
	"trusted_ca_keys:":              "trusted_ca_keys, which crypto/tls does not implement (RFC 6066 §6)",
	"encrypt_then_mac is not empty": "encrypt_then_mac with a body, which crypto/tls does not implement (RFC 7366 §2: empty)",
	// RFC 6066 §3 defines one NameType, host_name, and gives no length
	// to others; crypto/tls skips entries of other types, Holdfast (like
	// OpenSSL) refuses a list that is not exactly one host_name.
	"server_name: a name_type other than host_name": "a server_name entry of a type other than host_name (RFC 6066 §3)",
	"server_name: more than one name":               "more than one server_name entry (RFC 6066 §3)",
	// RFC 6066 §3: a HostName is "represented as a byte string using
	// ASCII encoding"; crypto/tls takes any bytes.
	"server_name: host_name is not printable ASCII": "a host_name with control bytes, spaces or bytes past ASCII (RFC 6066 §3)",
}

// knownStricter names why Holdfast may refuse a ClientHello crypto/tls
// parses, from Holdfast's error, or "" when there is no such reason.
func knownStricter(err error) string {
	for field, reason := range stricterFields {
		if strings.Contains(err.Error(), "ClientHello: "+field) {
			return reason
		}
	}
	return ""
}

// extEncryptedClientHello is the encrypted_client_hello code point (RFC 9849).
const extEncryptedClientHello = 0xfe0d

// withoutExtension returns msg, a ClientHello whose framing Holdfast has
// parsed, with every extension of type typ taken out, and whether there
// was one.
func withoutExtension(msg []byte, typ uint16) ([]byte, bool) {
	s := cryptobyte.String(msg[4:])
	var head []byte
	var sid, suites, comp, exts cryptobyte.String
	if !s.ReadBytes(&head, 2+32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16LengthPrefixed(&suites) || !s.ReadUint8LengthPrefixed(&comp) ||
		!s.ReadUint16LengthPrefixed(&exts) {
		return nil, false
	}
	var b cryptobyte.Builder
	found := false
	b.AddUint8(msg[0])
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes(head)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sid) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(suites) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(comp) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for !exts.Empty() {
				var t uint16
				var body cryptobyte.String
				if !exts.ReadUint16(&t) || !exts.ReadUint16LengthPrefixed(&body) {
					return
				}
				if t == typ {
					found = true
					continue
				}
				b.AddUint16(t)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(body) })
			}
		})
	})
	out, err := b.Bytes()
	return out, found && err == nil
}

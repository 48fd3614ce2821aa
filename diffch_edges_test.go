package holdfast

import (
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// TestClientHelloDifferentialEdges runs the differential check of
// FuzzClientHelloDifferential over the edges of every ClientHello
// extension's encoding, so that each difference with crypto/tls is either
// one listed in stricterFields or absent, without waiting for the fuzzer
// to come across it.
func TestClientHelloDifferentialEdges(t *testing.T) {
	z := make([]byte, 32)
	identity := vec16(vec16([]byte("id")), make([]byte, 4))
	for name, msg := range map[string][]byte{
		"binder of 31 bytes":                helloWith(41, identity, vec16(vec8(z[:31]))),
		"binder of 32 bytes":                helloWith(41, identity, vec16(vec8(z))),
		"empty psk identity":                helloWith(41, vec16(vec16(), make([]byte, 4)), vec16(vec8(z))),
		"empty psk_key_exchange_modes":      helloWith(45, vec8()),
		"empty cookie":                      helloWith(44, vec16()),
		"extended_master_secret with body":  helloWith(23, []byte{0}),
		"signed_certificate_timestamp body": helloWith(18, []byte{0}),
		"early_data with body":              helloWith(42, []byte{0}),
		"empty renegotiation_info":          helloWith(0xff01, vec8()),
		"session_ticket with a ticket":      helloWith(35, []byte{1, 2}),
		"empty supported_versions":          helloWith(43, vec8()),
		"odd supported_versions":            helloWith(43, vec8([]byte{1})),
		"empty ec_point_formats":            helloWith(11, vec8()),
		"empty supported_groups":            helloWith(10, vec16()),
		"empty signature_algorithms":        helloWith(13, vec16()),
		"empty signature_algorithms_cert":   helloWith(50, vec16()),
		"empty key_share list":              helloWith(51, vec16()),
		"empty ALPN list":                   helloWith(16, vec16()),
		"empty server_name list":            helloWith(0, vec16()),
		"server_name of type 1":             helloWith(0, vec16([]byte{1}, vec16([]byte("a")))),
		"two server names":                  helloWith(0, vec16([]byte{0}, vec16([]byte("a")), []byte{0}, vec16([]byte("b")))),
		"server_name with a trailing dot":   helloWith(0, vec16([]byte{0}, vec16([]byte("a.test.")))),
		"status_request of type 7":          helloWith(5, []byte{7, 1, 2}),
		"status_request with trailing byte": helloWith(5, []byte{1}, vec16(), vec16(), []byte{0}),
		"garbage encrypted_client_hello":    helloWith(0xfe0d, []byte{9}),
		"quic_transport_parameters":         helloWith(57, []byte{9}),
		"empty certificate_authorities":     helloWith(47, vec16()),
		"empty compress_certificate":        helloWith(27, vec8()),
		"odd compress_certificate":          helloWith(27, vec8([]byte{1})),
		"garbage trusted_ca_keys":           helloWith(3, []byte{1}),
		"garbage cached_info":               helloWith(25, []byte{1}),
		"client_certificate_url with body":  helloWith(2, []byte{1}),
		"encrypt_then_mac with body":        helloWith(22, []byte{1}),
		"record_size_limit of one byte":     helloWith(28, []byte{1}),
		"padding of non-zero bytes":         helloWith(21, []byte{1}),
		"post_handshake_auth with body":     helloWith(49, []byte{0}),
		"max_fragment_length 9":             helloWith(1, []byte{9}),
	} {
		t.Run(name, func(t *testing.T) { compareClientHello(t, msg) })
	}
}

// helloWith is a TLS 1.3 ClientHello with one extension of type typ whose
// body is the concatenation of body.
func helloWith(typ uint16, body ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(1) // client_hello
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(make([]byte, 32))
		b.AddUint8(0)                    // legacy_session_id
		b.AddBytes(vec16([]byte{19, 1})) // TLS_AES_128_GCM_SHA256
		b.AddBytes(vec8([]byte{0}))      // null compression
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(typ)
			b.AddBytes(vec16(body...))
		})
	})
	return b.BytesOrPanic()
}

func vec8(parts ...[]byte) []byte  { return vec(1, parts) }
func vec16(parts ...[]byte) []byte { return vec(2, parts) }

func vec(lenBytes int, parts [][]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	out := make([]byte, lenBytes, lenBytes+len(body))
	for i := range lenBytes {
		out[i] = byte(len(body) >> (8 * (lenBytes - 1 - i)))
	}
	return append(out, body...)
}

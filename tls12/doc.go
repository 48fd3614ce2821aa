// Package tls12 is Holdfast's TLS 1.2 handshake engine (RFC 5246 with RFC
// 8422 ECDHE, RFC 7627 extended master secret and RFC 5746 renegotiation
// indication): one state struct per side whose handshake method reads
// like the RFC's message flow, over a Transport the connection provides.
//
// # Security promise
//
// The premaster secret is wiped as soon as the master secret exists; the
// master secret and the key block live in locked memory; every private-key
// operation goes through crypto.Signer (and crypto.Decrypter for RSA key
// transport) with the handshake's context. The extended master secret is
// required by default, renegotiation is refused, ServerHello and
// ClientHello randoms are fully random (no gmt_unix_time), and a server
// that also speaks TLS 1.3 writes the RFC 8446 §4.1.3 downgrade sentinel.
//
// The engine never imports the public API: the root package resolves its
// Config into params.Params.
package tls12

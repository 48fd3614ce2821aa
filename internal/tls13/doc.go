// Package tls13 is Holdfast's TLS 1.3 handshake engine (RFC 8446): one
// state struct per side whose handshake method reads like the protocol's
// message flow, over a small Transport that the connection provides.
//
// # Security promise
//
// Every secret the handshake makes lives in locked memory and is wiped as
// soon as the key schedule moves past it: key shares when the shared secret
// exists, the shared secret when the handshake secret exists, the early
// and handshake secrets when the master secret exists, handshake traffic
// secrets when the handshake ends. Private keys are reached only through
// crypto.Signer, with the handshake's context passed on to signers that
// accept one, and every signature is checked before it is sent. Failures
// wrap the alert package's reasons, so the connection sends the alert RFC
// 8446 names.
//
// The engine never imports the public API: the root package resolves its
// Config into an immutable [Params].
package tls13

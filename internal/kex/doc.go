// Package kex runs the TLS 1.3 key exchanges (RFC 8446 §4.2.7, §7.4):
// X25519, P-256, P-384 and the hybrid X25519MLKEM768.
//
// # Security promise
//
// A private share is drawn straight into locked memory: the X25519 or NIST
// scalar, or the ML-KEM seed, is a mem.Secret. X25519 is computed here
// (x25519.go, on filippo.io/edwards25519's field arithmetic) from the
// scalar in place: no library object holds a copy of it, and the ladder's
// state lives on the stack and is wiped before return. The crypto/ecdh
// (P-256, P-384) and crypto/mlkem key objects built from a scalar or seed
// (inside erase.Do) live only from the ClientHello to the ServerHello and
// are dropped by Free. The shared
// secret is written into a new mem.Secret and the library's heap copy of it
// is cleared at once. Peer shares are validated: a point off the curve, the
// wrong length, or an all-zero X25519 result is illegal_parameter.
//
// # What kex cannot promise
//
// For P-256, P-384 and ML-KEM, crypto/ecdh and crypto/mlkem keep private
// scalars, expanded keys and intermediate values in heap objects that
// Holdfast cannot wipe; X25519's fixed-base multiplication leaves the
// scalar's clamped and recoded forms in stack frames. In the default build
// these stay in freed memory until it is reused; built with
// GOEXPERIMENT=runtimesecret they are erased (erase.Do). The residue test
// of this package counts what remains in each build.
package kex

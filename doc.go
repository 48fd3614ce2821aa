// Package holdfast is a TLS 1.3 (and, soon, TLS 1.2) implementation for
// deployments where key custody is audited. Its API follows crypto/tls, so
// converting a server is an import change plus a key:
//
//	cfg := &holdfast.Config{
//		Certificates: []holdfast.Certificate{{Certificate: chain, PrivateKey: signer}},
//	}
//	ln, err := holdfast.Listen("tcp", ":443", cfg)
//
// # Promises
//
// Private keys never enter the process: a Certificate's PrivateKey is a
// crypto.Signer, and the handshake reaches the key only through it (passing
// its context to signers that accept one). Ephemeral secrets (key shares,
// every key-schedule secret, traffic keys and IVs) live in locked memory
// (package mem) and are wiped as soon as the protocol moves past them; a
// closed Conn holds none.
//
// What cannot be promised is documented in docs/ARCHITECTURE.md: copies
// made inside crypto/aes, crypto/cipher and crypto/ecdh, which only a
// GOEXPERIMENT=runtimesecret build erases.
package holdfast

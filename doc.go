// Package holdfast is a TLS 1.3 and TLS 1.2 implementation for
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
// made inside crypto/aes, crypto/cipher, crypto/ecdh (P-256, P-384) and
// crypto/mlkem, which only a GOEXPERIMENT=runtimesecret build erases.
//
// # Differences from crypto/tls
//
// What a converted program may meet:
//
//   - Keys come from backends: signer.Open opens a key by URI (pkcs11:,
//     tpm2:, openssl:, cng:, keychain:, file:); there is no
//     LoadX509KeyPair that reads a private key onto the heap.
//   - Session tickets are sealed with a tickets.KeyRing (Config.TicketKeys)
//     instead of SessionTicketKey and SetSessionTicketKeys; a client's
//     cache is a *ClientSessionCache from NewClientSessionCache.
//   - Config.VerifySignatureSchemes and ClientHelloInfo.SignatureSchemes
//     are []uint16 code points (constants in package signer).
//   - A client's VerifyConnection runs once the engine is done, after its
//     Finished in TLS 1.3, where crypto/tls runs it before.
//   - Keying material is exported with Conn.ExportKeyingMaterial;
//     ConnectionState has no such method, nor TLSUnique, signed
//     certificate timestamps or ECHAccepted.
//   - TLS 1.0 and 1.1, renegotiation and 0-RTT are not offered; CBC and RSA
//     key transport suites only when listed in Config.CipherSuites.
//   - net/http fills Request.TLS only for a *tls.Conn: a handler behind a
//     Holdfast listener reads the state from the connection (see
//     examples/server, which keeps it in the request's context).
package holdfast

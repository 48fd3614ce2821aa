// Package sigscheme is Holdfast's one place for TLS signature schemes
// (RFC 8446 §4.2.3, §4.4.3; RFC 5246 §7.4.1.4.1 as updated by RFC 8446
// and RFC 9155): the code points and the lists we offer, the choice of
// scheme for our key, signing through a crypto.Signer, and checking the
// peer's signature.
//
// # Security promise
//
// Private keys never enter this package. Every signature is made by a
// crypto.Signer, which may be an HSM, a TPM or a remote service, and only
// public keys are ever handled here, so there is nothing secret to wipe.
//
// Every signature a signer returns is verified under the signer's public
// key before Sign hands it back. A faulty device cannot make Holdfast send
// a bad signature: an RSA-CRT fault would give away the private key to
// anyone who saw it, and a backend that encodes ECDSA wrongly would fail
// the handshake at the peer with no clue on our side. Such a signature is
// dropped and reported as ErrBadSignatureFromSigner.
//
// The handshake's context reaches the backend when the signer implements
// ContextSigner, so a deadline or a closed connection stops a slow device.
//
// RSA signatures under keys above 2048 bits are verified with math/big
// (rsaverify.go): verification handles only public values, so variable
// time leaks nothing, and it is three times faster there than crypto/rsa's
// constant-time arithmetic. The encodings are rebuilt or decoded exactly as
// RFC 8017 writes them (PKCS #1 v1.5 by comparing the whole expected
// encoding, never by parsing the signature's), and FuzzRSAVerify holds
// every answer equal to crypto/rsa's. Keys of 2048 bits and below, and
// any key crypto/rsa would refuse, go to crypto/rsa.
//
// The rules RFC 8446 sets are enforced on both sides: no PKCS #1 v1.5 and
// no SHA-1 in TLS 1.3, ECDSA curves bound to their schemes in TLS 1.3,
// rsa_pss_pss_* only for id-RSASSA-PSS keys (whose key parameters are
// honoured) and rsa_pss_rsae_* only for rsaEncryption keys, PSS salts as
// long as the hash, a peer's scheme only if we offered it. Each failure
// wraps the alert reason the RFC names, for alert.For.
//
// # What sigscheme cannot promise
//
// A plain crypto.Signer cannot be interrupted: Sign checks the context
// before and after the call and discards a late signature, but while the
// call runs it waits, however long the device takes. Only a ContextSigner
// gives up on time.
//
// Verify-after-sign proves the signature is valid, not that the device is
// sound: a fault that yields a valid signature is not seen. It also costs
// one verification per handshake (cheap for RSA, about a signature's worth
// for ECDSA and Ed25519).
//
// Certificate chains are not checked here; SupportedCert only names what
// we accept in them.
package sigscheme

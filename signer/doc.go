// Package signer opens private keys by URI and returns them as
// crypto.Signer (and crypto.Decrypter for RSA) values whose private
// halves stay in their backend.
//
// Backends register a URI scheme. This package provides "file:" (a PEM or
// PKCS#8 key read straight into locked memory, for development and tests;
// it is not a custody solution), software keys generated in locked memory,
// "pkcs11:" (an HSM through a PKCS#11 module; see ParsePKCS11URI) and
// "tpm2:" (a TPM 2.0; see TPMURI). The root package registers the OS key
// stores: "openssl:", "cng:" and "keychain:".
//
// Keys whose backend can make only some of the signatures their type
// allows implement SchemeLimiter, and the TLS engine honours it.
//
// # Security promise
//
// A file key's bytes go from the file into locked memory without a heap
// copy: the file is read into a mem.Secret, the PEM body is base64-decoded
// into another, and the parsed scalar or seed is kept in a third; every
// intermediate is wiped. Each Sign rebuilds the Go key object from the
// locked scalar inside erase.Do and drops it, so no key object outlives the
// call; only a GOEXPERIMENT=runtimesecret build can also erase what the
// standard library copies while signing. Errors name the file and what is
// wrong with it, never key bytes.
//
// The package depends on no part of the TLS engine.
package signer

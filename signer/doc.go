// Package signer opens private keys by URI and returns them as
// crypto.Signer (and crypto.Decrypter for RSA) values whose private
// halves stay in their backend.
//
// Backends register a URI scheme. This package provides "file:" (a PEM or
// PKCS#8 key read straight into locked memory, for development and tests;
// it is not a custody solution) and software keys generated in locked
// memory; "pkcs11:", "tpm2:", "openssl:", "cng:" and "keychain:" arrive
// with their own issues.
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

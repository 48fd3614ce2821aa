//go:build goexperiment.runtimesecret

package hkdf

import "runtime/secret"

// protect runs f under runtime/secret.Do, which erases the registers and
// stack f used (the SHA-2 state copies made while finishing a digest)
// before returning.
func protect(f func()) { secret.Do(f) }

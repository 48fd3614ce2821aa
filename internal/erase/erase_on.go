//go:build goexperiment.runtimesecret

package erase

import "runtime/secret"

// Enabled reports whether Do erases anything (the runtimesecret build).
const Enabled = true

// Do calls f under runtime/secret.Do. See the package documentation.
func Do(f func()) { secret.Do(f) }

//go:build !goexperiment.runtimesecret

package hkdf

// protect runs f. Built with GOEXPERIMENT=runtimesecret, it instead runs f
// under runtime/secret.Do so the stack and registers f used are erased.
func protect(f func()) { f() }

// Package erase runs code that handles secrets so that the temporaries it
// leaves behind are erased.
//
// Built with GOEXPERIMENT=runtimesecret, [Do] runs its function under
// runtime/secret.Do: the registers and stack the function used are erased
// before Do returns, and heap objects it allocated are erased once the
// garbage collector finds them unreachable. That covers what Holdfast cannot
// wipe itself: SHA-2 states copied onto the stack, crypto/ecdh and
// crypto/mlkem key objects, vector registers spilled into signal frames.
// In the default build Do simply calls the function; those temporaries then
// stay until the memory is reused, which the residue tests measure.
package erase

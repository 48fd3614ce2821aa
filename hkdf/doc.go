// Package hkdf derives TLS keys inside locked memory: HKDF-Extract and
// HKDF-Expand (RFC 5869), HKDF-Expand-Label and Derive-Secret (RFC 8446
// §7.1), the TLS 1.3 key schedule as stage types, and the TLS 1.2 PRF
// (RFC 5246 §5), each for SHA-256 and SHA-384.
//
// # Security promise
//
// Secret inputs and outputs are [mem.Secret] slots. HMAC is computed here
// rather than with crypto/hmac, whose padded keys live in heap slices that
// cannot be wiped: the padded key block, the inner digest and every
// intermediate block sit in a locked scratch slot, and after each call the
// hash state is overwritten (its buffered block filled with zeros and its
// chaining value reset), so no key-derived value stays in a heap object
// once the call returns. A derivation allocates nothing in steady state.
//
// Each TLS 1.3 stage ([EarlySecret], [HandshakeSecret], [MasterSecret])
// owns its secret; moving to the next stage wipes the previous one, so the
// early and handshake secrets are gone once the master secret exists.
//
// # What hkdf cannot promise
//
// The SHA-2 implementations copy their state onto the goroutine stack while
// finishing a digest (Sum). Those stack words are overwritten as the stack
// is reused but not wiped on return. Build with GOEXPERIMENT=runtimesecret
// to have derivations run under runtime/secret.Do, which erases the stack
// and registers they used before returning.
package hkdf

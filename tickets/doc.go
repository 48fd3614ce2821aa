// Package tickets keeps the keys that seal TLS session tickets.
//
// A KeyRing holds ticket-encryption keys in locked memory (package mem):
// the current key, which seals new tickets with AES-256-GCM, and older
// keys still accepted to open tickets issued before a rotation. Each key
// has a public 16-byte name carried at the front of every ticket it seals,
// a time from which it may seal (its introduction: in a farm, a key is
// accepted on every node before any node seals with it) and a time after
// which nothing it sealed is accepted; then it is wiped.
//
// NewRotatingKeyRing makes the default, in-process ring: keys from
// crypto/rand, a new one every period, accepted for a number of periods
// more. Providers that share keys between processes (a farm on Redis)
// feed a ring made by NewKeyRing with Install.
//
// # Security promise
//
// Ticket keys exist only in locked, dump-excluded memory and are wiped
// when they expire, when the ring is closed, or when Install's caller
// replaces them; no key byte is copied to the Go heap by this package.
// The AES key schedule is built for each call inside erase.Do, which in a
// GOEXPERIMENT=runtimesecret build also erases what crypto/aes copies;
// in the default build those copies are garbage the runtime may keep
// until reused. Tickets carry only the key name, a random nonce and the
// sealed state; a ticket whose name is unknown, expired or whose tag does
// not verify opens to ErrUnknownTicket without saying which.
package tickets

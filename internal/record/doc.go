// Package record is the TLS record layer (RFC 8446 §5, RFC 5246 §6): it
// frames, protects and unprotects records for one connection, in one read
// buffer and one write buffer that are reused for the connection's life.
//
// # Security promise
//
// Record keys and IVs arrive as mem.Secrets. The per-record nonce (IV XOR
// sequence number) is built in locked memory, and the IV never leaves it.
// Sequence numbers never wrap: sealing stops at the AEAD's usage limit, and
// [Sealer.NeedsKeyUpdate] reports, well before that, when the engine must
// send a KeyUpdate. Records are decrypted in place; a failed open is
// bad_record_mac whatever went wrong, and a record longer than the limit is
// record_overflow before any decryption is tried.
//
// # What record cannot promise
//
// The AEAD implementations (crypto/aes with crypto/cipher GCM,
// x/crypto/chacha20poly1305) copy the key into heap state: AES round keys
// and the GHASH key, or the ChaCha20 key. Those copies live as long as the
// protection does and are dropped, not wiped, when it is freed; see
// docs/ARCHITECTURE.md.
package record

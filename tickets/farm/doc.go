// Package farm shares session-ticket keys between the nodes of a server
// farm through Redis, so that a ticket one node issues resumes on any
// other.
//
// Every node runs a Provider, which keeps a tickets.KeyRing (its Ring, to
// be used as holdfast.Config.TicketKeys) filled with the farm's keys. One
// node at a time holds a rotation lease in Redis (SET NX PX with a random
// token, renewed, released on Close) and makes the next key from
// crypto/rand every Period. A new key is published IntroDelay before it
// may seal (sealFrom = now + IntroDelay), so every node holds it before
// any node seals with it, and it keeps opening tickets until acceptUntil =
// sealFrom + Period*(1+Accept). Nodes learn new keys by pub/sub, with a
// poll every PollInterval (shorter than IntroDelay) as the fallback, and a
// node that starts or restarts fetches the current set at once. Expired
// keys are deleted from Redis by the lease holder and wiped from every
// ring when they expire.
//
// When Redis is down, nodes keep serving with the keys they hold: the
// newest keeps sealing past its period, older ones keep opening until
// they expire. They reconnect with backoff and catch up when Redis
// returns, whether or not Redis kept its data. Keys are never taken out
// of a ring because Redis forgot them.
//
// # Security promise
//
// Redis, its replicas and its backups never hold a ticket key in
// plaintext. Each key is wrapped (RFC 5649, CKM_AES_KEY_WRAP_PAD) under a
// key-encryption key that stays in a signer.KeyWrapper backend (an HSM);
// Redis stores only the wrapped key, its public name and its two times.
// The key's name and times are wrapped together with it and checked on
// unwrap, so a writer to Redis without the KEK can neither plant a key nor
// rename one nor stretch its lifetime; at most it can delete keys (nodes
// then issue full handshakes) or replay an expired record (refused by its
// wrapped times).
//
// In the process, a key is made in locked memory (package mem), wrapped
// from there, and unwrapped by the backend straight into locked memory,
// which is wiped as soon as the ring has its own locked copy; no key byte
// passes through the Go heap, logs or errors. What the ring guarantees
// from there is described in package tickets.
//
// Redis access can be authenticated (Config.Username, Config.Password:
// Redis AUTH) and encrypted (Config.TLSConfig: Redis's tls-port);
// neither is needed for the keys' secrecy, which the wrapping gives, but
// both keep a stranger from deleting keys or flooding the channel.
//
// A Provider does not own its Wrapper: Close stops the provider and wipes
// its ring but leaves the Wrapper to its opener.
package farm

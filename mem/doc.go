// Package mem keeps short-lived secrets in memory that the operating system
// will not page to disk, that core dumps leave out, that a forked child does
// not inherit, and that is wiped the moment its owner lets go of it.
//
// # Job
//
// Every ephemeral secret Holdfast makes (ECDHE private shares, shared
// secrets, premaster and master secrets, every TLS 1.3 key-schedule stage,
// traffic keys and IVs, session-ticket keys) is held in a [Secret]: a
// fixed-length slot inside an arena that mem maps itself, outside the Go
// heap, so the garbage collector never moves or copies it.
//
// Arenas are anonymous private mappings with a PROT_NONE guard page on each
// side. Their data pages are locked (mlock, VirtualLock), excluded from core
// dumps (MADV_DONTDUMP) and zero-filled in a forked child (MADV_WIPEONFORK).
// Small secrets share pages: each arena serves one size class, so one 4 KiB
// page holds 85 secrets of 48 bytes and a TLS connection's steady-state
// secrets cost a few hundred bytes of the process's RLIMIT_MEMLOCK budget
// rather than a page each.
//
// # Security promise
//
//   - A slot is zeroed by [Secret.Free] before it can be handed out again,
//     and a fresh slot always reads as zeros.
//   - Freeing twice, or reading through a handle after Free, panics with a
//     message that names the size of the secret and nothing of its bytes.
//   - By default, memory that cannot be locked is an error ([*LockError])
//     that names the limit, the amount asked for and how to raise it. With
//     [Options.AllowUnlocked] the pool falls back to unlocked memory that is
//     still guarded, excluded from dumps and zeroed, and counts the fallback
//     in [Stats].
//   - A Secret never prints its contents: fmt verbs print "[redacted]".
//
// # What mem cannot promise
//
//   - Copies made by others. The slice returned by [Secret.Bytes] points into
//     the locked slot; whatever a caller passes it to (crypto/aes key
//     expansion, crypto/cipher AEAD state, a hash's internal buffer) may
//     copy it into heap or stack memory that mem does not own. Holdfast's
//     own packages scrub the states they can reach; see docs/ARCHITECTURE.md
//     for the full list of what remains.
//   - Slices kept after Free. Bytes returns a view, not a copy; a caller
//     that keeps the view past Free reads zeros (or, after reuse, another
//     owner's secret). Owners must drop views when they free.
//   - Hibernation, VM snapshots and privileged readers of the process's
//     memory (ptrace, /proc/PID/mem as root) are outside any in-process
//     defence.
//
// Arenas are kept for reuse once mapped; locked memory grows to the peak
// number of live secrets and stays there until [Pool.Close].
package mem

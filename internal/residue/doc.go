// Package residue lets tests prove that a secret, once freed, left no copy
// of itself anywhere in the process's memory.
//
// # Job
//
// Holdfast keeps every secret in a [mem.Secret] and wipes it on Free. That
// is only worth something if no one copied the secret elsewhere first: into
// a heap buffer, a goroutine stack, a cipher's key schedule, a signal frame.
// Each feature that handles secrets adds a test that runs the feature,
// frees its secrets and then calls [AssertNone] with the secrets' values.
// [Scan] reads every writable mapping of the process (the Go heap, every
// goroutine stack, the runtime's own off-heap memory, thread stacks,
// anything mmapped) through /proc/self/mem and reports each place a value
// still occurs.
//
// # Keeping the needle without making a copy
//
// To look for a secret after it is freed, the test must keep its value,
// and that kept value is itself a copy. Keep it in another live
// mem.Secret, made with [NewNeedle] before the original is freed, and
// name its pool: Scan leaves out the live slots of the pools it is given,
// and always leaves out the memory of the needles it is handed. Do not
// build needles in []byte or string values: every heap or stack copy made
// on the way is found, and rightly so.
//
//	func TestHandshakeLeavesNoSecrets(t *testing.T) {
//		hs := newTestHandshake(t)
//		needle, err := residue.NewNeedle(nil, hs.masterSecret.Bytes())
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer needle.Free()
//		hs.Close() // frees the master secret
//		residue.AssertNone(t, [][]byte{needle.Bytes()}, mem.Default())
//	}
//
// NewNeedle copies a byte at a time because the built-in copy does not
// leave registers clean: it moves 16 to 64 bytes at a time through vector
// registers and leaves them there, and the next time the runtime preempts
// the goroutine with a signal (sysmon does so to any goroutine running
// for 10ms), the kernel saves all of them into a signal frame on the
// thread's signal stack. Go allocates that stack on its heap, so the
// secret sits there, whole, until another signal overwrites the frame. The
// same holds for code under test: a secret moved with copy is found in a
// signal frame, and that finding is real.
//
// Needles should be random and at least 16 bytes long. Fill secrets with
// crypto/rand.Read straight into Secret.Bytes(): with the default Reader
// it has the kernel write into the slot, while a replaced Reader
// (testing/cryptotest.SetGlobalRandom) goes through a heap buffer.
//
// # What a scan promises
//
//   - Every mapping that is readable and writable (private or shared,
//     anonymous or backed by a file) and every readable anonymous mapping
//     is read, except the kernel's [vvar], [vdso] and [vsyscall]. Pages
//     that are swapped out are read back in.
//   - A copy lying across the boundary between two reads, or between two
//     adjacent mappings, is found, and every copy is reported once.
//   - Scan makes no copy of a needle. It never turns one into a string or
//     appends it anywhere; it reads memory into a buffer it maps outside
//     the Go heap, keeps that buffer out of core dumps and forked children,
//     leaves it out of the scan and wipes it before unmapping it; and it
//     compares candidates a byte at a time, where bytes.Index would hold a
//     whole needle in a vector register for a signal to save. A needle
//     found in memory passes through a register for the instant it takes
//     to compare it.
//   - A scan that could not read memory fails: Scan puts a random canary
//     on the Go heap and returns [ErrSelfCheck] if it does not find it
//     there. Findings name a needle by index, an address and a mapping,
//     never the bytes.
//
// # What it cannot promise
//
//   - The process keeps running during a scan. Another goroutine may make
//     or erase a copy while memory is read, and a copy may appear just
//     after the scan; scans are only a snapshot. Scans are serialized with
//     one another, since one scan's buffer would hold another's needles.
//   - Registers are not memory: a value still held in a register when the
//     scan runs is not found until a signal or a context switch stores it.
//   - Memory the kernel holds is not the process's: socket and pipe
//     buffers, the page cache, the kernel's own stacks and the bounce page
//     it reads /proc/self/mem through. Nor are other processes, such as a
//     forked child, or a swap device that a page was written to before it
//     was read back in.
//   - Memory that cannot be read (PROT_NONE guard pages and reservations,
//     device memory) is skipped and counted in [Report.Unreadable].
//   - A garbage collection frees memory without wiping it. A dropped heap
//     copy is reported until the runtime reuses its memory: the scan is
//     strict, because such a copy is there for a core dump or an
//     over-read to find.
//   - A needle that is short or regular (zeros, a repeated byte) matches
//     unrelated memory; after 10000 copies Scan stops with
//     [ErrTooManyFindings].
//
// Scanning needs Linux's /proc. Elsewhere Scan returns an error wrapping
// [errors.ErrUnsupported] and AssertNone skips the test, saying why.
package residue

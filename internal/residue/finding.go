package residue

import (
	"errors"
	"fmt"
)

// A Finding is one copy of a needle found outside every excluded range. It
// says where the copy is and never what it holds.
type Finding struct {
	Needle  int     // index of the needle in the slice given to Scan
	Addr    uintptr // address of the copy's first byte
	Mapping string  // the /proc/self/maps line of the mapping holding Addr
}

// String describes the finding by address and mapping only.
func (f Finding) String() string {
	return fmt.Sprintf("needle %d: copy at %#x in mapping %q", f.Needle, f.Addr, f.Mapping)
}

// A Report is the result of one [Scan].
type Report struct {
	// Findings lists every copy found, once each, in address order.
	Findings []Finding
	// Mappings counts the mappings of /proc/self/maps that were read.
	Mappings int
	// Bytes counts the bytes of memory read and searched.
	Bytes int64
	// Unreadable counts bytes of scanned mappings that the kernel refused
	// to read (pages torn down during the scan, device memory); they were
	// skipped.
	Unreadable int64
}

// MaxNeedleLen is the longest needle Scan accepts. Secrets are short; a
// longer one is searched for by a 32-byte piece of it.
const MaxNeedleLen = 4096

var (
	// ErrTooManyFindings is returned, together with the first findings,
	// when a scan finds so many copies that a needle is probably not a
	// random value.
	ErrTooManyFindings = errors.New("residue: too many copies found; are the needles random?")

	// ErrSelfCheck is returned when the scanner did not find a random
	// value it had just put on the Go heap, which means it could not read
	// the process's memory and its silence would prove nothing.
	ErrSelfCheck = errors.New("residue: self-check failed: the scanner did not find its own canary on the Go heap")
)

// checkNeedles rejects needles Scan cannot search for, naming the needle by
// index and length only.
func checkNeedles(needles [][]byte) error {
	if len(needles) == 0 {
		return errors.New("residue: no needles")
	}
	for i, n := range needles {
		if len(n) == 0 || len(n) > MaxNeedleLen {
			return fmt.Errorf("residue: needle %d is %d bytes; want 1 to %d", i, len(n), MaxNeedleLen)
		}
	}
	return nil
}

package mem

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// adviseRegion keeps the data pages out of core dumps and has the kernel
// hand a forked child zero-filled pages instead of a copy of our secrets.
// Both are required: a kernel without MADV_WIPEONFORK (before 4.14) is
// refused rather than silently weaker.
func adviseRegion(data []byte) error {
	if err := unix.Madvise(data, unix.MADV_DONTDUMP); err != nil {
		return fmt.Errorf("madvise(MADV_DONTDUMP): %w", err)
	}
	if err := unix.Madvise(data, unix.MADV_WIPEONFORK); err != nil {
		return fmt.Errorf("madvise(MADV_WIPEONFORK, needs Linux 4.14 or later): %w", err)
	}
	return nil
}

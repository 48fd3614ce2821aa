//go:build unix

package mem

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// mapRegion maps dataLen bytes of anonymous private memory between two
// PROT_NONE guard pages, so a stray read or write just past a slot faults
// instead of touching other memory.
func mapRegion(dataLen, page int) (region, error) {
	total := dataLen + 2*page
	m, err := unix.Mmap(-1, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return region{}, fmt.Errorf("mmap: %w", err)
	}
	r := region{mapping: m, data: m[page : page+dataLen : page+dataLen]}
	if err := unix.Mprotect(m[:page], unix.PROT_NONE); err != nil {
		releaseRegion(r)
		return region{}, fmt.Errorf("mprotect guard page: %w", err)
	}
	if err := unix.Mprotect(m[total-page:], unix.PROT_NONE); err != nil {
		releaseRegion(r)
		return region{}, fmt.Errorf("mprotect guard page: %w", err)
	}
	if err := adviseRegion(r.data); err != nil {
		releaseRegion(r)
		return region{}, err
	}
	return r, nil
}

func lockRegion(r region) error {
	if err := unix.Mlock(r.data); err != nil {
		return fmt.Errorf("mlock: %w", err)
	}
	return nil
}

// releaseRegion unlocks and unmaps a region. The caller has wiped it.
func releaseRegion(r region) {
	_ = unix.Munlock(r.data)
	_ = unix.Munmap(r.mapping)
}

func lockLimit() string {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
		return "RLIMIT_MEMLOCK unknown: " + err.Error()
	}
	if rl.Cur == unix.RLIM_INFINITY {
		return "RLIMIT_MEMLOCK is unlimited"
	}
	return fmt.Sprintf("RLIMIT_MEMLOCK is %d bytes", rl.Cur)
}

const lockAdvice = "raise RLIMIT_MEMLOCK (ulimit -l, systemd LimitMEMLOCK=, docker --ulimit memlock=) or grant CAP_IPC_LOCK"

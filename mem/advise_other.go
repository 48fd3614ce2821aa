//go:build unix && !linux

package mem

// adviseRegion has no portable equivalent of MADV_DONTDUMP and
// MADV_WIPEONFORK outside Linux; on these systems core dumps must be
// disabled for the process (setrlimit RLIMIT_CORE 0), as
// docs/ARCHITECTURE.md says.
func adviseRegion([]byte) error { return nil }

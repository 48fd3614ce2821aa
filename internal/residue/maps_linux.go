package residue

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A mapping is one line of /proc/self/maps.
type mapping struct {
	start, end uintptr
	perms      string // "rw-p" and the like
	path       string // "" for anonymous memory, "[heap]", a file name, ...
	line       string // the whole line, for Finding.Mapping
}

// readMaps parses /proc/self/maps. The kernel lists mappings in address
// order; the list is a snapshot and may be stale by the time it is used.
func readMaps() ([]mapping, error) {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("residue: %w", err)
	}
	var maps []mapping
	for line := range strings.SplitSeq(string(data), "\n") {
		if line == "" {
			continue
		}
		m, err := parseMapping(line)
		if err != nil {
			return nil, err
		}
		maps = append(maps, m)
	}
	return maps, nil
}

// parseMapping parses "start-end perms offset dev inode [path]". The path
// may hold spaces, so it is everything after the fifth field.
func parseMapping(line string) (mapping, error) {
	rest := line
	var fields [5]string
	for i := range fields {
		rest = strings.TrimLeft(rest, " ")
		f, r, _ := strings.Cut(rest, " ")
		fields[i], rest = f, r
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if !ok || err1 != nil || err2 != nil || end < start || len(fields[1]) != 4 {
		return mapping{}, fmt.Errorf("residue: unexpected line in /proc/self/maps: %q", line)
	}
	return mapping{
		start: uintptr(start),
		end:   uintptr(end),
		perms: fields[1],
		path:  strings.TrimLeft(rest, " "),
		line:  strings.TrimRight(line, " "),
	}, nil
}

// scanned reports whether the scanner reads a mapping: every readable and
// writable mapping (private or shared, anonymous or file-backed), and
// readable anonymous memory that was made read-only after it was written.
// Read-only file mappings hold what the file holds, and the kernel's
// pseudo-mappings ([vvar], [vvar_vclock], [vdso], [vsyscall]) are the
// kernel's, so both are left out.
func (m mapping) scanned() bool {
	if m.perms[0] != 'r' || strings.HasPrefix(m.path, "[v") {
		return false
	}
	if m.perms[1] == 'w' {
		return true
	}
	return m.path == "" || strings.HasPrefix(m.path, "[anon:")
}

// A span is the address range [start, end).
type span struct{ start, end uintptr }

// runs turns the scanned mappings into maximal contiguous spans, so that a
// copy lying across the boundary of two adjacent mappings is still found,
// and cuts the hole (the scanner's own buffer) out of them.
func runs(maps []mapping, hole span) []span {
	var out []span
	add := func(s span) {
		if s.start >= s.end {
			return
		}
		if n := len(out); n > 0 && out[n-1].end == s.start {
			out[n-1].end = s.end
			return
		}
		out = append(out, s)
	}
	for _, m := range maps {
		if !m.scanned() {
			continue
		}
		if hole.start < m.end && m.start < hole.end {
			add(span{m.start, min(m.end, hole.start)})
			add(span{max(m.start, hole.end), m.end})
			continue
		}
		add(span{m.start, m.end})
	}
	return out
}

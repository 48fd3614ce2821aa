package residue

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"sync"
	"unsafe"

	"github.com/holdfast-tls/holdfast/mem"
	"golang.org/x/sys/unix"
)

// chunkSize is how much memory one pread of /proc/self/mem asks for. Chunks
// end at multiples of chunkSize in the address space, which lets tests put
// a copy across a chunk boundary; tests shrink it to reach more of them. It
// must be a multiple of the page size.
var chunkSize = 1 << 20

// memPath is the file memory is read through; a test points it at
// /dev/zero to blind the scanner.
var memPath = "/proc/self/mem"

// bufferHint, when set, is where the read buffer must be mapped; a test
// puts it right after memory holding a needle.
var bufferHint unsafe.Pointer

// maxFindings bounds a report: a needle that is not random (all zeros, a
// repeated byte) matches almost everywhere.
const maxFindings = 10000

// canaryLen is the length of the scanner's self-check value.
const canaryLen = 32

// scanMu serializes scans. A second scan running at the same time would
// read the first one's needles into its own buffer, which the first one
// does not exclude, and report them as copies.
var scanMu sync.Mutex

// canaryHome keeps the self-check value on the Go heap, where the scanner
// must find it. It is only set during a scan, under scanMu.
var canaryHome *[canaryLen]byte

// Scan searches this process's memory for copies of the needles and reports
// every copy outside the live slots of pools and outside the needles' own
// storage. It reads, through /proc/self/mem, every readable and writable
// mapping in /proc/self/maps (the Go heap and goroutine stacks included)
// and read-only anonymous memory.
//
// Keep needles in live [mem.Secret] slots and pass their pool, so that
// building a needle makes no copy of its own; see the package
// documentation. Needles should be random and at least 16 bytes long: a
// short or regular needle also matches unrelated memory.
//
// Scan makes no copy of a needle: it never converts one to a string or
// appends it anywhere, it reads memory into a buffer it maps outside the Go
// heap, leaves that buffer out of the scan and wipes it before unmapping
// it, and it compares candidates one byte at a time.
//
// The process keeps running while Scan reads it, so a copy made or erased
// by another goroutine during the scan may or may not be seen. Scans are
// serialized with each other.
//
// A scan that could not read the Go heap fails with [ErrSelfCheck] rather
// than report nothing. More than 10000 copies end the search with
// [ErrTooManyFindings] and the findings so far.
func Scan(needles [][]byte, pools ...*mem.Pool) (Report, error) {
	if err := checkNeedles(needles); err != nil {
		return Report{}, err
	}
	scanMu.Lock()
	defer scanMu.Unlock()

	canaryHome = new([canaryLen]byte)
	defer func() { canaryHome = nil }()
	canary := canaryHome[:]
	rand.Read(canary)

	targets := make([]target, 0, len(needles)+1)
	for i, n := range needles {
		targets = append(targets, newTarget(n, i))
	}
	targets = append(targets, newTarget(canary, -1))

	var excl []span
	for _, n := range needles {
		excl = append(excl, spanOf(n))
	}
	for _, p := range pools {
		p.LiveRanges(func(start, end uintptr) { excl = append(excl, span{start, end}) })
	}

	s, err := newScanner(targets, newExclusion(excl))
	if err != nil {
		return Report{}, err
	}
	defer s.close()
	s.canaryHome = spanOf(canary).start
	if err := s.scan(); err != nil {
		return s.report(), err
	}
	if !s.canarySeen {
		return s.report(), ErrSelfCheck
	}
	return s.report(), nil
}

func spanOf(b []byte) span {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return span{start, start + uintptr(len(b))}
}

// A scanner holds one scan's state.
type scanner struct {
	targets []target
	maxLen  int
	excl    exclusion
	mem     *os.File
	buf     []byte // mapped outside the Go heap; see newScanner
	page    uintptr
	maps    []mapping
	rep     Report
	full    bool // maxFindings reached

	canaryHome uintptr // where the canary is on the heap
	canarySeen bool    // whether it was found there
}

// newScanner opens /proc/self/mem and maps the read buffer: anonymous
// private memory, so what it reads never lands on the Go heap, kept out of
// core dumps and zeroed in a forked child like mem's arenas. It holds a
// chunk plus the overlap that lets a copy straddle two chunks.
func newScanner(targets []target, excl exclusion) (*scanner, error) {
	s := &scanner{targets: targets, excl: excl, page: uintptr(os.Getpagesize())}
	for _, t := range targets {
		s.maxLen = max(s.maxLen, len(t.needle))
	}
	f, err := os.Open(memPath)
	if err != nil {
		return nil, fmt.Errorf("residue: %w", err)
	}
	s.mem = f
	size := int(roundUp(uintptr(chunkSize+s.maxLen-1), s.page))
	flags := unix.MAP_PRIVATE | unix.MAP_ANON
	if bufferHint != nil {
		flags |= unix.MAP_FIXED_NOREPLACE
	}
	ptr, err := unix.MmapPtr(-1, 0, bufferHint, uintptr(size), unix.PROT_READ|unix.PROT_WRITE, flags)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("residue: mapping the read buffer: %w", err)
	}
	buf := unsafe.Slice((*byte)(ptr), size)
	s.buf = buf
	for _, advice := range []int{unix.MADV_DONTDUMP, unix.MADV_WIPEONFORK} {
		if err := unix.Madvise(buf, advice); err != nil {
			s.close()
			return nil, fmt.Errorf("residue: madvise on the read buffer: %w", err)
		}
	}
	return s, nil
}

// close wipes and unmaps the buffer: it may hold copies of live secrets.
func (s *scanner) close() {
	clear(s.buf)
	_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(s.buf)), uintptr(len(s.buf)))
	s.mem.Close()
}

func (s *scanner) report() Report {
	slices.SortFunc(s.rep.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Addr, b.Addr), cmp.Compare(a.Needle, b.Needle))
	})
	return s.rep
}

func (s *scanner) scan() error {
	maps, err := readMaps()
	if err != nil {
		return err
	}
	s.maps = maps
	for _, m := range maps {
		if m.scanned() {
			s.rep.Mappings++
		}
	}
	for _, r := range runs(maps, spanOf(s.buf)) {
		s.scanRun(r)
		if s.full {
			return fmt.Errorf("%w (%d)", ErrTooManyFindings, maxFindings)
		}
	}
	return nil
}

// scanRun reads one contiguous span chunk by chunk. Each read starts up to
// maxLen-1 bytes before its chunk, so a copy that ends in this chunk but
// started in the last one is whole in the buffer; searchWindow skips the
// copies the last read already saw.
func (s *scanner) scanRun(r span) {
	chunk := uintptr(chunkSize)
	pos := r.start     // first byte not yet read
	stretch := r.start // first byte of the current unbroken readable stretch
	for pos < r.end && !s.full {
		end := min(roundDown(pos, chunk)+chunk, r.end)
		carry := min(uintptr(s.maxLen-1), pos-stretch)
		from := pos - carry
		w := s.buf[:end-from]
		n, err := s.mem.ReadAt(w, int64(from))
		if n > 0 {
			s.searchWindow(w[:n], from, carry)
			if uintptr(n) > carry {
				s.rep.Bytes += int64(uintptr(n) - carry)
			}
		}
		if err == nil {
			pos = end
			continue
		}
		bad := from + uintptr(n)
		if bad < pos {
			// The overlap, read last time, failed now: the mapping
			// changed under the scan. Read again without it.
			stretch = pos
			continue
		}
		// The kernel refused the page at bad. If it is the first page
		// of its mapping, the whole mapping is unreadable (device or
		// PFN-mapped memory); otherwise skip that page alone.
		next := roundUp(bad+1, s.page)
		if m, ok := s.mappingAt(bad); ok && m.start == bad {
			next = m.end
		}
		next = min(next, r.end)
		s.rep.Unreadable += int64(next - bad)
		pos, stretch = next, next
	}
}

// searchWindow finds every copy of every target in w, which holds the
// memory from address base on. The first carry bytes were read before, as
// the tail of the previous window: a copy of an n-byte needle starting
// before carry-n+1 lay wholly in that window and was already reported.
func (s *scanner) searchWindow(w []byte, base, carry uintptr) {
	for ti := range s.targets {
		t := &s.targets[ti]
		off := 0
		if skip := int(carry) - len(t.needle) + 1; skip > 0 {
			off = skip
		}
		for off < len(w) {
			i := t.find(w[off:])
			if i < 0 {
				break
			}
			s.found(t, base+uintptr(off+i))
			if s.full {
				return
			}
			off += i + 1
		}
	}
}

func (s *scanner) found(t *target, addr uintptr) {
	if t.index < 0 {
		// Other copies of the canary (in registers saved by a signal,
		// say) are the scanner's own and not reported.
		s.canarySeen = s.canarySeen || addr == s.canaryHome
		return
	}
	if s.excl.covers(addr, len(t.needle)) {
		return
	}
	if len(s.rep.Findings) == maxFindings {
		s.full = true
		return
	}
	f := Finding{Needle: t.index, Addr: addr}
	if m, ok := s.mappingAt(addr); ok {
		f.Mapping = m.line
	}
	s.rep.Findings = append(s.rep.Findings, f)
}

// mappingAt returns the mapping holding addr in the list read at the start
// of the scan.
func (s *scanner) mappingAt(addr uintptr) (mapping, bool) {
	i, ok := slices.BinarySearchFunc(s.maps, addr, func(m mapping, a uintptr) int {
		switch {
		case m.end <= a:
			return -1
		case m.start > a:
			return 1
		}
		return 0
	})
	if !ok {
		return mapping{}, false
	}
	return s.maps[i], true
}

func roundDown(x, to uintptr) uintptr { return x / to * to }

func roundUp(x, to uintptr) uintptr { return (x + to - 1) / to * to }

//go:build linux

package residue

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/holdfast-tls/holdfast/mem"
	"golang.org/x/sys/unix"
)

// Tests plant copies with copyBytewise, not copy: copy would also leave the
// needle in vector registers, which a preemption signal can write into a
// signal frame, adding a copy the test did not count.

// heapSink keeps test buffers on the Go heap: a slice stored in a package
// variable escapes, so its bytes cannot sit on a goroutine stack that moves.
var heapSink [][]byte

func keepOnHeap(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	heapSink = append(heapSink, b)
	t.Cleanup(func() {
		clear(b)
		heapSink = nil
	})
	return b
}

func newPool(t *testing.T) *mem.Pool {
	t.Helper()
	p := mem.NewPool(mem.Options{})
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// randomSecret returns an n-byte secret that crypto/rand filled in place:
// the random bytes never pass through the heap.
func randomSecret(t *testing.T, p *mem.Pool, n int) *mem.Secret {
	t.Helper()
	s, err := p.New(n)
	if err != nil {
		t.Fatal(err)
	}
	rand.Read(s.Bytes())
	return s
}

func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

func mustScan(t *testing.T, needles [][]byte, pools ...*mem.Pool) Report {
	t.Helper()
	rep, err := Scan(needles, pools...)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return rep
}

// wantFoundAt checks that rep reports needle i at addr, exactly once.
func wantFoundAt(t *testing.T, rep Report, i int, addr uintptr) {
	t.Helper()
	n := 0
	for _, f := range rep.Findings {
		if f.Needle == i && f.Addr == addr {
			n++
			if !mappingHolds(t, f.Mapping, addr) {
				t.Errorf("finding %v: its mapping line does not hold the address", f)
			}
		}
	}
	if n != 1 {
		t.Errorf("needle %d at %#x reported %d times, want once; findings: %v", i, addr, n, rep.Findings)
	}
}

func mappingHolds(t *testing.T, line string, addr uintptr) bool {
	t.Helper()
	m, err := parseMapping(line)
	if err != nil {
		t.Errorf("mapping %q: %v", line, err)
		return false
	}
	return m.start <= addr && addr < m.end
}

// Positive control: a copy on the Go heap is found at its address.
func TestFindsCopyOnHeap(t *testing.T) {
	p := newPool(t)
	needle := randomSecret(t, p, 32)
	defer needle.Free()
	heap := keepOnHeap(t, 4096)
	mem.CopyBytewise(heap[1000:], needle.Bytes())

	rep := mustScan(t, [][]byte{needle.Bytes()}, p)
	runtime.KeepAlive(heap)
	wantFoundAt(t, rep, 0, addrOf(heap[1000:]))

	// Reports name addresses, never bytes.
	for _, f := range rep.Findings {
		msg := f.String()
		if bytes.Contains([]byte(msg), needle.Bytes()) || strings.Contains(msg, hex.EncodeToString(needle.Bytes())) {
			t.Fatalf("finding message %q carries the needle", msg)
		}
	}
}

// A copy in memory the program mapped itself, outside the Go heap, is found.
func TestFindsCopyInMmap(t *testing.T) {
	p := newPool(t)
	needle := randomSecret(t, p, 32)
	defer needle.Free()
	m, err := unix.Mmap(-1, 0, 2*4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		clear(m)
		if err := unix.Munmap(m); err != nil {
			t.Error(err)
		}
	}()
	mem.CopyBytewise(m[4090:], needle.Bytes()) // across the page boundary

	rep := mustScan(t, [][]byte{needle.Bytes()}, p)
	wantFoundAt(t, rep, 0, addrOf(m[4090:]))
}

// Negative control: a needle that exists only in its own live slot is not
// reported, whether or not its pool is named.
func TestNeedleInLiveSecretIsNotACopy(t *testing.T) {
	p := newPool(t)
	needle := randomSecret(t, p, 32)
	defer needle.Free()
	for _, pools := range [][]*mem.Pool{{p}, nil} {
		rep := mustScan(t, [][]byte{needle.Bytes()}, pools...)
		if len(rep.Findings) != 0 {
			t.Errorf("Scan with %d pools found %v", len(pools), rep.Findings)
		}
	}
}

// A live secret in a named pool is the secret's rightful home; in a pool
// that is not named it is a copy like any other.
func TestLiveSlotsOfNamedPoolsAreExcluded(t *testing.T) {
	owner, needles := newPool(t), newPool(t)
	s := randomSecret(t, owner, 32)
	defer s.Free()
	needle, err := NewNeedle(needles, s.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	defer needle.Free()

	rep := mustScan(t, [][]byte{needle.Bytes()}, needles)
	wantFoundAt(t, rep, 0, addrOf(s.Bytes()))
	if rep := mustScan(t, [][]byte{needle.Bytes()}, needles, owner); len(rep.Findings) != 0 {
		t.Errorf("live slot of a named pool reported: %v", rep.Findings)
	}
}

// A freed secret leaves nothing: mem wipes the slot, and putting random
// bytes into a slot and copying them between slots with NewNeedle leaves
// no copy elsewhere.
func TestFreedSecretLeavesNoCopy(t *testing.T) {
	p, q := newPool(t), newPool(t)
	s := randomSecret(t, p, 48)
	home := addrOf(s.Bytes())
	needle, err := NewNeedle(q, s.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	defer needle.Free()
	needles := [][]byte{needle.Bytes()}

	// The control: before Free the secret's slot is found when its pool
	// is not excluded, so the check below is able to fail.
	wantFoundAt(t, mustScan(t, needles, q), 0, home)

	s.Free()
	AssertNone(t, needles, p, q)
}

// spin computes for a while without calls, so that the runtime preempts the
// goroutine with a signal (sysmon does after 10ms) while whatever the last
// copy left in the vector registers is still there.
func spin() int {
	x := 0
	start := time.Now()
	for time.Since(start) < 50*time.Millisecond {
		for i := range 1 << 20 {
			x = x*31 + i
		}
	}
	return x
}

var spinSink int

// NewNeedle copies without leaving the secret in a register. With the
// built-in copy instead, the kernel's signal frame (FXSAVE area, XMM0 and
// XMM1) on a thread's signal stack keeps the whole 32 bytes, and this test
// fails nearly every time.
func TestNewNeedleLeavesNoRegisterCopy(t *testing.T) {
	if RaceEnabled {
		t.Skip("AssertNone does not assert under -race; ci/test.sh runs this test without it")
	}
	p := newPool(t)
	for range 3 {
		s := randomSecret(t, p, 32)
		needle, err := NewNeedle(p, s.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		spinSink = spin()
		s.Free()
		AssertNone(t, [][]byte{needle.Bytes()}, p)
		needle.Free()
	}
}

// recorder is a TB that keeps what AssertNone says.
type recorder struct {
	errors  []string
	skipped bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Skipf(string, ...any) { r.skipped = true }

// AssertNone fails once per copy and never prints the needle.
func TestAssertNoneReportsCopies(t *testing.T) {
	if RaceEnabled {
		t.Skip("AssertNone does not assert under -race; ci/test.sh runs this test without it")
	}
	p := newPool(t)
	needle := randomSecret(t, p, 32)
	defer needle.Free()
	heap := keepOnHeap(t, 256)
	mem.CopyBytewise(heap[3:], needle.Bytes())
	mem.CopyBytewise(heap[100:], needle.Bytes())

	var r recorder
	AssertNone(&r, [][]byte{needle.Bytes()}, p)
	runtime.KeepAlive(heap)
	if len(r.errors) != 2 || r.skipped {
		t.Fatalf("AssertNone reported %q (skipped %v), want two copies", r.errors, r.skipped)
	}
	for _, msg := range r.errors {
		if bytes.Contains([]byte(msg), needle.Bytes()) || strings.Contains(msg, hex.EncodeToString(needle.Bytes())) {
			t.Fatalf("message %q carries the needle", msg)
		}
	}
}

// Copies lying across the boundary between two reads of /proc/self/mem, at
// every split, and copies wholly inside the overlap of two reads, are each
// found exactly once.
func TestCopyAcrossChunkBoundary(t *testing.T) {
	defer func(old int) { chunkSize = old }(chunkSize)
	for _, size := range []int{1 << 20, 64 << 10} {
		t.Run(fmt.Sprintf("chunk=%d", size), func(t *testing.T) {
			chunkSize = size
			p := newPool(t)
			cases := []struct{ n, rel int }{
				{32, -1}, {32, -16}, {32, -31}, // across, at each split
				{32, -32}, {32, 0}, // ending at it, starting at it
				{8, -8}, {8, -4}, {8, -20}, // inside the overlap of two reads
				{1000, -500},
			}
			// One chunk boundary per case, so that the copies do not
			// overwrite each other.
			heap := keepOnHeap(t, (len(cases)+2)*size)
			first := int(roundUp(addrOf(heap)+1, uintptr(size)) - addrOf(heap))
			type placed struct {
				needle *mem.Secret
				off    int
			}
			var all []placed
			for k, c := range cases {
				s := randomSecret(t, p, c.n)
				defer s.Free()
				off := first + k*size + c.rel
				mem.CopyBytewise(heap[off:], s.Bytes())
				all = append(all, placed{s, off})
			}
			var needles [][]byte
			for _, pl := range all {
				needles = append(needles, pl.needle.Bytes())
			}
			rep := mustScan(t, needles, p)
			runtime.KeepAlive(heap)
			for i, pl := range all {
				wantFoundAt(t, rep, i, addrOf(heap[pl.off:]))
			}
			if len(rep.Findings) != len(all) {
				t.Errorf("%d findings, want %d: %v", len(rep.Findings), len(all), rep.Findings)
			}
		})
	}
}

// The read buffer is left out of the scan. Here it is mapped right after a
// page holding a needle, so the last read before the buffer leaves the
// needle in it; reading the buffer's own range would then find the needle
// in the buffer.
func TestReadBufferIsNotScanned(t *testing.T) {
	page := os.Getpagesize()
	// Reserve a page for the needle and room for the buffer after it,
	// then give the room back for Scan to map its buffer into.
	room := 2*chunkSize + 2*MaxNeedleLen
	base, err := unix.MmapPtr(-1, 0, nil, uintptr(page+room), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	after := unsafe.Add(base, page)
	if err := unix.MunmapPtr(after, uintptr(room)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		clear(unsafe.Slice((*byte)(base), page))
		if err := unix.MunmapPtr(base, uintptr(page)); err != nil {
			t.Error(err)
		}
	}()
	needle := unsafe.Slice((*byte)(base), page)[page-32:]
	rand.Read(needle)

	defer func() { bufferHint = nil }()
	bufferHint = after
	rep := mustScan(t, [][]byte{needle})
	if len(rep.Findings) != 0 {
		t.Fatalf("found %v", rep.Findings)
	}
}

// Scanning must not plant copies of its own. bytes.Index would: for a
// needle whose first byte is common in memory (zero here) it keeps the
// whole needle in a vector register for most of the scan, and when the
// runtime preempts the scanning goroutine with a signal (sysmon does so
// every 10ms) the saved registers put a 16-byte needle whole into memory
// that the scan reads. With bytes.Index in find, this test fails on its
// first scan; with GODEBUG=asyncpreemptoff=1 it passes again.
func TestRepeatedScansLeaveNoCopy(t *testing.T) {
	p := newPool(t)
	var needles [][]byte
	for range 4 {
		s := randomSecret(t, p, 16)
		defer s.Free()
		s.Bytes()[0], s.Bytes()[1] = 0, 0
		needles = append(needles, s.Bytes())
	}
	for i := range 10 {
		rep := mustScan(t, needles, p)
		if len(rep.Findings) != 0 {
			t.Fatalf("scan %d found copies the test never made: %v", i, rep.Findings)
		}
	}
}

func TestScanTime(t *testing.T) {
	p := newPool(t)
	needle := randomSecret(t, p, 32)
	defer needle.Free()
	start := time.Now()
	rep := mustScan(t, [][]byte{needle.Bytes()}, p)
	took := time.Since(start)
	t.Logf("scanned %d mappings, %.1f MiB (%d bytes unreadable) in %v",
		rep.Mappings, float64(rep.Bytes)/(1<<20), rep.Unreadable, took)
	if rep.Bytes == 0 || rep.Mappings == 0 {
		t.Fatalf("scan read nothing: %+v", rep)
	}
	if took > 10*time.Second {
		t.Errorf("a scan took %v", took)
	}
}

// A scanner that cannot read memory says so instead of reporting nothing.
func TestBlindScanFailsSelfCheck(t *testing.T) {
	if RaceEnabled {
		t.Skip("AssertNone does not assert under -race; ci/test.sh runs this test without it")
	}
	defer func(old string) { memPath = old }(memPath)
	memPath = "/dev/zero"
	p := newPool(t)
	needle := randomSecret(t, p, 32)
	defer needle.Free()
	if _, err := Scan([][]byte{needle.Bytes()}, p); !errors.Is(err, ErrSelfCheck) {
		t.Fatalf("Scan through /dev/zero: %v, want ErrSelfCheck", err)
	}
	var r recorder
	AssertNone(&r, [][]byte{needle.Bytes()}, p)
	if len(r.errors) != 1 {
		t.Fatalf("AssertNone on a blind scanner reported %q", r.errors)
	}
}

// Reads that fail are skipped, counted, and do not stall the scan: through
// an empty file every read fails, so every mapping is skipped.
func TestUnreadableMemoryIsSkipped(t *testing.T) {
	empty, err := os.CreateTemp(t.TempDir(), "mem")
	if err != nil {
		t.Fatal(err)
	}
	empty.Close()
	defer func(old string) { memPath = old }(memPath)
	memPath = empty.Name()
	p := newPool(t)
	needle := randomSecret(t, p, 32)
	defer needle.Free()
	rep, err := Scan([][]byte{needle.Bytes()}, p)
	if !errors.Is(err, ErrSelfCheck) {
		t.Fatalf("Scan with nothing readable: %v, want ErrSelfCheck", err)
	}
	if rep.Bytes != 0 || rep.Unreadable == 0 {
		t.Fatalf("report %+v: want every byte unreadable", rep)
	}
}

// A needle that is not random matches everywhere; the scan stops.
func TestRegularNeedleStops(t *testing.T) {
	if RaceEnabled {
		t.Skip("AssertNone does not assert under -race; ci/test.sh runs this test without it")
	}
	zeros := make([]byte, 16)
	rep, err := Scan([][]byte{zeros})
	if !errors.Is(err, ErrTooManyFindings) || len(rep.Findings) != maxFindings {
		t.Fatalf("Scan for zeros: %d findings, %v", len(rep.Findings), err)
	}
	var r recorder
	AssertNone(&r, [][]byte{zeros})
	if len(r.errors) != maxListed+2 {
		t.Fatalf("AssertNone for zeros said %d things, want %d findings, a count and the error", len(r.errors), maxListed)
	}
}

func TestRejectsBadNeedles(t *testing.T) {
	for name, needles := range map[string][][]byte{
		"none":     nil,
		"empty":    {{1, 2, 3}, {}},
		"too long": {make([]byte, MaxNeedleLen+1)},
	} {
		if _, err := Scan(needles); err == nil {
			t.Errorf("%s: Scan accepted the needles", name)
		}
	}
}

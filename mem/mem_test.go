package mem

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func newTestPool(t testing.TB, opts Options) *Pool {
	t.Helper()
	p := NewPool(opts)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func mustNew(t testing.TB, p *Pool, n int) *Secret {
	t.Helper()
	s, err := p.New(n)
	if err != nil {
		t.Fatalf("New(%d): %v", n, err)
	}
	return s
}

// rawSlot reads a slot's bytes without going through the handle, so a test
// can look at a slot after Free.
func rawSlot(s *Secret) []byte { return s.ref.a.data[s.ref.off : s.ref.off+s.ref.a.slotSize] }

func TestNewReadsZeroAndFreeWipes(t *testing.T) {
	p := newTestPool(t, Options{})
	for _, n := range []int{1, 12, 16, 17, 32, 48, 64, 100, 4096, 4097, 10000} {
		s := mustNew(t, p, n)
		b := s.Bytes()
		if len(b) != n || cap(b) != n {
			t.Fatalf("New(%d): len %d cap %d", n, len(b), cap(b))
		}
		if !bytes.Equal(b, make([]byte, n)) {
			t.Fatalf("New(%d): fresh secret is not zero", n)
		}
		for i := range b {
			b[i] = 0xA5
		}
		if n > 4096 {
			// A large secret's arena is unmapped on Free; checking it
			// afterwards would fault. Its wipe is checked below.
			s.Free()
			continue
		}
		raw := rawSlot(s)
		s.Free()
		if !bytes.Equal(raw, make([]byte, len(raw))) {
			t.Fatalf("New(%d): slot not zero after Free", n)
		}
	}
}

func TestLargeSecretWipedBeforeUnmap(t *testing.T) {
	p := newTestPool(t, Options{})
	s := mustNew(t, p, 9000)
	a := s.ref.a
	copy(s.Bytes(), bytes.Repeat([]byte{0x5A}, 9000))
	a.wipe(0)
	if !bytes.Equal(a.data[:9000], make([]byte, 9000)) {
		t.Fatal("wipe left bytes in a large slot")
	}
	s.Free()
	if got := p.Stats(); got.Arenas != 0 || got.MappedBytes != 0 || got.LockedBytes != 0 {
		t.Fatalf("large secret's arena not released: %+v", got)
	}
}

func TestSlotsDoNotOverlap(t *testing.T) {
	p := newTestPool(t, Options{})
	var all []*Secret
	for i := 0; i < 500; i++ {
		s := mustNew(t, p, 1+i%200)
		b := s.Bytes()
		for j := range b {
			b[j] = byte(i)
		}
		all = append(all, s)
	}
	for i, s := range all {
		for _, c := range s.Bytes() {
			if c != byte(i) {
				t.Fatalf("secret %d was overwritten by another", i)
			}
		}
		s.Free()
	}
}

// The budget in the foundation issue: at most 64 locked bytes per 48-byte
// secret once its arenas are full.
func TestPackingOf48ByteSecrets(t *testing.T) {
	p := newTestPool(t, Options{})
	var all []*Secret
	defer func() {
		for _, s := range all {
			s.Free()
		}
	}()
	// Fill whole arenas: keep allocating until a new arena would be mapped.
	for {
		before := p.Stats().Arenas
		s := mustNew(t, p, 48)
		if p.Stats().Arenas != before && len(all) > 1000 {
			s.Free()
			break
		}
		all = append(all, s)
	}
	// The last New mapped a fresh arena; count only the full ones.
	st := p.Stats()
	lastArena := int64(maxArenaPages * pageSize())
	if st.Arenas <= 7 {
		lastArena = int64(1<<(st.Arenas-1)) * int64(pageSize())
	}
	full := st.LockedBytes - lastArena
	perSecret := float64(full) / float64(len(all))
	t.Logf("%d secrets of 48 bytes in %d bytes of full arenas: %.2f locked bytes each", len(all), full, perSecret)
	if perSecret > 64 {
		t.Fatalf("%.2f locked bytes per 48-byte secret, want at most 64", perSecret)
	}
}

func pageSize() int { return NewPool(Options{}).pageSize }

func TestDoubleFreePanicsWithoutSecretBytes(t *testing.T) {
	p := newTestPool(t, Options{})
	s := mustNew(t, p, 32)
	copy(s.Bytes(), "SECRET-SECRET-SECRET-SECRET-0123")
	s.Free()
	msg := mustPanic(t, s.Free)
	if !strings.Contains(msg, "double Free") || strings.Contains(msg, "SECRET") {
		t.Fatalf("double Free panic = %q", msg)
	}
}

func TestUseAfterFreePanics(t *testing.T) {
	p := newTestPool(t, Options{})
	s := mustNew(t, p, 32)
	s.Free()
	msg := mustPanic(t, func() { _ = s.Bytes() })
	if !strings.Contains(msg, "after Free") {
		t.Fatalf("use-after-free panic = %q", msg)
	}
}

func TestNilFreeIsNoop(t *testing.T) {
	var s *Secret
	s.Free()
}

func mustPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("no panic")
		}
		msg = fmt.Sprint(r)
	}()
	f()
	return ""
}

func TestSecretNeverPrints(t *testing.T) {
	p := newTestPool(t, Options{})
	s := mustNew(t, p, 16)
	defer s.Free()
	copy(s.Bytes(), "0123456789abcdef")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		out := fmt.Sprintf(verb, s)
		if out != "[redacted]" {
			t.Errorf("Sprintf(%q) = %q", verb, out)
		}
	}
	if out := fmt.Sprint(struct{ K *Secret }{s}); strings.Contains(out, "0123") || strings.Contains(out, "3031") {
		t.Errorf("secret leaked through a struct: %q", out)
	}
}

func TestEqualIsByContent(t *testing.T) {
	p := newTestPool(t, Options{})
	a, b := mustNew(t, p, 32), mustNew(t, p, 32)
	defer a.Free()
	defer b.Free()
	copy(a.Bytes(), "same")
	copy(b.Bytes(), "same")
	if !a.Equal(b) || !a.EqualBytes(b.Bytes()) {
		t.Fatal("equal secrets compare unequal")
	}
	b.Bytes()[31] = 1
	if a.Equal(b) {
		t.Fatal("different secrets compare equal")
	}
}

func TestGuardPagesFault(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SetPanicOnFault does not turn access violations into panics on windows")
	}
	p := newTestPool(t, Options{})
	s := mustNew(t, p, 16)
	defer s.Free()
	a := s.ref.a
	page := p.pageSize
	before := unsafe.Pointer(&a.mapping[page-1])
	after := unsafe.Pointer(&a.mapping[page+len(a.data)])
	for name, ptr := range map[string]unsafe.Pointer{"before": before, "after": after} {
		if !faults(ptr) {
			t.Errorf("guard page %s the data did not fault", name)
		}
	}
	if faults(unsafe.Pointer(&a.data[0])) {
		t.Error("data page faulted")
	}
}

func faults(ptr unsafe.Pointer) (faulted bool) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			faulted = true
		}
	}()
	_ = *(*byte)(ptr)
	return false
}

func TestClosedPoolRefuses(t *testing.T) {
	p := NewPool(Options{})
	s := mustNew(t, p, 16)
	if err := p.Close(); !errors.Is(err, ErrLiveSecrets) {
		t.Fatalf("Close with a live secret: %v", err)
	}
	s.Free()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.New(16); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("New on a closed pool: %v", err)
	}
	if st := p.Stats(); st.MappedBytes != 0 || st.LockedBytes != 0 {
		t.Fatalf("closed pool still counts memory: %+v", st)
	}
}

func TestNewRejectsBadLength(t *testing.T) {
	p := newTestPool(t, Options{})
	for _, n := range []int{0, -1} {
		if s, err := p.New(n); err == nil {
			s.Free()
			t.Errorf("New(%d) succeeded", n)
		}
	}
}

func TestStatsCountLiveSecrets(t *testing.T) {
	p := newTestPool(t, Options{})
	a, b := mustNew(t, p, 10), mustNew(t, p, 100)
	st := p.Stats()
	if st.LiveSecrets != 2 || st.LiveBytes != 110 || st.LockedBytes == 0 || st.LockedBytes != st.MappedBytes {
		t.Fatalf("stats = %+v", st)
	}
	a.Free()
	b.Free()
	if st := p.Stats(); st.LiveSecrets != 0 || st.LiveBytes != 0 {
		t.Fatalf("stats after free = %+v", st)
	}
}

func TestConcurrentUse(t *testing.T) {
	p := newTestPool(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				s, err := p.New(1 + (g*31+i)%300)
				if err != nil {
					errs <- err
					return
				}
				b := s.Bytes()
				for j := range b {
					b[j] = byte(g)
				}
				runtime.Gosched()
				for _, c := range b {
					if c != byte(g) {
						errs <- fmt.Errorf("goroutine %d: secret changed under it", g)
						return
					}
				}
				s.Free()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := p.Stats(); st.LiveSecrets != 0 {
		t.Fatalf("live secrets after all freed: %d", st.LiveSecrets)
	}
}

func TestLiveRangesCoverLiveSlotsOnly(t *testing.T) {
	p := newTestPool(t, Options{})
	a, b := mustNew(t, p, 48), mustNew(t, p, 48)
	b.Free()
	defer a.Free()
	var ranges [][2]uintptr
	p.LiveRanges(func(s, e uintptr) { ranges = append(ranges, [2]uintptr{s, e}) })
	if len(ranges) != 1 {
		t.Fatalf("got %d live ranges, want 1", len(ranges))
	}
	start := uintptr(unsafe.Pointer(&a.Bytes()[0]))
	if ranges[0][0] != start || ranges[0][1]-ranges[0][0] != 48 {
		t.Fatalf("range %x-%x does not match the secret at %x", ranges[0][0], ranges[0][1], start)
	}
}

func BenchmarkNewFree(b *testing.B) {
	for _, n := range []int{32, 48, 256} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			p := newTestPool(b, Options{})
			b.ReportAllocs()
			for b.Loop() {
				s, err := p.New(n)
				if err != nil {
					b.Fatal(err)
				}
				s.Free()
			}
		})
	}
}

func BenchmarkNewFreeParallel(b *testing.B) {
	p := newTestPool(b, Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s, err := p.New(48)
			if err != nil {
				b.Error(err)
				return
			}
			s.Free()
		}
	})
}

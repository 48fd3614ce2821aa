//go:build linux

package residue

import (
	"slices"
	"testing"
)

func TestParseMapping(t *testing.T) {
	for _, c := range []struct {
		line    string
		want    mapping
		scanned bool
	}{
		{
			line:    "c000000000-c000400000 rw-p 00000000 00:00 0 ",
			want:    mapping{start: 0xc000000000, end: 0xc000400000, perms: "rw-p", path: ""},
			scanned: true,
		},
		{
			line:    "7fa5ee140000-7fa5ee300000 ---p 00000000 00:00 0",
			want:    mapping{start: 0x7fa5ee140000, end: 0x7fa5ee300000, perms: "---p"},
			scanned: false,
		},
		{
			line:    "0058e000-00599000 rw-p 0018e000 fe:00 9977971                            /tmp/a dir/exe (deleted)",
			want:    mapping{start: 0x58e000, end: 0x599000, perms: "rw-p", path: "/tmp/a dir/exe (deleted)"},
			scanned: true,
		},
		{
			line:    "004ab000-0058e000 r--p 000ab000 fe:00 9977971                            /usr/bin/x",
			want:    mapping{start: 0x4ab000, end: 0x58e000, perms: "r--p", path: "/usr/bin/x"},
			scanned: false,
		},
		{
			line:    "7f0000000000-7f0000001000 r--p 00000000 00:00 0 ",
			want:    mapping{start: 0x7f0000000000, end: 0x7f0000001000, perms: "r--p"},
			scanned: true, // anonymous memory made read-only
		},
		{
			line:    "7f0000000000-7f0000001000 rw-s 00000000 00:01 42                         /memfd:keys (deleted)",
			want:    mapping{start: 0x7f0000000000, end: 0x7f0000001000, perms: "rw-s", path: "/memfd:keys (deleted)"},
			scanned: true,
		},
		{
			line:    "7ffe80065000-7ffe80086000 rw-p 00000000 00:00 0                          [stack]",
			want:    mapping{start: 0x7ffe80065000, end: 0x7ffe80086000, perms: "rw-p", path: "[stack]"},
			scanned: true,
		},
		{line: "7fa634d7e000-7fa634d82000 r--p 00000000 00:00 0                          [vvar]",
			want: mapping{start: 0x7fa634d7e000, end: 0x7fa634d82000, perms: "r--p", path: "[vvar]"}},
		{line: "7fa634d82000-7fa634d84000 r--p 00000000 00:00 0                          [vvar_vclock]",
			want: mapping{start: 0x7fa634d82000, end: 0x7fa634d84000, perms: "r--p", path: "[vvar_vclock]"}},
		{line: "7fa634d84000-7fa634d86000 r-xp 00000000 00:00 0                          [vdso]",
			want: mapping{start: 0x7fa634d84000, end: 0x7fa634d86000, perms: "r-xp", path: "[vdso]"}},
	} {
		got, err := parseMapping(c.line)
		if err != nil {
			t.Errorf("parseMapping(%q): %v", c.line, err)
			continue
		}
		got.line = ""
		if got != c.want {
			t.Errorf("parseMapping(%q) = %+v, want %+v", c.line, got, c.want)
		}
		if got.scanned() != c.scanned {
			t.Errorf("%q: scanned = %v, want %v", c.line, got.scanned(), c.scanned)
		}
	}
	for _, bad := range []string{"", "garbage", "2000-1000 rw-p 0 0:0 0", "1000-2000 rw 0 0:0 0", "x-2000 rw-p 0 0:0 0"} {
		if _, err := parseMapping(bad); err == nil {
			t.Errorf("parseMapping(%q) succeeded", bad)
		}
	}
}

func TestReadMapsFindsHeap(t *testing.T) {
	maps, err := readMaps()
	if err != nil {
		t.Fatal(err)
	}
	b := keepOnHeap(t, 64)
	addr := addrOf(b)
	for _, m := range maps {
		if m.start <= addr && addr < m.end {
			if !m.scanned() {
				t.Fatalf("heap mapping %q is not scanned", m.line)
			}
			return
		}
	}
	t.Fatalf("no mapping holds the heap address %#x", addr)
}

func TestRuns(t *testing.T) {
	rw := func(start, end uintptr) mapping { return mapping{start: start, end: end, perms: "rw-p"} }
	none := func(start, end uintptr) mapping { return mapping{start: start, end: end, perms: "---p"} }
	maps := []mapping{
		rw(0x1000, 0x2000), rw(0x2000, 0x3000), // adjacent: one run
		none(0x3000, 0x4000),
		rw(0x4000, 0x8000), // the hole cuts it in two
		rw(0x9000, 0xa000),
	}
	got := runs(maps, span{0x5000, 0x6000})
	want := []span{{0x1000, 0x3000}, {0x4000, 0x5000}, {0x6000, 0x8000}, {0x9000, 0xa000}}
	if !slices.Equal(got, want) {
		t.Errorf("runs = %x, want %x", got, want)
	}
	// A hole over the start of one mapping and the end of the last.
	got = runs([]mapping{rw(0x1000, 0x2000), rw(0x2000, 0x3000)}, span{0x1800, 0x2800})
	want = []span{{0x1000, 0x1800}, {0x2800, 0x3000}}
	if !slices.Equal(got, want) {
		t.Errorf("runs = %x, want %x", got, want)
	}
}

func TestExclusion(t *testing.T) {
	e := newExclusion([]span{{0x300, 0x340}, {0x100, 0x120}, {0x120, 0x140}, {0x110, 0x118}, {0x500, 0x500}})
	if want := (exclusion{{0x100, 0x140}, {0x300, 0x340}}); !slices.Equal(e, want) {
		t.Fatalf("exclusion = %x, want %x", e, want)
	}
	for _, c := range []struct {
		addr uintptr
		n    int
		want bool
	}{
		{0x100, 0x40, true},  // exactly the merged span
		{0x118, 0x10, true},  // across two adjacent slots
		{0x0f0, 0x20, false}, // starts before
		{0x130, 0x20, false}, // ends after
		{0x200, 0x10, false}, // between
		{0x300, 0x40, true},
		{0x33f, 0x02, false},
		{0x500, 0x01, false}, // an empty span excludes nothing
	} {
		if got := e.covers(c.addr, c.n); got != c.want {
			t.Errorf("covers(%#x, %d) = %v, want %v", c.addr, c.n, got, c.want)
		}
	}
}

func TestFind(t *testing.T) {
	needle := []byte{0x00, 0x41, 0xc7, 0x00, 0x9e}
	tg := newTarget(needle, 0)
	if needle[tg.pivot] != 0xc7 {
		t.Errorf("pivot is byte %d (%#x), want the 0xc7", tg.pivot, needle[tg.pivot])
	}
	for at := 0; at <= 20; at++ {
		w := make([]byte, 20+len(needle))
		// Decoys: the pivot byte alone, and the needle missing its
		// last byte, before the copy.
		if at >= 8 {
			w[0] = 0xc7
			copy(w[2:], needle[:len(needle)-1])
		}
		copy(w[at:], needle)
		if got := tg.find(w); got != at {
			t.Errorf("copy at %d: find = %d", at, got)
		}
	}
	if got := tg.find(needle[:4]); got != -1 {
		t.Errorf("find in a short window = %d", got)
	}
	if got := tg.find(make([]byte, 100)); got != -1 {
		t.Errorf("find in zeros = %d", got)
	}
	one := newTarget([]byte{0x00}, 0)
	if got := one.find([]byte{1, 2, 0}); got != 2 {
		t.Errorf("one-byte needle: find = %d", got)
	}
}

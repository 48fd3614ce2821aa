package mem

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// vmLck reads the kernel's count of this process's locked memory.
func vmLck(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmLck:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmLck line %q: %v", line, err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no VmLck in /proc/self/status")
	return 0
}

// smapsEntry returns the header line and VmFlags of the mapping that holds addr.
func smapsEntry(t *testing.T, addr uintptr) (header string, flags []string) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inside := false
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			lo, hi, _ := strings.Cut(fields[0], "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			inside = err1 == nil && err2 == nil && uint64(addr) >= l && uint64(addr) < h
			if inside {
				header = line
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok && inside {
			return header, strings.Fields(v)
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return "", nil
}

func hasFlag(flags []string, want string) bool {
	for _, f := range flags {
		if f == want {
			return true
		}
	}
	return false
}

func TestArenaIsLockedAndNotDumped(t *testing.T) {
	p := newTestPool(t, Options{})
	before := vmLck(t)
	s := mustNew(t, p, 48)
	defer s.Free()
	after := vmLck(t)
	if after-before < int64(p.pageSize) {
		t.Fatalf("VmLck grew by %d bytes after the first secret, want at least a page", after-before)
	}
	addr := uintptr(unsafe.Pointer(&s.Bytes()[0]))
	header, flags := smapsEntry(t, addr)
	for _, want := range []string{"lo", "dd", "wf"} {
		if !hasFlag(flags, want) {
			t.Errorf("arena mapping %q has VmFlags %v, missing %q", header, flags, want)
		}
	}
	guardHeader, _ := smapsEntry(t, uintptr(unsafe.Pointer(&s.ref.a.mapping[0])))
	if !strings.Contains(guardHeader, " ---p ") {
		t.Errorf("guard page mapping %q is not PROT_NONE", guardHeader)
	}
}

// The exhaustion tests run this test binary again without CAP_IPC_LOCK and
// with a 64 KiB RLIMIT_MEMLOCK, the smallest limit a distribution ships.
const childEnv = "HOLDFAST_MEM_EXHAUSTION_CHILD"

func runLimitedChild(t *testing.T, mode string) string {
	t.Helper()
	for _, tool := range []string{"prlimit", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s (util-linux) is required for this test: %v", tool, err)
		}
	}
	cmd := exec.Command("prlimit", "--memlock=65536:65536", "--",
		"setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock", "--",
		os.Args[0], "-test.run=^TestExhaustionChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child (%s) failed: %v\n%s", mode, err, out)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.HasPrefix(line, "CHILD-OK") {
			t.Log(line)
		}
	}
	return string(out)
}

func TestExhaustionFailsClosed(t *testing.T) {
	out := runLimitedChild(t, "closed")
	if !strings.Contains(out, "CHILD-OK") {
		t.Fatalf("child did not confirm:\n%s", out)
	}
}

func TestExhaustionOptInUnlocked(t *testing.T) {
	out := runLimitedChild(t, "unlocked")
	if !strings.Contains(out, "CHILD-OK") {
		t.Fatalf("child did not confirm:\n%s", out)
	}
}

// TestExhaustionChild is the child's half; it does nothing unless started
// by the tests above.
func TestExhaustionChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("runs only as the child of TestExhaustionFailsClosed and TestExhaustionOptInUnlocked")
	}
	if status, _ := os.ReadFile("/proc/self/status"); strings.Contains(string(status), "CapEff:\t000001ffffffffff") {
		t.Fatal("child still has every capability; setpriv did not drop CAP_IPC_LOCK")
	}
	p := NewPool(Options{AllowUnlocked: mode == "unlocked"})
	var held []*Secret
	defer func() {
		for _, s := range held {
			s.Free()
		}
	}()
	// 64 KiB of 256-byte secrets is 256; ask for far more.
	for i := 0; i < 4096; i++ {
		s, err := p.New(256)
		if err != nil {
			if mode != "closed" {
				t.Fatalf("opt-in pool failed: %v", err)
			}
			var le *LockError
			if !errors.As(err, &le) {
				t.Fatalf("error is %T, want *LockError: %v", err, err)
			}
			if le.Limit != "RLIMIT_MEMLOCK is 65536 bytes" || le.Requested <= 0 {
				t.Fatalf("LockError = %+v", le)
			}
			msg := err.Error()
			for _, want := range []string{"65536", strconv.Itoa(le.Requested), "CAP_IPC_LOCK", "ulimit -l", "AllowUnlocked"} {
				if !strings.Contains(msg, want) {
					t.Fatalf("error %q does not mention %q", msg, want)
				}
			}
			if st := p.Stats(); st.UnlockedArenas != 0 || st.LockedBytes > 65536 {
				t.Fatalf("fail-closed pool has stats %+v", st)
			}
			fmt.Println("CHILD-OK failed closed after", i, "secrets:", msg)
			return
		}
		copy(s.Bytes(), "not zero")
		held = append(held, s)
	}
	if mode == "closed" {
		t.Fatal("4096 secrets of 256 bytes fit under a 64 KiB lock limit: the limit was not applied")
	}
	st := p.Stats()
	if st.UnlockedArenas == 0 || st.UnlockedBytes == 0 || st.LockedBytes > 65536 {
		t.Fatalf("opt-in pool stats %+v: expected unlocked fallbacks", st)
	}
	// Fallback memory is still guarded and kept out of dumps, and still
	// wiped on free.
	last := held[len(held)-1]
	_, flags := smapsEntry(t, uintptr(unsafe.Pointer(&last.Bytes()[0])))
	if hasFlag(flags, "lo") || !hasFlag(flags, "dd") {
		t.Fatalf("fallback arena VmFlags %v: want dd and not lo", flags)
	}
	raw := rawSlot(last)
	held = held[:len(held)-1]
	last.Free()
	for _, c := range raw {
		if c != 0 {
			t.Fatal("unlocked slot not wiped on Free")
		}
	}
	fmt.Printf("CHILD-OK unlocked fallback: %+v\n", st)
}

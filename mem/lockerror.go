package mem

import "fmt"

// A LockError reports that the pool could not lock memory for secrets and
// was not allowed to fall back to unlocked memory.
type LockError struct {
	Requested int    // bytes the pool tried to lock
	Held      int64  // bytes this pool had already locked
	Limit     string // the operating system's limit, as the OS words it
	Err       error  // the system call's error
}

func newLockError(requested int, held int64, err error) *LockError {
	return &LockError{Requested: requested, Held: held, Limit: lockLimit(), Err: err}
}

func (e *LockError) Error() string {
	return fmt.Sprintf("mem: cannot lock %d bytes for secrets (%d already locked by this pool; %s): %v; %s, "+
		"or set mem.Options.AllowUnlocked to accept unlocked memory",
		e.Requested, e.Held, e.Limit, e.Err, lockAdvice)
}

func (e *LockError) Unwrap() error { return e.Err }

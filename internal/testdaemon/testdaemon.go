// Package testdaemon runs the helper servers tests talk to (swtpm,
// redis-server): it starts one, waits until it answers, kills it as a
// crash would, and starts it again. The packages that know each server's
// flags and readiness probe (internal/swtpm, internal/redistest) build on
// it. It is a test helper; nothing outside tests imports it.
package testdaemon

import (
	"os"
	"os/exec"
	"sync"
	"time"
)

// TB is the part of testing.TB the helper uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Proc is one helper server process, running or stopped.
type Proc struct {
	Name    string // for messages, e.g. "swtpm"
	LogFile string // where the server writes, read back when it fails

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs cmd (its output already directed by the caller) and calls
// ready until it returns nil, failing the test if the process exits first
// or timeout passes. Starting a running Proc does nothing.
func (p *Proc) Start(t TB, cmd *exec.Cmd, ready func() error, timeout time.Duration) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: starting: %v", p.Name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-exited:
			p.cmd = nil
			t.Fatalf("%s exited at start: %v\n%s", p.Name, cmd.ProcessState, p.Log(4096))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within %v: %v\n%s", p.Name, timeout, err, p.Log(4096))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the process (SIGKILL, like a crash) and waits for it to go.
// Stopping a stopped Proc does nothing.
func (p *Proc) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// Running reports whether the process was started and not stopped.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Log returns the last n bytes of the log file, for failure messages.
func (p *Proc) Log(n int) []byte {
	b, _ := os.ReadFile(p.LogFile)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return b
}

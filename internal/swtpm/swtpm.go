// Package swtpm starts a software TPM 2.0 (swtpm, on libtpms) for tests:
// the real TPM Holdfast's tpm2: backend is tested against, never a mock.
// Each TPM listens on loopback ports of its own with a temporary state
// directory, and is killed when the test ends. It is a test helper;
// nothing outside tests imports it.
package swtpm

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/holdfast-tls/holdfast/internal/testdaemon"
)

// TB is the part of testing.TB the helper uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
	Cleanup(func())
	Failed() bool
}

// TPM is a running (or stopped) swtpm process.
type TPM struct {
	t        TB
	Port     int    // TPM command port (raw TPM 2.0 commands over TCP)
	CtrlPort int    // control channel, Port+1
	StateDir string // NVChip and friends; kept across Restart
	proc     testdaemon.Proc
}

// startTimeout bounds how long a fresh swtpm may take to answer.
const startTimeout = 10 * time.Second

// Start runs swtpm in socket mode on two free loopback ports with a fresh
// state directory, waits until it answers a TPM2_GetRandom, and stops it
// when the test ends. A missing swtpm fails the test with what to install.
func Start(t TB) *TPM {
	t.Helper()
	if _, err := exec.LookPath("swtpm"); err != nil {
		t.Fatalf("swtpm is required (ci/test.sh installs it; or `apt-get install swtpm swtpm-tools`): %v", err)
	}
	dir := t.TempDir()
	s := &TPM{t: t, StateDir: filepath.Join(dir, "state")}
	s.proc.Name, s.proc.LogFile = "swtpm", filepath.Join(dir, "swtpm.log")
	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		t.Fatalf("swtpm: %v", err)
	}
	s.Port = freePortPair(t)
	s.CtrlPort = s.Port + 1
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b := s.proc.Log(1 << 16); len(b) > 0 {
				t.Logf("swtpm log:\n%s", b)
			}
		}
	})
	s.start(true)
	return s
}

// Device is the tpm2: URI device value for this TPM, e.g.
// "swtpm://127.0.0.1:2321".
func (s *TPM) Device() string { return "swtpm://127.0.0.1:" + strconv.Itoa(s.Port) }

// TCTI is the tpm2-tss TCTI string for tpm2-tools and tpm2-openssl.
func (s *TPM) TCTI() string { return "swtpm:host=127.0.0.1,port=" + strconv.Itoa(s.Port) }

// Env returns the environment for tpm2-tools and tpm2-openssl
// subprocesses that should talk to this TPM.
func (s *TPM) Env() []string {
	return append(os.Environ(), "TPM2TOOLS_TCTI="+s.TCTI(), "TPM2OPENSSL_TCTI="+s.TCTI())
}

// start runs swtpm and waits until its control channel answers and, if
// data is set, until it executes a command on the TPM port. Restart does
// not wait for the TPM port: swtpm serves one data client at a time, and
// under load the client under test may already be holding it.
func (s *TPM) start(data bool) {
	s.t.Helper()
	log, err := os.OpenFile(s.proc.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatalf("swtpm: %v", err)
	}
	defer log.Close()
	cmd := exec.Command("swtpm", "socket", "--tpm2",
		"--server", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(s.Port),
		"--ctrl", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(s.CtrlPort),
		"--tpmstate", "dir="+s.StateDir,
		"--flags", "not-need-init,startup-clear")
	cmd.Stdout, cmd.Stderr = log, log
	s.proc.Start(s.t, cmd, func() error {
		err := pingCtrl("127.0.0.1:" + strconv.Itoa(s.CtrlPort))
		if err == nil && data {
			err = ping("127.0.0.1:" + strconv.Itoa(s.Port))
		}
		return err
	}, startTimeout)
}

// Stop kills swtpm (SIGKILL, like a crash) and waits for it to go. The
// state directory stays for Restart. Stopping a stopped TPM does nothing.
func (s *TPM) Stop() { s.proc.Stop() }

// Restart starts swtpm again on the same ports with the same state, as a
// TPM that comes back after a crash (persistent objects kept, transient
// ones gone).
func (s *TPM) Restart() {
	s.t.Helper()
	s.Stop()
	s.start(false)
}

// ping sends TPM2_GetRandom(8) and checks for a success response, so that
// a TPM counts as up only once it executes commands.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	cmd := []byte{0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8}
	if _, err := c.Write(cmd); err != nil {
		return err
	}
	var hdr [10]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return err
	}
	if rc := binary.BigEndian.Uint32(hdr[6:]); rc != 0 {
		return fmt.Errorf("TPM2_GetRandom answered 0x%x", rc)
	}
	size := binary.BigEndian.Uint32(hdr[2:])
	if size < 10 || size > 4096 {
		return fmt.Errorf("bad response size %d", size)
	}
	_, err = io.CopyN(io.Discard, c, int64(size-10))
	return err
}

// pingCtrl asks the control channel for its capabilities
// (CMD_GET_CAPABILITY) and checks for a success result.
func pingCtrl(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte{0, 0, 0, 1}); err != nil {
		return err
	}
	var rsp [8]byte
	if _, err := io.ReadFull(c, rsp[:]); err != nil {
		return err
	}
	if rc := binary.BigEndian.Uint32(rsp[:4]); rc != 0 {
		return fmt.Errorf("CMD_GET_CAPABILITY answered 0x%x", rc)
	}
	return nil
}

// freePortPair finds P such that P and P+1 are both free on loopback.
func freePortPair(t TB) int {
	t.Helper()
	for range 100 {
		l1, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("swtpm: finding a port: %v", err)
		}
		p := l1.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l1.Close()
		if err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatalf("swtpm: no two adjacent free ports on 127.0.0.1")
	return 0
}

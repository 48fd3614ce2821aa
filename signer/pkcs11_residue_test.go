//go:build linux && cgo

package signer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/mem"
)

// pinHexLen is the length of the random PIN the test sets: 24 random
// bytes written as hex, long enough that any copy found is the PIN.
const pinHexLen = 48

// TestPKCS11PINResidue: after a key opened with pin-source has signed and
// been closed, no copy of the PIN is left anywhere in the process, Go heap
// and stacks, the module's C heap and everything else Scan reads. The PIN
// is made, set on the token and written to the pin file by a child shell,
// so this process meets it only through the code under test; the needle
// is read from the file by the kernel straight into locked memory.
func TestPKCS11PINResidue(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"K": "EC:prime256v1"})
	pinFile := filepath.Join(t.TempDir(), "pin")
	script := `set -e
pin=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
pkcs11-tool --module "$1" --token-label "$2" --login --pin 1234 --change-pin --new-pin "$pin" >/dev/null 2>&1
printf '%s\n' "$pin" > "$3"`
	if out, err := exec.Command("sh", "-c", script, "sh", tk.Module, tk.Label, pinFile).CombinedOutput(); err != nil {
		t.Fatalf("setting a random PIN: %v\n%s", err, out)
	}
	needle := readNeedle(t, pinFile)
	defer needle.Free()

	uri := "pkcs11:token=" + tk.Label + ";object=K;type=private?module-path=" + tk.Module + "&pin-source=file:" + pinFile
	key, err := Open(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("residue"))
	if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := key.Close(); err != nil {
		t.Fatal(err)
	}
	residue.AssertNone(t, [][]byte{needle.Bytes()})
	if t.Failed() || residue.RaceEnabled {
		return
	}

	// The control: a PIN given as pin-value lives in the URI string,
	// which no one can wipe, and the same scan finds it.
	withValue := "pkcs11:token=" + tk.Label + ";object=K;type=private?module-path=" + tk.Module + "&pin-value=" + string(needle.Bytes())
	key, err = Open(context.Background(), withValue)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := residue.Scan([][]byte{needle.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 {
		t.Error("the scan found no copy of a PIN passed as pin-value: it would not find a leak either")
	}
	runtime.KeepAlive(withValue)
}

// readNeedle reads the PIN (the file's first pinHexLen bytes) into locked
// memory with no copy on the Go heap.
func readNeedle(t *testing.T, path string) *mem.Secret {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := mem.New(pinHexLen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(f, s.Bytes()); err != nil {
		s.Free()
		t.Fatal(err)
	}
	return s
}

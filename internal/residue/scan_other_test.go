//go:build !linux

package residue

import (
	"errors"
	"testing"
)

func TestScanUnsupported(t *testing.T) {
	if _, err := Scan([][]byte{make([]byte, 32)}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Scan: %v, want errors.ErrUnsupported", err)
	}
}

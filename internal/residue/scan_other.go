//go:build !linux

package residue

import (
	"errors"
	"fmt"

	"github.com/holdfast-tls/holdfast/mem"
)

// Scan needs /proc/self/maps and /proc/self/mem, which only Linux has. On
// other systems it checks its arguments and fails with an error wrapping
// [errors.ErrUnsupported].
func Scan(needles [][]byte, pools ...*mem.Pool) (Report, error) {
	if err := checkNeedles(needles); err != nil {
		return Report{}, err
	}
	return Report{}, fmt.Errorf("residue: scanning process memory needs Linux's /proc/self/mem: %w", errors.ErrUnsupported)
}

//go:build linux

package residue_test

import (
	"crypto/rand"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// A secret is copied into a needle, freed, and searched for: mem wiped its
// slot, and the needle's own slot does not count.
func ExampleScan() {
	secret, err := mem.New(32)
	if err != nil {
		fmt.Println(err)
		return
	}
	rand.Read(secret.Bytes())

	needle, err := residue.NewNeedle(nil, secret.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer needle.Free()

	secret.Free()
	rep, err := residue.Scan([][]byte{needle.Bytes()}, mem.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("copies left:", len(rep.Findings))
	// Output: copies left: 0
}

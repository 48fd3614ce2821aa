package mem_test

import (
	"crypto/rand"
	"fmt"

	"github.com/holdfast-tls/holdfast/mem"
)

// A secret is made, used through its view, and freed by its one owner.
func ExampleNew() {
	key, err := mem.New(32)
	if err != nil {
		// The lock limit was reached: the error says which and how to raise it.
		fmt.Println(err)
		return
	}
	defer key.Free() // wipes the slot

	rand.Read(key.Bytes())
	fmt.Println(key.Len(), key) // a secret never prints its bytes
	// Output: 32 [redacted]
}

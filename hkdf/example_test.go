package hkdf_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/mem"
)

// The TLS 1.3 key schedule, stage by stage; each stage wipes the one
// before it.
func ExampleNewEarlySecret() {
	shared, _ := mem.New(32) // the (EC)DHE output, written by the key exchange
	defer shared.Free()

	early, err := hkdf.NewEarlySecret(hkdf.SHA256, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer early.Free()
	hs, err := early.Handshake(shared)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer hs.Free()

	transcript := sha256.Sum256([]byte("ClientHello...ServerHello"))
	clientHS, err := hs.ClientTrafficSecret(transcript[:])
	if err != nil {
		fmt.Println(err)
		return
	}
	defer clientHS.Free()

	key, _ := mem.New(16)
	iv, _ := mem.New(12)
	defer key.Free()
	defer iv.Free()
	if err := hkdf.TrafficKey(hkdf.SHA256, key, iv, clientHS); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(key.Len(), iv.Len(), key)
	// Output: 16 12 [redacted]
}

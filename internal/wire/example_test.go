package wire_test

import (
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/wire"
)

// A KeyUpdate split over two records comes out whole, and parses.
func ExampleReassembler() {
	var r wire.Reassembler
	for _, payload := range [][]byte{{wire.TypeKeyUpdate, 0, 0}, {1, 1}} {
		r.Add(payload)
		for {
			msg, ok, err := r.Next()
			if err != nil {
				fmt.Println(err)
				return
			}
			if !ok {
				fmt.Println("waiting, buffered:", r.Buffered())
				break
			}
			ku, err := wire.ParseKeyUpdate(msg)
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("KeyUpdate % x, update_requested %v\n", ku.Raw, ku.UpdateRequested)
		}
	}
	// Output:
	// waiting, buffered: 3
	// KeyUpdate 18 00 00 01 01, update_requested true
	// waiting, buffered: 0
}

// A client offering a PSK marshals its ClientHello with placeholder
// binders, computes the real ones over the truncated hello, and writes
// them in place.
func ExampleClientHello_UpdateBinders() {
	ch := &wire.ClientHello{
		Vers:               0x0303,
		CipherSuites:       []uint16{0x1301},
		CompressionMethods: []byte{0},
		SupportedVersions:  []uint16{0x0304},
		PSKModes:           []byte{1},
		PSKIdentities:      []wire.PSKIdentity{{Identity: []byte("ticket"), ObfuscatedAge: 1234}},
		PSKBinders:         [][]byte{make([]byte, 32)}, // SHA-256 sized
	}
	if _, err := ch.Marshal(); err != nil {
		fmt.Println(err)
		return
	}
	trunc, err := ch.TruncatedForBinders()
	if err != nil {
		fmt.Println(err)
		return
	}
	// The engine computes HMAC(binder finished key, Hash(trunc)) here.
	binder := make([]byte, 32)
	binder[0] = 0xbb
	if err := ch.UpdateBinders([][]byte{binder}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(ch.Raw)-len(trunc), "bytes of binders list; first binder byte", ch.Raw[len(trunc)+3])
	// Output:
	// 35 bytes of binders list; first binder byte 187
}

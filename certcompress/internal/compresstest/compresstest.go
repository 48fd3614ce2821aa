// Package compresstest holds the checks every certcompress.Compressor
// must pass, shared by the zlib, brotli and zstd tests.
package compresstest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/certcompress"
)

// chainLike is input shaped like a certificate chain: DER-ish structure
// with repeated names and random key and signature bytes.
func chainLike(t testing.TB) []byte {
	var b bytes.Buffer
	for i := range 3 {
		b.WriteString("\x30\x82\x03\x10\x30\x82\x02\xb8\xa0\x03\x02\x01\x02")
		b.WriteString("CN=Holdfast Test Intermediate CA, O=Holdfast, C=NL")
		b.WriteString("CN=Holdfast Test Root CA, O=Holdfast, C=NL")
		key := make([]byte, 65+i*100)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		b.Write(key)
		b.WriteString("http://crl.holdfast.test/intermediate.crl http://ocsp.holdfast.test/")
	}
	return b.Bytes()
}

// Check runs c through a round trip and every refusal the engine relies
// on: inflating past or short of the announced length, corrupt data and
// empty data.
func Check(t *testing.T, c certcompress.Compressor, alg uint16) {
	t.Helper()
	if c.Algorithm() != alg {
		t.Fatalf("Algorithm() = %d, want %d", c.Algorithm(), alg)
	}
	src := chainLike(t)
	comp, err := c.Compress(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(comp) >= len(src) {
		t.Errorf("compressed %d bytes to %d", len(src), len(comp))
	}
	out := make([]byte, len(src))
	if err := c.Decompress(out, comp); err != nil || !bytes.Equal(out, src) {
		t.Fatalf("round trip: %v", err)
	}
	// Announced length one short: more data than room.
	if err := c.Decompress(make([]byte, len(src)-1), comp); !errors.Is(err, certcompress.ErrLength) {
		t.Errorf("inflating past the announced length: %v, want ErrLength", err)
	}
	// Announced length one long: the stream ends early.
	if err := c.Decompress(make([]byte, len(src)+1), comp); !errors.Is(err, certcompress.ErrLength) {
		t.Errorf("inflating short of the announced length: %v, want ErrLength", err)
	}
	// A bomb: a megabyte of zeros announced as 100 bytes.
	bomb, err := c.Compress(make([]byte, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Decompress(make([]byte, 100), bomb); !errors.Is(err, certcompress.ErrLength) {
		t.Errorf("bomb: %v, want ErrLength", err)
	}
	// Brotli has no checksum, so a flipped bit may inflate to other bytes
	// of the right length (the handshake's signature catches that); a
	// truncated or empty stream never inflates.
	for _, bad := range [][]byte{nil, comp[:len(comp)/2]} {
		if err := c.Decompress(make([]byte, len(src)), bad); err == nil {
			t.Errorf("corrupt input %x accepted", bad)
		}
	}
	// Concurrent use: one Compressor serves every connection of a Config.
	done := make(chan error, 8)
	for range 8 {
		go func() {
			out := make([]byte, len(src))
			err := c.Decompress(out, comp)
			if err == nil && !bytes.Equal(out, src) {
				err = errors.New("concurrent round trip differs")
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// Fuzz feeds c arbitrary compressed data and announced lengths: it must
// return an error or fill exactly the announced length, never panic.
func Fuzz(f *testing.F, c certcompress.Compressor) {
	src := chainLike(f)
	comp, err := c.Compress(src)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(comp, uint16(len(src)))
	f.Add(comp, uint16(len(src)-1))
	f.Add([]byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, n uint16) {
		out := make([]byte, n)
		err := c.Decompress(out, data)
		if err == nil {
			// A success must be reproducible: the same input inflates to
			// the same bytes.
			again := make([]byte, n)
			if err := c.Decompress(again, data); err != nil || !bytes.Equal(out, again) {
				t.Fatalf("second decompression differs: %v", err)
			}
		}
	})
}

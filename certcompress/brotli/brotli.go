// Package brotli offers Brotli certificate compression (RFC 7932, code
// point 2 in RFC 8879) to Holdfast, on github.com/andybalholm/brotli.
//
// It is a separate package so that only programs that list it in
// holdfast.Config.CertificateCompressors depend on that library.
//
// Memory: a Brotli stream declares a window of up to 16 MiB; the decoder
// sizes its ring buffer from the window, so a hostile stream can make a
// single Decompress call allocate up to that much transiently, whatever
// the announced length (which the engine caps at its message limit before
// calling). Use zlib or zstd where that matters.
package brotli

import (
	"bytes"
	"fmt"

	"github.com/andybalholm/brotli"
	"github.com/holdfast-tls/holdfast/certcompress"
)

// New returns the Brotli Compressor.
func New() certcompress.Compressor { return compressor{} }

type compressor struct{}

func (compressor) Algorithm() uint16 { return certcompress.AlgorithmBrotli }

func (compressor) Compress(src []byte) ([]byte, error) {
	var buf bytes.Buffer
	// The best quality: the result is computed once per chain. A window
	// no larger than the input keeps the receiver's ring buffer small.
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: lgwinFor(len(src))})
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lgwinFor is the smallest Brotli window (10 to 24 bits) that holds n
// bytes.
func lgwinFor(n int) int {
	lg := 10
	for lg < 24 && 1<<lg-16 < n {
		lg++
	}
	return lg
}

func (compressor) Decompress(dst, src []byte) error {
	if err := certcompress.ReadExactly(brotli.NewReader(bytes.NewReader(src)), dst); err != nil {
		return fmt.Errorf("certcompress/brotli: %w", err)
	}
	return nil
}

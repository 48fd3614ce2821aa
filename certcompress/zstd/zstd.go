// Package zstd offers Zstandard certificate compression (RFC 8878, code
// point 3 in RFC 8879) to Holdfast, on github.com/klauspost/compress/zstd.
//
// It is a separate package so that only programs that list it in
// holdfast.Config.CertificateCompressors depend on that library.
//
// Memory: the decoder refuses frames whose window exceeds 64 KiB (a
// certificate chain is smaller than a handshake message, which Holdfast
// caps at 64 KiB), so a hostile frame cannot make it allocate more.
package zstd

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/klauspost/compress/zstd"
)

// maxWindow bounds the decoder's window and so its memory: the largest
// handshake message Holdfast accepts.
const maxWindow = 1 << 16

// New returns the Zstandard Compressor.
func New() certcompress.Compressor { return &compressor{} }

type compressor struct {
	encOnce sync.Once
	enc     *zstd.Encoder
	encErr  error
	decs    sync.Pool // *zstd.Decoder, synchronous, one stream at a time
}

func (*compressor) Algorithm() uint16 { return certcompress.AlgorithmZstd }

func (c *compressor) Compress(src []byte) ([]byte, error) {
	c.encOnce.Do(func() {
		// EncodeAll is safe for concurrent use; the window is kept within
		// what our own decoder (and any careful peer's) accepts.
		c.enc, c.encErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
			zstd.WithWindowSize(maxWindow), zstd.WithEncoderConcurrency(1))
	})
	if c.encErr != nil {
		return nil, fmt.Errorf("certcompress/zstd: %w", c.encErr)
	}
	return c.enc.EncodeAll(src, nil), nil
}

func (c *compressor) Decompress(dst, src []byte) error {
	d, _ := c.decs.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		// Concurrency 1 decodes on the caller's goroutine, so a pooled
		// decoder holds no goroutines.
		d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderMaxMemory(maxWindow))
		if err != nil {
			return fmt.Errorf("certcompress/zstd: %w", err)
		}
	}
	defer c.decs.Put(d)
	if err := d.Reset(bytes.NewReader(src)); err != nil {
		return fmt.Errorf("certcompress/zstd: %w", err)
	}
	if err := certcompress.ReadExactly(d, dst); err != nil {
		return fmt.Errorf("certcompress/zstd: %w", err)
	}
	return nil
}

package certcompress

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// Algorithm code points (RFC 8879 §7.3, the IANA registry).
const (
	AlgorithmZlib   uint16 = 1
	AlgorithmBrotli uint16 = 2
	AlgorithmZstd   uint16 = 3
)

// A Compressor is one certificate compression algorithm. Implementations
// must be safe for concurrent use: one serves every connection of a
// Config.
type Compressor interface {
	// Algorithm is the algorithm's code point in the
	// compress_certificate extension.
	Algorithm() uint16
	// Compress returns src compressed. A server calls it once per
	// certificate chain and reuses the result.
	Compress(src []byte) ([]byte, error)
	// Decompress inflates src into dst, which is exactly as long as the
	// peer announced. It fails, wrapping ErrLength, if the data inflates
	// to more or fewer bytes than len(dst), and fails on corrupt input.
	Decompress(dst, src []byte) error
}

// ErrLength reports compressed data that does not inflate to the length
// its sender announced.
var ErrLength = errors.New("certcompress: data does not inflate to the announced length")

// ReadExactly fills dst from a decompressing reader and then checks that
// the stream ends there: the common tail of a stream Decompress, for the
// subpackages as for zlib. The reader is never asked for more than one
// byte past dst, so a bomb costs at most len(dst)+1 bytes of output.
func ReadExactly(r io.Reader, dst []byte) error {
	if n, err := io.ReadFull(r, dst); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %d of %d bytes", ErrLength, n, len(dst))
		}
		return err
	}
	// The stream must end here. A reader may return (0, nil), so ask a
	// few times before calling it stuck.
	var extra [1]byte
	for range 4 {
		n, err := r.Read(extra[:])
		switch {
		case n != 0:
			return fmt.Errorf("%w: more than %d bytes", ErrLength, len(dst))
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("certcompress: corrupt data after %d bytes: %w", len(dst), err)
		}
	}
	return fmt.Errorf("certcompress: the stream neither ends nor goes on after %d bytes", len(dst))
}

// Zlib returns the zlib Compressor (RFC 1950), from the standard library.
func Zlib() Compressor { return zlibCompressor{} }

type zlibCompressor struct{}

func (zlibCompressor) Algorithm() uint16 { return AlgorithmZlib }

func (zlibCompressor) Compress(src []byte) ([]byte, error) {
	var buf bytes.Buffer
	// Best compression: the result is computed once per chain and sent in
	// every handshake.
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (zlibCompressor) Decompress(dst, src []byte) error {
	r, err := zlib.NewReader(bytes.NewReader(src))
	if err != nil {
		return fmt.Errorf("certcompress: zlib: %w", err)
	}
	if err := ReadExactly(r, dst); err != nil {
		return fmt.Errorf("certcompress: zlib: %w", err)
	}
	return nil
}

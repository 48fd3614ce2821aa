package params

import (
	"sync"

	"github.com/holdfast-tls/holdfast/certcompress"
)

// maxCompressedEntries bounds a CompressedCache. A Config sends a handful
// of distinct Certificate bodies (one per chain, times the variants an
// OCSP staple or request context makes); past the bound the cache starts
// over rather than tracking use.
const maxCompressedEntries = 64

// CompressedCache remembers the compressed form of Certificate message
// bodies by algorithm and exact input, so that compression (which is
// slow and allocates a large state) runs once per chain rather than once
// per handshake. It is safe for concurrent use; the zero value is ready,
// and a nil *CompressedCache compresses and inflates without remembering.
type CompressedCache struct {
	mu sync.Mutex
	n  int
	m  map[uint16]map[string][]byte

	// The receiving side: what a peer's compressed Certificate inflated
	// to, by algorithm and compressed bytes, bounded in total size.
	inflated      map[uint16]map[string][]byte
	inflatedBytes int
}

// maxInflatedBytes bounds the memory the receiving side's cache holds.
const maxInflatedBytes = 1 << 20

// Compress returns body compressed with c, from the cache when the same
// body was compressed before. The result is shared: callers must not
// modify it.
func (cc *CompressedCache) Compress(c certcompress.Compressor, body []byte) ([]byte, error) {
	if cc == nil {
		return c.Compress(body)
	}
	alg := c.Algorithm()
	cc.mu.Lock()
	out, ok := cc.m[alg][string(body)]
	cc.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := c.Compress(body)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || cc.n >= maxCompressedEntries {
		cc.m, cc.n = map[uint16]map[string][]byte{}, 0
	}
	if cc.m[alg] == nil {
		cc.m[alg] = map[string][]byte{}
	}
	if _, dup := cc.m[alg][string(body)]; !dup {
		cc.m[alg][string(body)] = out
		cc.n++
	}
	return out, nil
}

// Decompress inflates src with c into a buffer of headerLen+n bytes,
// leaving the first headerLen bytes for the caller's message header,
// reusing an earlier result for the same compressed bytes: a server sends
// its chain compressed the same way every time. The result is the
// caller's to modify.
func (cc *CompressedCache) Decompress(c certcompress.Compressor, headerLen, n int, src []byte) ([]byte, error) {
	out := make([]byte, headerLen+n)
	if cc == nil {
		return out, c.Decompress(out[headerLen:], src)
	}
	alg := c.Algorithm()
	cc.mu.Lock()
	prev, ok := cc.inflated[alg][string(src)]
	cc.mu.Unlock()
	if ok && len(prev) == n {
		copy(out[headerLen:], prev)
		return out, nil
	}
	if err := c.Decompress(out[headerLen:], src); err != nil {
		return nil, err
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.inflated == nil || cc.inflatedBytes+n > maxInflatedBytes {
		cc.inflated, cc.inflatedBytes = map[uint16]map[string][]byte{}, 0
	}
	if cc.inflated[alg] == nil {
		cc.inflated[alg] = map[string][]byte{}
	}
	if _, dup := cc.inflated[alg][string(src)]; !dup && n <= maxInflatedBytes {
		cc.inflated[alg][string(src)] = append([]byte(nil), out[headerLen:]...)
		cc.inflatedBytes += n
	}
	return out, nil
}

// CompressorFor returns the first of offered (the peer's list, in its
// order) that p has, or nil.
func (p *Params) CompressorFor(offered []uint16) certcompress.Compressor {
	for _, alg := range offered {
		for _, c := range p.CertCompressors {
			if c.Algorithm() == alg {
				return c
			}
		}
	}
	return nil
}

// CompressionAlgorithms lists the algorithms of p.CertCompressors, for a
// compress_certificate extension; nil when compression is off.
func (p *Params) CompressionAlgorithms() []uint16 {
	var out []uint16
	for _, c := range p.CertCompressors {
		out = append(out, c.Algorithm())
	}
	return out
}

package record

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/holdfast-tls/holdfast/mem"
)

// recordMAC is the HMAC (RFC 2104) of TLS 1.2 CBC records, RFC 5246
// §6.2.3.1:
//
//	HMAC(MAC_write_key, seq_num + type + version + length + fragment)
//
// Between records it keeps only the two chaining values HMAC starts from
// (after the key XOR ipad block and after the key XOR opad block) in a
// locked slot of 2 × the digest length: with the key itself gone, those
// are all the MAC needs. Each MAC borrows a locked working buffer from a
// pool every connection shares (macScratch): the hash state resumed from
// a chaining value, and the inner digest; it is wiped before it goes
// back. The hash objects themselves (crypto/sha1, crypto/sha256) are on
// the heap; each use ends with Reset, which overwrites their chaining
// value, so no key-derived word stays there between records. What the
// compression functions leave on the goroutine stack is not wiped (see
// docs/ARCHITECTURE.md, "Stack temporaries").
//
// A recordMAC serves one direction of one connection; it is not safe for
// concurrent use.
type recordMAC struct {
	size    int // digest and key length: 20 for SHA-1, 32 for SHA-256
	words   int // chaining-value words: 5 or 8
	magic   string
	is256   bool
	d       hash.Hash
	export  encoding.BinaryAppender
	resumer encoding.BinaryUnmarshaler

	slot *mem.Secret
	// Views into slot: the chaining values after the ipad and the opad
	// block, big-endian, size bytes each.
	istate, ostate []byte

	// hdr is the MAC's pseudo-header: seq_num, type, version, length.
	hdr [macHeaderLen]byte

	// ctBlocks counts compression-function calls made block by block
	// (the constant-time tail and outer hash); tests use it to show the
	// work does not depend on the padding.
	ctBlocks int
}

const (
	hashBlock    = 64 // SHA-1 and SHA-256 input block
	macHeaderLen = 8 + 1 + 2 + 2
	maxMACSize   = sha256.Size
	// stateRoom bounds an exported hash state: magic, 8 words, one
	// buffered block and the length.
	stateRoom = 4 + 32 + hashBlock + 8
	// scratchLen is a MAC's working buffer: a hash state and the inner
	// digest.
	scratchLen = stateRoom + maxMACSize
)

// errHashState means the standard library's exported hash state did not
// have the layout recordMAC reads; it is a bug, not a peer's fault.
var errHashState = errors.New("record: unexpected hash state layout")

func newRecordMAC(sha256MAC bool, key *mem.Secret) (*recordMAC, error) {
	m := &recordMAC{size: sha1.Size, words: 5, magic: "sha\x01", d: sha1.New()}
	if sha256MAC {
		m.size, m.words, m.magic, m.is256, m.d = sha256.Size, 8, "sha\x03", true, sha256.New()
	}
	if key.Len() != m.size {
		return nil, fmt.Errorf("record: MAC key is %d bytes, want %d", key.Len(), m.size)
	}
	exp, ok1 := m.d.(encoding.BinaryAppender)
	res, ok2 := m.d.(encoding.BinaryUnmarshaler)
	if !ok1 || !ok2 {
		return nil, errHashState
	}
	m.export, m.resumer = exp, res
	slot, err := mem.New(2 * m.size)
	if err != nil {
		return nil, err
	}
	m.slot = slot
	m.istate, m.ostate = slot.Bytes()[:m.size:m.size], slot.Bytes()[m.size:]
	// The padded keys exist only here, in a locked slot freed on return.
	tmp, err := mem.New(hashBlock + stateRoom)
	if err != nil {
		m.free()
		return nil, err
	}
	defer tmp.Free()
	pad, st := tmp.Bytes()[:hashBlock], tmp.Bytes()[hashBlock:]
	k := key.Bytes()
	for _, p := range []struct {
		x     byte
		state []byte
	}{{0x36, m.istate}, {0x5c, m.ostate}} {
		for i := range pad {
			var kb byte
			if i < len(k) {
				kb = k[i]
			}
			pad[i] = kb ^ p.x
		}
		m.d.Reset()
		m.d.Write(pad)
		cv, err := m.chain(st, hashBlock)
		if err != nil {
			m.free()
			return nil, err
		}
		copy(p.state, cv)
	}
	m.d.Reset()
	return m, nil
}

// free wipes the slot.
func (m *recordMAC) free() {
	if m == nil || m.slot == nil {
		return
	}
	m.slot.Free()
	m.slot = nil
}

// setHeader fills the pseudo-header. version is the record header's.
func (m *recordMAC) setHeader(seq uint64, typ ContentType, version []byte, length int) {
	binary.BigEndian.PutUint64(m.hdr[:8], seq)
	m.hdr[8] = byte(typ)
	m.hdr[9], m.hdr[10] = version[0], version[1]
	binary.BigEndian.PutUint16(m.hdr[11:], uint16(length))
}

// stateLen is the length of the hash's exported state.
func (m *recordMAC) stateLen() int { return len(m.magic) + 4*m.words + hashBlock + 8 }

// chain exports d's state into buf and returns its chaining value,
// big-endian. d must have hashed exactly n bytes, a whole number of
// blocks, so nothing is buffered.
func (m *recordMAC) chain(buf []byte, n int) ([]byte, error) {
	st, err := m.export.AppendBinary(buf[:0])
	if err != nil {
		return nil, err
	}
	if len(st) != m.stateLen() || &st[0] != &buf[0] ||
		string(st[:len(m.magic)]) != m.magic || binary.BigEndian.Uint64(st[len(st)-8:]) != uint64(n) {
		return nil, errHashState
	}
	return st[len(m.magic) : len(m.magic)+4*m.words], nil
}

// resume sets d to the state after one block whose chaining value is cv
// (istate or ostate): the exported form built in buf, which the caller
// wipes.
func (m *recordMAC) resume(buf, cv []byte) error {
	st := buf[:m.stateLen()]
	copy(st, m.magic)
	copy(st[len(m.magic):], cv)
	clear(st[len(m.magic)+4*m.words : len(st)-8])
	binary.BigEndian.PutUint64(st[len(st)-8:], hashBlock)
	return m.resumer.UnmarshalBinary(st)
}

// macScratch lends MACs their working buffers.
var macScratch = scratchPool{free: make([]*mem.Secret, 0, scratchKept)}

// scratchKept is how many idle working buffers the pool keeps.
const scratchKept = 16

// scratchPool is a few locked buffers of scratchLen bytes shared by every
// connection: a MAC holds one only while it computes, so a connection
// keeps just its chaining values locked. Buffers come back wiped.
type scratchPool struct {
	mu   sync.Mutex
	free []*mem.Secret
}

func (sp *scratchPool) get() (*mem.Secret, error) {
	sp.mu.Lock()
	if n := len(sp.free); n > 0 {
		s := sp.free[n-1]
		sp.free = sp.free[:n-1]
		sp.mu.Unlock()
		return s, nil
	}
	sp.mu.Unlock()
	return mem.New(scratchLen)
}

func (sp *scratchPool) put(s *mem.Secret) {
	clear(s.Bytes())
	sp.mu.Lock()
	if len(sp.free) < cap(sp.free) {
		sp.free = append(sp.free, s)
		sp.mu.Unlock()
		return
	}
	sp.mu.Unlock()
	s.Free()
}

// sum writes HMAC(key, hdr + a + b) to out[:size]. Every length is public:
// this is for sealing and for encrypt_then_mac, where the MAC covers the
// ciphertext.
func (m *recordMAC) sum(out, a, b []byte) error {
	sc, err := macScratch.get()
	if err != nil {
		return err
	}
	defer macScratch.put(sc)
	st, inner := sc.Bytes()[:stateRoom], sc.Bytes()[stateRoom:]
	d := m.d
	defer d.Reset()
	if err := m.resume(st, m.istate); err != nil {
		return err
	}
	d.Write(m.hdr[:])
	d.Write(a)
	d.Write(b)
	in := d.Sum(inner[:0])
	if err := m.resume(st, m.ostate); err != nil {
		return err
	}
	d.Write(in)
	d.Sum(out[:0])
	return nil
}

// sumSecretLen writes HMAC(key, hdr + data[:n]) to out[:size] in time that
// depends on lo, hi and len(data) but not on n, for a secret n in
// [lo, hi] (hi ≤ len(data)); hdr's length field must already hold n. This
// is the check of a MAC-then-encrypt record, where n follows from the
// decrypted padding (the Lucky13 attack times exactly this).
//
// The hashed message M = hdr + data[:n] is m = 13+n bytes; after SHA
// padding (0x80, zeros, the 64-bit bit length of ipad + M) it ends in
// block (m+8)/64. Blocks wholly below the shortest possible M are pure
// message: they go through the standard hash, whose length is public.
// Every block from there to the last the longest M could end in is built
// with masks (a message byte before position m, 0x80 at m, zero after, the
// length in the last 8 bytes of the block M really ends in), compressed,
// and its chaining value kept, with a mask, if it is M's last block. So the
// same blocks are hashed, and the same bytes of data read, whatever n is.
func (m *recordMAC) sumSecretLen(out, data []byte, n, lo, hi int) error {
	data = data[:hi]
	mlo, mhi := macHeaderLen+lo, macHeaderLen+hi
	first := mlo / hashBlock      // the first block built with masks
	last := (mhi + 8) / hashBlock // the last block M may end in

	sc, err := macScratch.get()
	if err != nil {
		return err
	}
	defer macScratch.put(sc)
	st, inner := sc.Bytes()[:stateRoom], sc.Bytes()[stateRoom:]
	var h, sel [8]uint32
	var blk [hashBlock]byte
	cv := m.istate
	if first > 0 {
		d := m.d
		if err := m.resume(st, m.istate); err != nil {
			d.Reset()
			return err
		}
		d.Write(m.hdr[:])
		d.Write(data[:first*hashBlock-macHeaderLen])
		cv, err = m.chain(st, (first+1)*hashBlock)
		d.Reset()
		if err != nil {
			return err
		}
	}
	for i := range m.words {
		h[i] = binary.BigEndian.Uint32(cv[4*i:])
	}
	clear(st)

	msgLen := macHeaderLen + n
	end := (msgLen + 8) / hashBlock
	bitLen := uint64(hashBlock+msgLen) * 8
	for k := first; k <= last; k++ {
		for j := range hashBlock {
			i := k*hashBlock + j
			var b byte
			switch { // i is public
			case i < macHeaderLen:
				b = m.hdr[i]
			case i-macHeaderLen < len(data):
				b = data[i-macHeaderLen]
			}
			blk[j] = b&byte(ctLess(i, msgLen)) | 0x80&byte(ctEq(i, msgLen))
		}
		isEnd := ctEq(k, end)
		for j := range 8 {
			blk[hashBlock-8+j] |= byte(bitLen>>(56-8*j)) & byte(isEnd)
		}
		m.compress(&h, &blk)
		for i := range m.words {
			sel[i] |= h[i] & uint32(isEnd)
		}
	}

	for i := range m.words {
		binary.BigEndian.PutUint32(inner[4*i:], sel[i])
	}
	m.outer(out, inner, &h, &blk)
	clear(h[:])
	clear(sel[:])
	clear(blk[:])
	return nil
}

// outer finishes an HMAC from the inner digest in inner: one block of
// opad chaining value, inner digest, and padding. It writes the MAC to
// out[:size] and clears inner. h and blk are scratch.
func (m *recordMAC) outer(out, inner []byte, h *[8]uint32, blk *[hashBlock]byte) {
	for i := range m.words {
		h[i] = binary.BigEndian.Uint32(m.ostate[4*i:])
	}
	clear(blk[:])
	copy(blk[:], inner[:m.size])
	blk[m.size] = 0x80
	binary.BigEndian.PutUint64(blk[hashBlock-8:], uint64(hashBlock+m.size)*8)
	m.compress(h, blk)
	for i := range m.size / 4 {
		binary.BigEndian.PutUint32(out[4*i:], h[i])
	}
	clear(inner)
}

// compress runs one block through the MAC hash's compression function.
// It calls the functions directly, not through a func value, so the
// caller's stack scratch does not escape to the heap.
func (m *recordMAC) compress(h *[8]uint32, blk *[hashBlock]byte) {
	if m.is256 {
		sha256Compress(h, blk)
	} else {
		sha1Compress(h, blk)
	}
	m.ctBlocks++
}

// ctEq returns all ones if a == b and 0 otherwise, without branching.
func ctEq(a, b int) uint64 {
	x := uint64(a ^ b)
	return ((x | -x) >> 63) - 1
}

// ctLess returns all ones if a < b and 0 otherwise, without branching, for
// a and b in [0, 2^62).
func ctLess(a, b int) uint64 {
	return -(uint64(a-b) >> 63)
}

// cbcPadding checks the padding that ends a decrypted CBC plaintext p
// (RFC 5246 §6.2.3.2: padding_length+1 bytes, each equal to
// padding_length) and that reserve bytes (the MAC) fit before it. It
// reads the last min(len(p), 256) bytes whatever their values, and
// returns the padding length (0 if the padding is bad, so the MAC is then
// checked over the most data) and 1 for good padding, 0 for bad.
func cbcPadding(p []byte, reserve int) (padLen, good int) {
	last := len(p) - 1
	pl := int(p[last])
	ok := ^ctLess(last, pl+reserve) // pl+1+reserve ≤ len(p)
	var diff byte
	for i := range min(len(p), 256) {
		diff |= byte(^ctLess(pl, i)) & (p[last-i] ^ byte(pl)) // i ≤ pl
	}
	ok &= ctEq(int(diff), 0)
	return pl & int(ok), int(ok & 1)
}

// extractMAC copies p[n:n+len(dst)] to dst for a secret n in [lo, hi],
// reading every byte of p[lo:hi+len(dst)] the same way whatever n is.
// One pass over that window ORs each byte, masked by whether it is a MAC
// byte, into a buffer indexed by its position modulo the MAC length (a
// public index), so the MAC lands rotated by (n-lo) mod len(dst); five
// masked rotations by 1, 2, 4, 8 and 16 undo that.
func extractMAC(dst, p []byte, n, lo, hi int) {
	size := len(dst)
	var rot, tmp [maxMACSize]byte
	var off int // (n-lo) mod size, found as the slot position n lands in
	j := 0
	for i := lo; i < hi+size; i++ {
		rot[j] |= p[i] & byte(^ctLess(i, n)&ctLess(i, n+size)) // n ≤ i < n+size
		off |= j & int(ctEq(i, n))
		if j++; j == size { // j is public
			j = 0
		}
	}
	for b := 1; b < size; b <<= 1 {
		take := byte(ctEq(off&b, b))
		for q := range size {
			tmp[q] = rot[(q+b)%size]
		}
		for q := range size {
			rot[q] = tmp[q]&take | rot[q]&^take
		}
	}
	copy(dst, rot[:size])
}

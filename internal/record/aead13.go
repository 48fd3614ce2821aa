package record

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

// AEAD names a record protection algorithm.
type AEAD uint8

const (
	AES128GCM AEAD = iota + 1
	AES256GCM
	ChaCha20Poly1305
)

// KeyLen is the AEAD's key length in bytes.
func (a AEAD) KeyLen() int {
	switch a {
	case AES128GCM:
		return 16
	case AES256GCM, ChaCha20Poly1305:
		return 32
	}
	return 0
}

// IVLen is the length of the TLS 1.3 per-connection IV.
const IVLen = 12

func (a AEAD) String() string {
	switch a {
	case AES128GCM:
		return "AES-128-GCM"
	case AES256GCM:
		return "AES-256-GCM"
	case ChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	}
	return fmt.Sprintf("AEAD(%d)", uint8(a))
}

// sealLimit is how many records one key may protect. RFC 8446 §5.5 puts
// AES-GCM's confidentiality limit at 2^24.5 full-size records; we stop at
// 2^24. ChaCha20-Poly1305 has no practical limit below the sequence
// number's, which must never wrap.
func (a AEAD) sealLimit() uint64 {
	if a == ChaCha20Poly1305 {
		return 1<<64 - 1
	}
	return 1 << 24
}

// updateMargin is how far below the limit NeedsKeyUpdate starts asking.
const updateMargin = 1 << 16

// newAEAD builds the AEAD for a key. The library copies the key into heap
// state (AES round keys, the GHASH key, the ChaCha20 key); building it
// inside erase.Do lets the runtimesecret build erase that state once the
// protection drops it.
func newAEAD(a AEAD, key []byte) (k aeadKey, err error) {
	if len(key) != a.KeyLen() {
		return aeadKey{}, fmt.Errorf("record: %v key is %d bytes, want %d", a, len(key), a.KeyLen())
	}
	erase.Do(func() { k, err = buildAEAD(a, key) })
	return k, err
}

// aeadKey is an AEAD and, for AES-GCM, the block cipher under it: the
// objects holding the key schedule, kept so that wipe can clear them.
type aeadKey struct {
	aead  cipher.AEAD
	block cipher.Block
}

func buildAEAD(a AEAD, key []byte) (aeadKey, error) {
	switch a {
	case AES128GCM, AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return aeadKey{}, err
		}
		aead, err := cipher.NewGCM(block)
		return aeadKey{aead, block}, err
	case ChaCha20Poly1305:
		aead, err := chacha20poly1305.New(key)
		return aeadKey{aead: aead}, err
	}
	return aeadKey{}, fmt.Errorf("record: unknown AEAD %d", uint8(a))
}

// wipe clears the key schedules the standard library keeps on the heap
// (AES round keys, the GHASH table, the ChaCha20 key), which it never
// wipes itself; nothing may use the AEAD afterwards.
func (k *aeadKey) wipe() {
	if k.aead != nil {
		erase.Object(k.aead)
	}
	if k.block != nil {
		erase.Object(k.block)
	}
	*k = aeadKey{}
}

// Protection13 protects one direction of a TLS 1.3 connection with one
// traffic key (RFC 8446 §5.2, §5.3). It is a Sealer and an Opener.
type Protection13 struct {
	alg  AEAD
	aead cipher.AEAD
	keys aeadKey // aead and its block, wiped by Free
	// ivNonce holds the IV in [0:12] and the current nonce in [12:24].
	ivNonce *mem.Secret
	seq     uint64
	limit   uint64
}

// NewProtection13 makes record protection from a traffic key and IV. The
// key is only read (the AEAD keeps its own copy, see the package doc); the
// caller frees it. The IV is copied into the protection's locked slot.
func NewProtection13(a AEAD, key, iv *mem.Secret) (*Protection13, error) {
	if iv.Len() != IVLen {
		return nil, fmt.Errorf("record: TLS 1.3 IV is %d bytes, want %d", iv.Len(), IVLen)
	}
	k, err := newAEAD(a, key.Bytes())
	if err != nil {
		return nil, err
	}
	ivNonce, err := mem.New(2 * IVLen)
	if err != nil {
		k.wipe()
		return nil, err
	}
	mem.CopyBytewise(ivNonce.Bytes(), iv.Bytes())
	return &Protection13{alg: a, aead: k.aead, keys: k, ivNonce: ivNonce, limit: a.sealLimit()}, nil
}

// nonce writes IV XOR the 64-bit sequence number, left-padded, into the
// nonce half of the slot.
func (p *Protection13) nonce() []byte {
	b := p.ivNonce.Bytes()
	iv, n := b[:IVLen], b[IVLen:]
	mem.CopyBytewise(n, iv) // not copy: vector registers would spill the IV
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], p.seq)
	for i := range seq {
		n[4+i] ^= seq[i]
	}
	return n
}

// Overhead is what sealing adds to a payload: the content type byte and
// the tag.
func (p *Protection13) Overhead() int { return 1 + p.aead.Overhead() }

// NeedsKeyUpdate reports that this key is close to its usage limit and the
// engine should send KeyUpdate before sealing much more.
func (p *Protection13) NeedsKeyUpdate() bool {
	return p.limit-p.seq <= updateMargin
}

// Seal appends a protected record carrying payload as content type typ to
// dst, padded with pad zero bytes, and returns the extended slice. payload
// must not exceed MaxPlaintext and must not overlap dst's spare capacity.
func (p *Protection13) Seal(dst []byte, typ ContentType, payload []byte, pad int) ([]byte, error) {
	if p.seq >= p.limit {
		return dst, ErrSealLimit
	}
	if len(payload)+1+pad > MaxPlaintext+1 {
		return dst, fmt.Errorf("record: payload of %d bytes with %d padding exceeds the record limit", len(payload), pad)
	}
	bodyLen := len(payload) + 1 + pad + p.aead.Overhead()
	start := len(dst)
	out := grow(dst, HeaderLen+bodyLen)
	hdr := out[start : start+HeaderLen]
	hdr[0] = byte(TypeApplicationData)
	binary.BigEndian.PutUint16(hdr[1:], VersionTLS12)
	binary.BigEndian.PutUint16(hdr[3:], uint16(bodyLen))
	inner := out[start+HeaderLen : start+HeaderLen+len(payload)+1+pad]
	copy(inner, payload)
	inner[len(payload)] = byte(typ)
	clear(inner[len(payload)+1:])
	p.aead.Seal(inner[:0], p.nonce(), inner, hdr)
	p.seq++
	return out, nil
}

// Open authenticates and decrypts one record (header and body) in place
// and returns the inner content type and plaintext, which alias rec.
func (p *Protection13) Open(rec []byte) (ContentType, []byte, error) {
	body := rec[HeaderLen:]
	if len(body) > maxCiphertext13 {
		return 0, nil, fmt.Errorf("protected record of %d bytes: %w", len(body), alert.ErrRecordOverflow)
	}
	if ContentType(rec[0]) != TypeApplicationData {
		return 0, nil, fmt.Errorf("protected record of type %v: %w", ContentType(rec[0]), alert.ErrUnexpectedMessage)
	}
	if p.seq == 1<<64-1 {
		return 0, nil, fmt.Errorf("record: peer's sequence number exhausted: %w", alert.ErrUnexpectedMessage)
	}
	plain, err := p.aead.Open(body[:0], p.nonce(), body, rec[:HeaderLen])
	if err != nil {
		return 0, nil, alert.ErrBadRecordMAC
	}
	p.seq++
	// Strip the zero padding; the content type is the last non-zero byte
	// (RFC 8446 §5.4).
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, fmt.Errorf("record with no content type: %w", alert.ErrUnexpectedMessage)
	}
	if i > MaxPlaintext {
		return 0, nil, fmt.Errorf("plaintext of %d bytes: %w", i, alert.ErrRecordOverflow)
	}
	return ContentType(plain[i]), plain[:i], nil
}

// Free wipes the IV and nonce and drops the AEAD.
func (p *Protection13) Free() {
	if p == nil || p.ivNonce == nil {
		return
	}
	p.ivNonce.Free()
	p.ivNonce = nil
	p.aead = nil
	p.keys.wipe()
}

// grow extends b by n bytes, reallocating only when its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*len(b)+n)
	copy(nb, b)
	return nb
}

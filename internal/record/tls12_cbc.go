package record

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

// CBC12 names a TLS 1.2 CBC-mode record protection: AES in CBC mode with
// an explicit per-record IV, authenticated with HMAC (RFC 5246 §6.2.3.2).
// These are legacy suites, only for peers that offer nothing else.
type CBC12 uint8

const (
	// AES128CBCSHA1 is the protection of the TLS_*_WITH_AES_128_CBC_SHA
	// suites (RFC 5246 Appendix C, RFC 8422).
	AES128CBCSHA1 CBC12 = iota + 1
	// AES256CBCSHA1 is that of TLS_*_WITH_AES_256_CBC_SHA.
	AES256CBCSHA1
	// AES128CBCSHA256 is that of TLS_*_WITH_AES_128_CBC_SHA256.
	AES128CBCSHA256
	// AES256CBCSHA256 is that of TLS_*_WITH_AES_256_CBC_SHA256.
	AES256CBCSHA256
)

// KeyLen is the length of the AES key (enc_key_length).
func (c CBC12) KeyLen() int {
	switch c {
	case AES128CBCSHA1, AES128CBCSHA256:
		return 16
	case AES256CBCSHA1, AES256CBCSHA256:
		return 32
	}
	return 0
}

// MACKeyLen is the length of the HMAC key (mac_key_length), which is also
// the length of the MAC in each record: 20 for SHA-1, 32 for SHA-256.
func (c CBC12) MACKeyLen() int {
	switch c {
	case AES128CBCSHA1, AES256CBCSHA1:
		return 20
	case AES128CBCSHA256, AES256CBCSHA256:
		return 32
	}
	return 0
}

func (c CBC12) String() string {
	switch c {
	case AES128CBCSHA1:
		return "AES-128-CBC-HMAC-SHA1"
	case AES256CBCSHA1:
		return "AES-256-CBC-HMAC-SHA1"
	case AES128CBCSHA256:
		return "AES-128-CBC-HMAC-SHA256"
	case AES256CBCSHA256:
		return "AES-256-CBC-HMAC-SHA256"
	}
	return fmt.Sprintf("CBC12(%d)", uint8(c))
}

// CBCMode says how a CBC record is authenticated.
type CBCMode uint8

const (
	// MACThenEncrypt is RFC 5246 §6.2.3.2: the MAC covers the plaintext
	// and is encrypted with it. The default, and the only mode of a peer
	// that did not negotiate encrypt_then_mac.
	MACThenEncrypt CBCMode = iota
	// EncryptThenMAC is RFC 7366: the MAC covers the IV and ciphertext
	// and follows them in clear. Use it when both hellos carried the
	// encrypt_then_mac extension.
	EncryptThenMAC
)

const (
	cbcBlock = aes.BlockSize
	// maxPadding is the largest padding_length (RFC 5246 §6.2.3.2).
	maxPadding = 255
)

// cbcMode is a CBC encrypter or decrypter whose IV can be set per record.
// crypto/cipher's CBC modes implement it.
type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// Protection12CBC protects one direction of a TLS 1.2 connection with a
// CBC suite. It is a Sealer and an Opener.
//
// Sealing writes a fresh IV from the constructor's random source into each
// record, then either MACs and encrypts (payload + MAC + padding) or, with
// EncryptThenMAC, encrypts (payload + padding) and MACs the IV and
// ciphertext (RFC 7366, with erratum 4212: the MAC's length field is that
// of IV + ciphertext, without the MAC).
//
// # Opening without a timing oracle (Lucky13)
//
// A MACThenEncrypt record is opened so that the work done depends only on
// the record's length, which is public, and not on the decrypted padding
// or MAC, which an attacker probes (Vaudenay's padding oracle, and Lucky13,
// AlFardan and Paterson 2013):
//
//   - The padding is checked by reading the last min(len, 256) decrypted
//     bytes whatever the padding length, with masks, not branches.
//   - The MAC is computed over the data length that the padding implies,
//     but the hash runs the same blocks for every padding length:
//     recordMAC.sumSecretLen hashes the part every candidate length shares
//     with the ordinary hash and the remaining blocks one by one with
//     masks, keeping the right block's result with a mask.
//   - The MAC in the record is read from its secret position by reading
//     every candidate position (extractMAC) and selecting with masks.
//   - The two MACs are compared with crypto/subtle, and the padding
//     verdict is ANDed in before the single branch: bad padding and a bad
//     MAC return the same error value, alert.ErrBadRecordMAC, after the
//     same work. With bad padding the MAC is checked over the longest
//     data, so no byte escapes the MAC.
//
// Tests count the compression-function calls and trace every hash
// operation for every padding length, valid and not, and find them equal
// (TestCBCOpenWorkIsIndependentOfPadding).
//
// What is not constant time: anything derived from the record's length
// (rejecting a body that is not a whole number of blocks or too short, the
// number of blocks hashed and decrypted); the final accept or reject; the
// record_overflow check on an authenticated plaintext; the AES key schedule
// and block function where the CPU lacks AES instructions (crypto/aes falls
// back to table lookups there); and whatever the Go compiler or the CPU
// does beyond the source, such as cache effects of the record's own bytes.
//
// An EncryptThenMAC record is MAC-checked, over public lengths, before it
// is decrypted, so its padding is no oracle; it is still checked with the
// same masked code.
//
// # Secrets
//
// The MAC key is never copied to the heap: it is turned, in a locked
// slot freed at once, into HMAC's ipad and opad blocks and from those into
// the two chaining values HMAC starts from, the only MAC secret kept (in
// a locked slot of its own); each record's MAC resumes the hash from them
// in a locked working buffer borrowed from a shared pool (recordMAC;
// crypto/hmac would keep both pads' states on the heap). The hash
// functions' registers and stack temporaries are not wiped. crypto/aes keeps its key schedule on the heap, as the package doc
// says.
type Protection12CBC struct {
	suite CBC12
	mode  CBCMode
	rand  io.Reader
	enc   cbcMode
	dec   cbcMode
	block cipher.Block // under enc and dec; its key schedule is wiped by Free
	mac   *recordMAC
	seq   uint64
	// tag receives the MAC computed for an encrypt_then_mac record, a
	// value public on the wire; a field so hashing into it does not
	// allocate.
	tag [maxMACSize]byte
}

// NewProtection12CBC makes TLS 1.2 CBC record protection from a write key
// and MAC key of the same direction, as the key block gives them (RFC 5246
// §6.3; TLS 1.2 CBC suites take no IV from the key block). Neither secret
// changes hands: the key is only read (crypto/aes keeps its own schedule)
// and the MAC key is turned into HMAC state in the protection's locked
// slot, so the caller frees both, and may do so as soon as this returns.
// random supplies the per-record IVs when sealing; nil means crypto/rand.
func NewProtection12CBC(c CBC12, mode CBCMode, key, macKey *mem.Secret, random io.Reader) (*Protection12CBC, error) {
	if c.KeyLen() == 0 {
		return nil, fmt.Errorf("record: unknown CBC suite %d", uint8(c))
	}
	if mode != MACThenEncrypt && mode != EncryptThenMAC {
		return nil, fmt.Errorf("record: unknown CBC mode %d", uint8(mode))
	}
	if key.Len() != c.KeyLen() {
		return nil, fmt.Errorf("record: %v key is %d bytes, want %d", c, key.Len(), c.KeyLen())
	}
	if macKey.Len() != c.MACKeyLen() {
		return nil, fmt.Errorf("record: %v MAC key is %d bytes, want %d", c, macKey.Len(), c.MACKeyLen())
	}
	var err error
	// Built inside erase.Do so the runtimesecret build erases the AES
	// round keys once the protection drops them.
	var enc, dec cbcMode
	var block cipher.Block
	erase.Do(func() {
		if block, err = aes.NewCipher(key.Bytes()); err != nil {
			return
		}
		var zeroIV [cbcBlock]byte
		var ok1, ok2 bool
		enc, ok1 = cipher.NewCBCEncrypter(block, zeroIV[:]).(cbcMode)
		dec, ok2 = cipher.NewCBCDecrypter(block, zeroIV[:]).(cbcMode)
		if !ok1 || !ok2 {
			err = fmt.Errorf("record: crypto/cipher's CBC mode cannot set its IV")
		}
	})
	if err != nil {
		return nil, err
	}
	mac, err := newRecordMAC(c.MACKeyLen() == 32, macKey)
	if err != nil {
		erase.Object(block)
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	return &Protection12CBC{suite: c, mode: mode, rand: random, enc: enc, dec: dec, block: block, mac: mac}, nil
}

// Overhead is the most that sealing adds to a payload beyond what pad
// asks for: the IV, the MAC and one block of padding.
func (p *Protection12CBC) Overhead() int { return cbcBlock + p.mac.size + cbcBlock }

// NeedsKeyUpdate is always false: TLS 1.2 has no KeyUpdate and
// renegotiation is refused. When the sequence number would wrap, Seal
// returns ErrSealLimit12 and the connection must end.
func (p *Protection12CBC) NeedsKeyUpdate() bool { return false }

// Seal appends a protected record carrying payload as content type typ to
// dst. pad asks for that many more bytes of padding, rounded up to whole
// blocks, to hide the payload's length; the padding may not exceed 255
// bytes in all. payload must not exceed MaxPlaintext and must not overlap
// dst's spare capacity.
func (p *Protection12CBC) Seal(dst []byte, typ ContentType, payload []byte, pad int) ([]byte, error) {
	if len(payload) > MaxPlaintext {
		return dst, fmt.Errorf("record: payload of %d bytes exceeds the record limit", len(payload))
	}
	if p.seq == seqLimit {
		return dst, ErrSealLimit12
	}
	size := p.mac.size
	plain := len(payload) + 1 // payload and padding_length
	if p.mode == MACThenEncrypt {
		plain += size
	}
	padLen := (cbcBlock-plain%cbcBlock)%cbcBlock + (max(pad, 0)+cbcBlock-1)/cbcBlock*cbcBlock
	if padLen > maxPadding {
		return dst, fmt.Errorf("record: %d bytes of padding asked for, at most %d fit", pad, maxPadding)
	}
	encLen := plain + padLen
	bodyLen := cbcBlock + encLen
	if p.mode == EncryptThenMAC {
		bodyLen += size
	}
	start := len(dst)
	out := grow(dst, HeaderLen+bodyLen)
	rec := out[start:]
	rec[0] = byte(typ)
	binary.BigEndian.PutUint16(rec[1:], VersionTLS12)
	binary.BigEndian.PutUint16(rec[3:], uint16(bodyLen))
	iv := rec[HeaderLen : HeaderLen+cbcBlock]
	if _, err := io.ReadFull(p.rand, iv); err != nil {
		return dst, fmt.Errorf("record: reading a CBC IV: %w", err)
	}
	enc := rec[HeaderLen+cbcBlock : HeaderLen+cbcBlock+encLen]
	n := copy(enc, payload)
	if p.mode == MACThenEncrypt {
		p.mac.setHeader(p.seq, typ, rec[1:3], len(payload))
		if err := p.mac.sum(enc[n:n+size], enc[:n], nil); err != nil {
			return dst, err
		}
		n += size
	}
	for i := n; i < len(enc); i++ {
		enc[i] = byte(padLen)
	}
	p.enc.SetIV(iv)
	p.enc.CryptBlocks(enc, enc)
	if p.mode == EncryptThenMAC {
		p.mac.setHeader(p.seq, typ, rec[1:3], cbcBlock+encLen)
		if err := p.mac.sum(rec[HeaderLen+cbcBlock+encLen:], iv, enc); err != nil {
			return dst, err
		}
	}
	p.seq++
	return out, nil
}

// Open authenticates and decrypts one record (header and body) in place
// and returns its content type and plaintext, which alias rec. A body
// that is not a whole number of blocks, too short, badly padded or badly
// MACed gets one error value, alert.ErrBadRecordMAC; a body over 2^14+2048
// bytes, or an authenticated plaintext over 2^14, is record_overflow. See
// the type's doc for what is constant time.
func (p *Protection12CBC) Open(rec []byte) (ContentType, []byte, error) {
	typ, body, err := check12(rec)
	if err != nil {
		return 0, nil, err
	}
	if p.seq == seqLimit {
		return 0, nil, fmt.Errorf("record: peer's sequence number exhausted: %w", alert.ErrUnexpectedMessage)
	}
	var plain []byte
	if p.mode == EncryptThenMAC {
		plain, err = p.openEncryptThenMAC(typ, rec[1:3], body)
	} else {
		plain, err = p.openMACThenEncrypt(typ, rec[1:3], body)
	}
	if err != nil {
		return 0, nil, err
	}
	p.seq++
	if len(plain) > MaxPlaintext {
		return 0, nil, fmt.Errorf("plaintext of %d bytes: %w", len(plain), alert.ErrRecordOverflow)
	}
	return typ, plain, nil
}

// openMACThenEncrypt is RFC 5246 §6.2.3.2 in constant time (see the type's
// doc).
func (p *Protection12CBC) openMACThenEncrypt(typ ContentType, version, body []byte) ([]byte, error) {
	size := p.mac.size
	// IV, then at least the MAC and padding_length, in whole blocks. The
	// length is public: returning early on it reveals nothing.
	if len(body)%cbcBlock != 0 || len(body) < cbcBlock+(size+1+cbcBlock-1)/cbcBlock*cbcBlock {
		return nil, alert.ErrBadRecordMAC
	}
	p.dec.SetIV(body[:cbcBlock])
	data := body[cbcBlock:]
	p.dec.CryptBlocks(data, data)

	padLen, padGood := cbcPadding(data, size)
	hi := len(data) - size - 1 // the data length with no padding
	lo := max(hi-maxPadding, 0)
	n := hi - padLen

	p.mac.setHeader(p.seq, typ, version, n)
	var want, got [maxMACSize]byte
	if err := p.mac.sumSecretLen(want[:size], data, n, lo, hi); err != nil {
		return nil, err
	}
	extractMAC(got[:size], data, n, lo, hi)
	good := subtle.ConstantTimeCompare(want[:size], got[:size]) & padGood
	if good != 1 {
		return nil, alert.ErrBadRecordMAC
	}
	return data[:n], nil
}

// openEncryptThenMAC is RFC 7366 §3: the MAC over seq_num, the header
// with the IV + ciphertext length, and IV + ciphertext is checked first;
// only an authentic record is decrypted.
func (p *Protection12CBC) openEncryptThenMAC(typ ContentType, version, body []byte) ([]byte, error) {
	size := p.mac.size
	// IV, at least one block of ciphertext, the MAC.
	if len(body) < 2*cbcBlock+size || (len(body)-size)%cbcBlock != 0 {
		return nil, alert.ErrBadRecordMAC
	}
	ctLen := len(body) - size
	p.mac.setHeader(p.seq, typ, version, ctLen)
	if err := p.mac.sum(p.tag[:size], body[:ctLen], nil); err != nil {
		return nil, err
	}
	macGood := subtle.ConstantTimeCompare(p.tag[:size], body[ctLen:])
	if macGood != 1 {
		return nil, alert.ErrBadRecordMAC
	}
	p.dec.SetIV(body[:cbcBlock])
	data := body[cbcBlock:ctLen]
	p.dec.CryptBlocks(data, data)
	padLen, padGood := cbcPadding(data, 0)
	if padGood != 1 {
		return nil, alert.ErrBadRecordMAC
	}
	return data[:len(data)-padLen-1], nil
}

// Free wipes the MAC state and drops the cipher. It is idempotent.
func (p *Protection12CBC) Free() {
	if p == nil || p.mac == nil {
		return
	}
	p.mac.free()
	p.mac = nil
	p.enc, p.dec = nil, nil
	erase.Object(p.block)
	p.block = nil
}

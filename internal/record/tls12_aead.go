package record

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/mem"
)

// TLS 1.2 has no KeyUpdate, and Holdfast refuses renegotiation, so a TLS
// 1.2 key is used for the whole connection. When a key reaches a limit,
// Seal fails with ErrSealLimit12 and the connection must be closed: there
// is no way to continue it safely. [Sealer.NeedsKeyUpdate] is always false
// for TLS 1.2 protections.
//
// The limits: a sequence number never wraps (RFC 5246 §6.1), so a
// direction ends after 2^64-1 records, sealing or opening; and an AES-GCM
// key seals at most gcmSealLimit blocks (see below). Opening has no
// AES-GCM limit: its integrity bound counts forgery attempts, and the
// first failed record ends the connection.

// ErrSealLimit12 is returned by a TLS 1.2 protection's Seal once its key
// has protected as much as it safely may. TLS 1.2 cannot change keys
// without renegotiation, which Holdfast refuses, so the connection must
// end. It wraps ErrSealLimit.
var ErrSealLimit12 = fmt.Errorf("record: TLS 1.2 key usage limit reached; renegotiation is refused, so the connection must end: %w", ErrSealLimit)

// gcmSealLimit bounds what one AES-GCM key seals, counted as 16-byte
// blocks of plaintext plus one per record (the tag's block). RFC 8446
// §5.5 allows 2^24.5 full-size records, about 2^34.5 such blocks; we stop
// at 2^34, which is 2^24 full-size records, like Protection13, and more
// when records are short.
const gcmSealLimit = 1 << 34

// seqLimit is the sequence number a TLS 1.2 direction may not reach: the
// record after 2^64-2 would wrap it.
const seqLimit = math.MaxUint64

// FixedIVLen12 is the length of the implicit IV this AEAD takes from the
// TLS 1.2 key block (client_write_IV, server_write_IV, RFC 5246 §6.3): the
// 4-byte salt of AES-GCM (RFC 5288 §3) or the 12-byte IV of
// ChaCha20-Poly1305 (RFC 7905 §2).
func (a AEAD) FixedIVLen12() int {
	if a == ChaCha20Poly1305 {
		return IVLen
	}
	return 4
}

// explicitNonceLen12 is the nonce carried in each TLS 1.2 record: 8 bytes
// for AES-GCM, none for ChaCha20-Poly1305.
func (a AEAD) explicitNonceLen12() int {
	if a == ChaCha20Poly1305 {
		return 0
	}
	return 8
}

// Protection12AEAD protects one direction of a TLS 1.2 connection with an
// AEAD cipher suite: AES-GCM as RFC 5288 specifies (a 4-byte implicit salt
// and an 8-byte explicit nonce in each record, which is the sequence
// number, as crypto/tls and most stacks send it) or ChaCha20-Poly1305 as
// RFC 7905 specifies (the 12-byte IV XOR the sequence number, nothing
// explicit). The additional data is seq_num + type + version + length
// (RFC 5246 §6.2.3.3). It is a Sealer and an Opener.
type Protection12AEAD struct {
	alg  AEAD
	aead cipher.AEAD
	keys aeadKey // aead and its block, wiped by Free
	// ivNonce holds the implicit IV in [0:FixedIVLen12] and the nonce in
	// [IVLen:2*IVLen].
	ivNonce *mem.Secret
	// ad is the additional data of the record being sealed or opened:
	// public, and kept here so passing it to the AEAD does not allocate.
	ad   [macHeaderLen]byte
	seq  uint64
	used uint64 // blocks sealed, for the AES-GCM limit
}

// NewProtection12AEAD makes TLS 1.2 record protection from a write key
// and the implicit IV of the same direction, as the key block gives them
// (RFC 5246 §6.3); iv must be FixedIVLen12 bytes. Neither secret changes
// hands: the key is only read (the AEAD keeps its own copy, see the
// package doc) and the IV is copied into the protection's locked slot, so
// the caller frees both, and may do so as soon as this returns.
func NewProtection12AEAD(a AEAD, key, iv *mem.Secret) (*Protection12AEAD, error) {
	if iv.Len() != a.FixedIVLen12() {
		return nil, fmt.Errorf("record: TLS 1.2 %v implicit IV is %d bytes, want %d", a, iv.Len(), a.FixedIVLen12())
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
	return &Protection12AEAD{alg: a, aead: k.aead, keys: k, ivNonce: ivNonce}, nil
}

// nonce builds the record's nonce in the slot: for AES-GCM the salt and
// explicit (the 8 bytes the record carries), for ChaCha20-Poly1305 the IV
// XOR the left-padded sequence number.
func (p *Protection12AEAD) nonce(explicit []byte) []byte {
	b := p.ivNonce.Bytes()
	iv, n := b[:IVLen], b[IVLen:2*IVLen]
	if p.alg == ChaCha20Poly1305 {
		mem.CopyBytewise(n, iv)
		var seq [8]byte
		binary.BigEndian.PutUint64(seq[:], p.seq)
		for i := range seq {
			n[4+i] ^= seq[i]
		}
		return n
	}
	mem.CopyBytewise(n[:4], iv[:4])
	copy(n[4:], explicit)
	return n
}

func (p *Protection12AEAD) setAD(typ ContentType, version []byte, length int) {
	binary.BigEndian.PutUint64(p.ad[:8], p.seq)
	p.ad[8] = byte(typ)
	p.ad[9], p.ad[10] = version[0], version[1]
	binary.BigEndian.PutUint16(p.ad[11:], uint16(length))
}

// Overhead is what sealing adds to a payload: the explicit nonce, if any,
// and the tag.
func (p *Protection12AEAD) Overhead() int {
	return p.alg.explicitNonceLen12() + p.aead.Overhead()
}

// NeedsKeyUpdate is always false: TLS 1.2 has no KeyUpdate and
// renegotiation is refused. A key at its limit makes Seal return
// ErrSealLimit12, and the connection must end.
func (p *Protection12AEAD) NeedsKeyUpdate() bool { return false }

// Seal appends a protected record carrying payload as content type typ to
// dst. TLS 1.2 AEAD records cannot be padded: pad must be 0. payload must
// not exceed MaxPlaintext and must not overlap dst's spare capacity.
func (p *Protection12AEAD) Seal(dst []byte, typ ContentType, payload []byte, pad int) ([]byte, error) {
	if pad != 0 {
		return dst, fmt.Errorf("record: TLS 1.2 %v records cannot carry padding", p.alg)
	}
	if len(payload) > MaxPlaintext {
		return dst, fmt.Errorf("record: payload of %d bytes exceeds the record limit", len(payload))
	}
	if p.seq == seqLimit {
		return dst, ErrSealLimit12
	}
	cost := uint64(len(payload)+15)/16 + 1
	if p.alg != ChaCha20Poly1305 && p.used+cost > gcmSealLimit {
		return dst, ErrSealLimit12
	}
	exp := p.alg.explicitNonceLen12()
	bodyLen := exp + len(payload) + p.aead.Overhead()
	start := len(dst)
	out := grow(dst, HeaderLen+bodyLen)
	rec := out[start:]
	rec[0] = byte(typ)
	binary.BigEndian.PutUint16(rec[1:], VersionTLS12)
	binary.BigEndian.PutUint16(rec[3:], uint16(bodyLen))
	explicit := rec[HeaderLen : HeaderLen+exp]
	if exp > 0 {
		binary.BigEndian.PutUint64(explicit, p.seq)
	}
	p.setAD(typ, rec[1:3], len(payload))
	body := rec[HeaderLen+exp : HeaderLen+exp+len(payload)]
	copy(body, payload)
	p.aead.Seal(body[:0], p.nonce(explicit), body, p.ad[:])
	p.seq++
	p.used += cost
	return out, nil
}

// Open authenticates and decrypts one record (header and body) in place
// and returns its content type and plaintext, which alias rec. Every
// authentication failure, a body too short to hold the nonce and tag
// included, is alert.ErrBadRecordMAC.
func (p *Protection12AEAD) Open(rec []byte) (ContentType, []byte, error) {
	typ, body, err := check12(rec)
	if err != nil {
		return 0, nil, err
	}
	if p.seq == seqLimit {
		return 0, nil, fmt.Errorf("record: peer's sequence number exhausted: %w", alert.ErrUnexpectedMessage)
	}
	exp := p.alg.explicitNonceLen12()
	if len(body) < exp+p.aead.Overhead() {
		return 0, nil, alert.ErrBadRecordMAC
	}
	explicit, ct := body[:exp], body[exp:]
	p.setAD(typ, rec[1:3], len(ct)-p.aead.Overhead())
	plain, err := p.aead.Open(ct[:0], p.nonce(explicit), ct, p.ad[:])
	if err != nil {
		return 0, nil, alert.ErrBadRecordMAC
	}
	p.seq++
	if len(plain) > MaxPlaintext {
		return 0, nil, fmt.Errorf("plaintext of %d bytes: %w", len(plain), alert.ErrRecordOverflow)
	}
	return typ, plain, nil
}

// check12 does the checks every TLS 1.2 protected record gets before any
// cryptography: the whole header is there, the body is within RFC 5246
// §6.2.3's 2^14+2048 bytes, the version is TLS 1.2's, and the type is one
// that may be protected. It returns the type and the body.
func check12(rec []byte) (ContentType, []byte, error) {
	if len(rec) < HeaderLen {
		return 0, nil, fmt.Errorf("record of %d bytes has no header: %w", len(rec), alert.ErrDecode)
	}
	typ, body := ContentType(rec[0]), rec[HeaderLen:]
	if len(body) > maxCiphertext12 {
		return 0, nil, fmt.Errorf("protected record of %d bytes: %w", len(body), alert.ErrRecordOverflow)
	}
	if v := binary.BigEndian.Uint16(rec[1:]); v != VersionTLS12 {
		return 0, nil, fmt.Errorf("protected record version %#04x: %w", v, alert.ErrProtocolVersion)
	}
	switch typ {
	case TypeAlert, TypeHandshake, TypeApplicationData:
	default:
		// A protected change_cipher_spec only follows renegotiation.
		return 0, nil, fmt.Errorf("protected record of type %v: %w", typ, alert.ErrUnexpectedMessage)
	}
	return typ, body, nil
}

// Free wipes the IV and nonce and drops the AEAD. It is idempotent.
func (p *Protection12AEAD) Free() {
	if p == nil || p.ivNonce == nil {
		return
	}
	p.ivNonce.Free()
	p.ivNonce = nil
	p.aead = nil
	p.keys.wipe()
}

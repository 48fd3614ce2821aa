package record

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/mem"
)

// AEAD12 protects one direction of a TLS 1.2 connection with an AEAD:
// AES-GCM with a 4-byte implicit salt and the sequence number as the
// 8-byte explicit nonce (RFC 5288 §3), or ChaCha20-Poly1305 with a 12-byte
// IV XORed with the sequence number (RFC 7905 §2). It is a Sealer and an
// Opener.
type AEAD12 struct {
	alg  AEAD
	aead cipher.AEAD
	// ivNonce holds the implicit IV (4 or 12 bytes) and, after it, the
	// nonce under construction (12 bytes).
	ivNonce *mem.Secret
	ivLen   int
	seq     uint64
	limit   uint64
	// ad is the additional data (RFC 5246 §6.2.3.3): seq_num, type,
	// version, length. Public, so an ordinary array.
	ad [13]byte
}

// explicitNonceLen is the per-record nonce AES-GCM carries in TLS 1.2.
const explicitNonceLen = 8

// NewAEAD12 makes TLS 1.2 AEAD record protection from the key block's
// write key and IV for one direction. The key is only read; the IV is
// copied into the protection's locked slot.
func NewAEAD12(a AEAD, key, iv *mem.Secret) (*AEAD12, error) {
	want := 4
	if a == ChaCha20Poly1305 {
		want = 12
	}
	if iv.Len() != want {
		return nil, fmt.Errorf("record: TLS 1.2 %v IV is %d bytes, want %d", a, iv.Len(), want)
	}
	aead, err := newAEAD(a, key.Bytes())
	if err != nil {
		return nil, err
	}
	ivNonce, err := mem.New(want + 12)
	if err != nil {
		return nil, err
	}
	copy(ivNonce.Bytes(), iv.Bytes())
	return &AEAD12{alg: a, aead: aead, ivNonce: ivNonce, ivLen: want, limit: a.sealLimit()}, nil
}

func (p *AEAD12) explicit() int {
	if p.alg == ChaCha20Poly1305 {
		return 0
	}
	return explicitNonceLen
}

// nonce builds this record's nonce in the locked slot. For GCM, explicit
// is the record's explicit nonce (the sequence number when sealing).
func (p *AEAD12) nonce(explicit []byte) []byte {
	b := p.ivNonce.Bytes()
	iv, n := b[:p.ivLen], b[p.ivLen:]
	if p.alg == ChaCha20Poly1305 {
		copy(n, iv)
		var seq [8]byte
		binary.BigEndian.PutUint64(seq[:], p.seq)
		for i := range seq {
			n[4+i] ^= seq[i]
		}
		return n
	}
	copy(n, iv)
	copy(n[4:], explicit)
	return n
}

func (p *AEAD12) additionalData(typ ContentType, n int) []byte {
	binary.BigEndian.PutUint64(p.ad[:8], p.seq)
	p.ad[8] = byte(typ)
	binary.BigEndian.PutUint16(p.ad[9:], VersionTLS12)
	binary.BigEndian.PutUint16(p.ad[11:], uint16(n))
	return p.ad[:]
}

// Overhead is the explicit nonce and the tag.
func (p *AEAD12) Overhead() int { return p.explicit() + p.aead.Overhead() }

// NeedsKeyUpdate is always false: TLS 1.2 has no key update, and
// renegotiation is refused. Seal stops at the usage limit instead.
func (p *AEAD12) NeedsKeyUpdate() bool { return false }

// Seal appends a protected record to dst. pad must be 0: TLS 1.2 has no
// record padding.
func (p *AEAD12) Seal(dst []byte, typ ContentType, payload []byte, pad int) ([]byte, error) {
	if p.seq >= p.limit {
		return dst, ErrSealLimit
	}
	if pad != 0 || len(payload) > MaxPlaintext {
		return dst, fmt.Errorf("record: TLS 1.2 payload of %d bytes with %d padding", len(payload), pad)
	}
	ex := p.explicit()
	bodyLen := ex + len(payload) + p.aead.Overhead()
	start := len(dst)
	out := grow(dst, HeaderLen+bodyLen)
	hdr := out[start : start+HeaderLen]
	hdr[0] = byte(typ)
	binary.BigEndian.PutUint16(hdr[1:], VersionTLS12)
	binary.BigEndian.PutUint16(hdr[3:], uint16(bodyLen))
	body := out[start+HeaderLen:]
	if ex > 0 {
		binary.BigEndian.PutUint64(body[:ex], p.seq) // GCM's explicit nonce
	}
	plain := body[ex : ex+len(payload)]
	copy(plain, payload)
	p.aead.Seal(plain[:0], p.nonce(body[:ex]), plain, p.additionalData(typ, len(payload)))
	p.seq++
	return out, nil
}

// Open authenticates and decrypts one record in place.
func (p *AEAD12) Open(rec []byte) (ContentType, []byte, error) {
	typ := ContentType(rec[0])
	body := rec[HeaderLen:]
	if len(body) > maxCiphertext12 {
		return 0, nil, fmt.Errorf("protected record of %d bytes: %w", len(body), alert.ErrRecordOverflow)
	}
	ex := p.explicit()
	if len(body) < ex+p.aead.Overhead() {
		return 0, nil, alert.ErrBadRecordMAC
	}
	if p.seq == 1<<64-1 {
		return 0, nil, fmt.Errorf("record: peer's sequence number exhausted: %w", alert.ErrUnexpectedMessage)
	}
	ct := body[ex:]
	n := len(ct) - p.aead.Overhead()
	plain, err := p.aead.Open(ct[:0], p.nonce(body[:ex]), ct, p.additionalData(typ, n))
	if err != nil {
		return 0, nil, alert.ErrBadRecordMAC
	}
	p.seq++
	if len(plain) > MaxPlaintext {
		return 0, nil, fmt.Errorf("plaintext of %d bytes: %w", len(plain), alert.ErrRecordOverflow)
	}
	return typ, plain, nil
}

// Free wipes the IV and nonce and drops the AEAD.
func (p *AEAD12) Free() {
	if p == nil || p.ivNonce == nil {
		return
	}
	p.ivNonce.Free()
	p.ivNonce = nil
	p.aead = nil
}

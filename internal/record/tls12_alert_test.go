package record

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// etmRecord builds an encrypt_then_mac record independently of
// Protection12CBC: inner (payload + padding, which the caller may spoil)
// encrypted by crypto/cipher, then the RFC 7366 MAC by crypto/hmac.
func etmRecord(t testing.TB, k kind12, ks keys12, seq uint64, typ ContentType, inner []byte) []byte {
	t.Helper()
	rec := cbcEncryptRecord(t, ks.key, typ, inner)
	h := hmac.New(k.macHash(), ks.mac)
	var hdr [13]byte
	binary.BigEndian.PutUint64(hdr[:], seq)
	copy(hdr[8:11], rec[:3])
	binary.BigEndian.PutUint16(hdr[11:], uint16(len(rec)-HeaderLen))
	h.Write(hdr[:])
	h.Write(rec[HeaderLen:])
	rec = h.Sum(rec)
	binary.BigEndian.PutUint16(rec[3:], uint16(len(rec)-HeaderLen))
	return rec
}

// aeadRecord seals payload of any length, bypassing Seal's checks, as a
// peer that ignores the plaintext limit would.
func aeadRecord(t testing.TB, k kind12, ks keys12, payload []byte) []byte {
	t.Helper()
	p := k.newProt12(t, ks, nil).(*Protection12AEAD)
	exp := p.alg.explicitNonceLen12()
	rec := []byte{byte(TypeApplicationData), 3, 3, 0, 0}
	rec = append(rec, make([]byte, exp)...)
	p.setAD(TypeApplicationData, rec[1:3], len(payload))
	rec = p.aead.Seal(rec, p.nonce(rec[HeaderLen:]), payload, p.ad[:])
	binary.BigEndian.PutUint16(rec[3:], uint16(len(rec)-HeaderLen))
	return rec
}

// setLen fixes a record's header after its body changed length.
func setLen(rec []byte) []byte {
	binary.BigEndian.PutUint16(rec[3:], uint16(len(rec)-HeaderLen))
	return rec
}

type badRecord12 struct {
	name   string
	kinds  func(kind12) bool
	build  func(t *testing.T, k kind12, ks keys12) []byte
	direct bool // call Open directly: the record is one In would not pass on
	want   alert.Alert
}

func isMtE(k kind12) bool  { return k.isCBC() && k.mode == MACThenEncrypt }
func isEtM(k kind12) bool  { return k.isCBC() && k.mode == EncryptThenMAC }
func isAEAD(k kind12) bool { return !k.isCBC() }
func isGCM(k kind12) bool  { return isAEAD(k) && k.aead != ChaCha20Poly1305 }
func anyKind(kind12) bool  { return true }

var badRecords12 = []badRecord12{
	// Every protection.
	{"flipped ciphertext byte", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		r[len(r)-k.tagLen()-3] ^= 0x10
		return r
	}, false, alert.BadRecordMAC},
	{"flipped first body byte", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		r[HeaderLen] ^= 1
		return r
	}, false, alert.BadRecordMAC},
	{"type changed in the header", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		r[0] = byte(TypeHandshake)
		return r
	}, false, alert.BadRecordMAC},
	{"replayed: sequence number 1 where 0 is due", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		return validRecord12(t, k, ks, 1)
	}, false, alert.BadRecordMAC},
	{"sealed with another key", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		return validRecord12(t, k, k.randKeys(), 0)
	}, false, alert.BadRecordMAC},
	{"empty body", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		return []byte{23, 3, 3, 0, 0}
	}, false, alert.BadRecordMAC},
	{"version 0x0301", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		r[2] = 1
		return r
	}, false, alert.ProtocolVersion},
	{"protected change_cipher_spec", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		r[0] = byte(TypeChangeCipherSpec)
		return r
	}, true, alert.UnexpectedMessage},
	{"no header", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		return []byte{23, 3}
	}, true, alert.DecodeError},
	{"body over 2^14+2048 (via In)", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		return setLen(append([]byte{23, 3, 3, 0, 0}, make([]byte, maxCiphertext12+16)...))
	}, false, alert.RecordOverflow},
	{"body over 2^14+2048 (Open)", anyKind, func(t *testing.T, k kind12, ks keys12) []byte {
		return setLen(append([]byte{23, 3, 3, 0, 0}, make([]byte, maxCiphertext12+16)...))
	}, true, alert.RecordOverflow},

	// AEAD.
	{"tag flipped", isAEAD, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		r[len(r)-1] ^= 0x80
		return r
	}, false, alert.BadRecordMAC},
	{"wrong explicit nonce", isGCM, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		r[HeaderLen+7] ^= 1
		return r
	}, false, alert.BadRecordMAC},
	{"shorter than nonce and tag", isAEAD, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		return setLen(r[:HeaderLen+k.aead.explicitNonceLen12()+15])
	}, false, alert.BadRecordMAC},
	{"authentic plaintext over 2^14", isAEAD, func(t *testing.T, k kind12, ks keys12) []byte {
		return aeadRecord(t, k, ks, make([]byte, MaxPlaintext+1))
	}, false, alert.RecordOverflow},

	// CBC, MAC-then-encrypt.
	{"flipped MAC byte", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		mac := refMAC(k.macHash(), ks.mac, 0, TypeApplicationData, []byte("data"))
		mac[5] ^= 4
		return mteRecord(t, k, ks, 0, TypeApplicationData, []byte("data"), mac, padFor(k, 4))
	}, false, alert.BadRecordMAC},
	{"bad padding byte, right MAC", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		pad := padFor(k, 4)
		pad[2]++
		return mteRecord(t, k, ks, 0, TypeApplicationData, []byte("data"), nil, pad)
	}, false, alert.BadRecordMAC},
	{"bad first padding byte of 255, right MAC", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		pad := tlsPadding(255)
		pad[0] = 0
		payload := make([]byte, 256-k.cbc.MACKeyLen())
		return mteRecord(t, k, ks, 0, TypeApplicationData, payload, nil, pad)
	}, false, alert.BadRecordMAC},
	{"padding length byte 5 where a MAC over zero padding is right", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		// Bad padding must fail even when reading it as empty padding
		// would find a good MAC (it is checked as empty padding, so no
		// byte escapes the MAC, but the verdict still stands).
		payload := randBytes(64 - k.cbc.MACKeyLen() - 1)
		return mteRecord(t, k, ks, 0, TypeApplicationData, payload, nil, []byte{5})
	}, false, alert.BadRecordMAC},
	{"padding length larger than the record", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		inner := bytes.Repeat([]byte{200}, 48)
		return cbcEncryptRecord(t, ks.key, TypeApplicationData, inner)
	}, false, alert.BadRecordMAC},
	{"padding reaching into the MAC", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		// 48 bytes: the MAC, then padding whose length byte claims one
		// byte more than is left after the MAC.
		mac := refMAC(k.macHash(), ks.mac, 0, TypeApplicationData, nil)
		pl := 48 - len(mac)
		inner := append(mac, bytes.Repeat([]byte{byte(pl)}, pl)...)
		return cbcEncryptRecord(t, ks.key, TypeApplicationData, inner)
	}, false, alert.BadRecordMAC},
	{"body not a multiple of the block size", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		return setLen(r[:len(r)-1])
	}, false, alert.BadRecordMAC},
	{"too short: IV and one block", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		return cbcEncryptRecord(t, ks.key, TypeApplicationData, tlsPadding(15))
	}, false, alert.BadRecordMAC},
	{"authentic plaintext over 2^14", isMtE, func(t *testing.T, k kind12, ks keys12) []byte {
		payload := make([]byte, MaxPlaintext+1)
		pad := (32 - (len(payload)+k.cbc.MACKeyLen()+1)%16) % 16
		return mteRecord(t, k, ks, 0, TypeApplicationData, payload, nil, tlsPadding(pad))
	}, false, alert.RecordOverflow},

	// CBC, encrypt-then-MAC.
	{"flipped MAC byte", isEtM, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		r[len(r)-1] ^= 1
		return r
	}, false, alert.BadRecordMAC},
	{"bad padding byte, right MAC", isEtM, func(t *testing.T, k kind12, ks keys12) []byte {
		pad := tlsPadding(11)
		pad[0] = 3
		return etmRecord(t, k, ks, 0, TypeApplicationData, append([]byte("data"), pad...))
	}, false, alert.BadRecordMAC},
	{"padding length larger than the record, right MAC", isEtM, func(t *testing.T, k kind12, ks keys12) []byte {
		return etmRecord(t, k, ks, 0, TypeApplicationData, bytes.Repeat([]byte{100}, 32))
	}, false, alert.BadRecordMAC},
	{"ciphertext not a multiple of the block size", isEtM, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		return setLen(append(r[:HeaderLen+20], r[HeaderLen+21:]...))
	}, false, alert.BadRecordMAC},
	{"too short: IV and MAC only", isEtM, func(t *testing.T, k kind12, ks keys12) []byte {
		r := validRecord12(t, k, ks, 0)
		return setLen(append(r[:HeaderLen+16], r[len(r)-k.cbc.MACKeyLen():]...))
	}, false, alert.BadRecordMAC},
	{"authentic plaintext over 2^14", isEtM, func(t *testing.T, k kind12, ks keys12) []byte {
		inner := append(make([]byte, MaxPlaintext+1), tlsPadding(14)...)
		return etmRecord(t, k, ks, 0, TypeApplicationData, inner)
	}, false, alert.RecordOverflow},
}

// padFor is the shortest good padding after n bytes of payload and the
// MAC.
func padFor(k kind12, n int) []byte {
	return tlsPadding((32 - (n+k.cbc.MACKeyLen()+1)%16) % 16)
}

// tagLen is how many bytes at the end of a sealed record are tag or MAC
// in clear (0 where the MAC is encrypted).
func (k kind12) tagLen() int {
	switch {
	case isAEAD(k):
		return 16
	case isEtM(k):
		return k.cbc.MACKeyLen()
	}
	return 0
}

// Malformed and forged TLS 1.2 records get the alert RFC 5246 names, and
// every authentication failure is the one error value
// alert.ErrBadRecordMAC, so no failure is told apart from another.
func TestBadRecords12GetTheRightAlert(t *testing.T) {
	for _, k := range kinds12 {
		for _, c := range badRecords12 {
			if !c.kinds(k) {
				continue
			}
			t.Run(k.name+"/"+c.name, func(t *testing.T) {
				ks := k.randKeys()
				rec := c.build(t, k, ks)
				o := k.newProt12(t, ks, nil)
				var err error
				if c.direct {
					_, _, err = o.Open(rec)
				} else {
					in := NewIn(bytes.NewReader(rec))
					in.sawFirst = true
					in.SetOpener(o, MaxBody12)
					_, _, err = in.Next()
				}
				if err == nil {
					t.Fatal("no error")
				}
				if got := alert.For(err); got != c.want {
					t.Fatalf("alert %v (%v), want %v", got, err, c.want)
				}
				if c.want == alert.BadRecordMAC && err != alert.ErrBadRecordMAC {
					t.Fatalf("error %#v is not alert.ErrBadRecordMAC itself", err)
				}
			})
		}
	}
}

// The forgeries above would be accepted but for the one flaw each has:
// the builders make authentic records when left unspoiled.
func TestRecordBuildersMakeAuthenticRecords(t *testing.T) {
	for _, k := range kinds12 {
		ks := k.randKeys()
		var rec []byte
		switch {
		case isMtE(k):
			rec = mteRecord(t, k, ks, 0, TypeApplicationData, []byte("data"), nil, padFor(k, 4))
		case isEtM(k):
			rec = etmRecord(t, k, ks, 0, TypeApplicationData, append([]byte("data"), tlsPadding(11)...))
		default:
			rec = aeadRecord(t, k, ks, []byte("data"))
		}
		typ, p, err := k.newProt12(t, ks, nil).Open(rec)
		if err != nil || typ != TypeApplicationData || string(p) != "data" {
			t.Errorf("%s: Open = %v %q %v", k.name, typ, p, err)
		}
	}
}

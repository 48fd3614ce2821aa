package wire

import (
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"golang.org/x/crypto/cryptobyte"
)

// Handshake message types (RFC 8446 §4, RFC 5246 §7.4).
const (
	TypeHelloRequest        uint8 = 0
	TypeClientHello         uint8 = 1
	TypeServerHello         uint8 = 2
	TypeNewSessionTicket    uint8 = 4
	TypeEndOfEarlyData      uint8 = 5
	TypeEncryptedExtensions uint8 = 8
	TypeCertificate         uint8 = 11
	TypeServerKeyExchange   uint8 = 12
	TypeCertificateRequest  uint8 = 13
	TypeServerHelloDone     uint8 = 14
	TypeCertificateVerify   uint8 = 15
	TypeClientKeyExchange   uint8 = 16
	TypeFinished            uint8 = 20
	TypeCertificateURL      uint8 = 21 // RFC 6066 §5, TLS 1.2 only
	TypeCertificateStatus   uint8 = 22 // RFC 6066 §8, TLS 1.2 only
	TypeKeyUpdate           uint8 = 24
	TypeCompressedCert      uint8 = 25 // RFC 8879
	TypeMessageHash         uint8 = 254
)

// HeaderLen is the length of a handshake message header: a type byte and
// a 24-bit body length.
const HeaderLen = 4

// DefaultMaxMessage is the longest message body a [Reassembler] accepts
// unless told otherwise: 64 KiB, enough for any message but a long
// certificate chain.
const DefaultMaxMessage = 1 << 16

// malformed is the one way a parser reports a malformed message: it earns
// decode_error.
func malformed(msg, what string) error {
	return fmt.Errorf("wire: %s: %s: %w", msg, what, alert.ErrDecode)
}

// illegal reports a field RFC 8446 answers with illegal_parameter.
func illegal(msg, what string) error {
	return fmt.Errorf("wire: %s: %s: %w", msg, what, alert.ErrIllegalParameter)
}

// open checks the header of a whole message against its type and length,
// copies it, and returns the copy and its body. Every field the caller
// then reads points into the copy, never into msg.
func open(msg []byte, typ uint8, name string) (raw []byte, body cryptobyte.String, err error) {
	if len(msg) < HeaderLen {
		return nil, nil, malformed(name, "truncated header")
	}
	if msg[0] != typ {
		return nil, nil, fmt.Errorf("wire: %s: message type %d: %w", name, msg[0], alert.ErrUnexpectedMessage)
	}
	if bodyLen(msg) != len(msg)-HeaderLen {
		return nil, nil, malformed(name, "length does not match the header")
	}
	raw = append(make([]byte, 0, len(msg)), msg...)
	return raw, cryptobyte.String(raw[HeaderLen:]), nil
}

func bodyLen(hdr []byte) int {
	return int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
}

// seal frames the body written by f as a message of type typ.
func seal(typ uint8, name string, f cryptobyte.BuilderContinuation) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(f)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("wire: marshal %s: %w", name, err)
	}
	return out, nil
}

// A Reassembler turns the payloads of handshake records into whole
// handshake messages (RFC 8446 §5.1): a message may span several records
// and a record may hold several messages. The zero value is ready to use
// with [DefaultMaxMessage] as its limit.
//
// After each Add, call Next until it reports no message. A Reassembler is
// not safe for concurrent use.
type Reassembler struct {
	buf []byte // pending bytes; buf[off:] not yet returned
	off int
	max int // 0 means DefaultMaxMessage
	err error
}

// SetMaxMessage sets the longest message body (the 24-bit length in the
// header, header excluded) Next accepts; n <= 0 restores the default. An
// engine expecting a long Certificate raises it around that message.
func (r *Reassembler) SetMaxMessage(n int) {
	r.max = max(n, 0)
}

// MaxMessage reports the current limit on a message body.
func (r *Reassembler) MaxMessage() int {
	if r.max == 0 {
		return DefaultMaxMessage
	}
	return r.max
}

// Add appends the payload of one handshake record. The bytes are copied;
// payload may be reused as soon as Add returns. An empty payload changes
// nothing: refusing zero-length handshake records (RFC 8446 §5.1) is the
// engine's job.
func (r *Reassembler) Add(payload []byte) {
	if r.err != nil || len(payload) == 0 {
		return
	}
	if r.off > 0 {
		// Slide the pending tail down before growing.
		n := copy(r.buf, r.buf[r.off:])
		r.buf = r.buf[:n]
		r.off = 0
	}
	r.buf = append(r.buf, payload...)
	r.checkHeader()
}

// checkHeader fails the Reassembler, for good, if the next message's
// header announces more than the limit, so nothing more is buffered for
// it.
func (r *Reassembler) checkHeader() {
	p := r.buf[r.off:]
	if len(p) < HeaderLen {
		return
	}
	if n := bodyLen(p); n > r.MaxMessage() {
		r.err = fmt.Errorf("wire: handshake message type %d of %d bytes exceeds the %d-byte limit: %w",
			p[0], n, r.MaxMessage(), alert.ErrDecode)
		r.buf, r.off = nil, 0
	}
}

// Next returns the next whole message, header included, in a new slice
// the caller owns: it stays valid across later calls and may be kept for
// the transcript. ok is false when no whole message is buffered yet. A
// message longer than the limit is an error wrapping alert.ErrDecode, and
// every later call returns the same error.
func (r *Reassembler) Next() (msg []byte, ok bool, err error) {
	if r.err != nil {
		return nil, false, r.err
	}
	r.checkHeader()
	if r.err != nil {
		return nil, false, r.err
	}
	p := r.buf[r.off:]
	if len(p) < HeaderLen || len(p)-HeaderLen < bodyLen(p) {
		return nil, false, nil
	}
	n := HeaderLen + bodyLen(p)
	msg = append(make([]byte, 0, n), p[:n]...)
	r.off += n
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
	}
	return msg, true, nil
}

// Buffered reports how many bytes Add took that Next has not returned.
// Once Next has reported no message, they are the start of a message not
// yet complete. TLS 1.3 forbids a message to span a key change (RFC 8446
// §5.1), so before switching keys the engine drains Next and then checks
// that Buffered is 0 (unexpected_message otherwise).
func (r *Reassembler) Buffered() int {
	return len(r.buf) - r.off
}

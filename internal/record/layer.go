package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// An Opener unprotects records for the read direction.
type Opener interface {
	// Open authenticates and decrypts one record (header included) in
	// place, returning the inner content type and the plaintext.
	Open(rec []byte) (ContentType, []byte, error)
	// Free wipes the opener's secrets.
	Free()
}

// A Sealer protects records for the write direction.
type Sealer interface {
	// Seal appends one protected record to dst.
	Seal(dst []byte, typ ContentType, payload []byte, pad int) ([]byte, error)
	// Overhead is the most that Seal adds beyond the header and payload.
	Overhead() int
	// NeedsKeyUpdate reports that the key nears its usage limit.
	NeedsKeyUpdate() bool
	// Free wipes the sealer's secrets.
	Free()
}

// In reads records from a connection into one reused buffer. It is not
// safe for concurrent use; the connection serialises readers.
type In struct {
	r        io.Reader
	buf      []byte
	off, end int // buffered, unconsumed bytes are buf[off:end]
	open     Opener
	maxBody  int
	err      error // sticky: once reading fails, it keeps failing
	sawFirst bool
	// plainAlerts accepts an unprotected alert under protection until the
	// first protected record opens: a TLS 1.3 client that rejects the
	// server's flight may send its alert before switching its own keys.
	plainAlerts bool
}

// initialBuffer is the read buffer before the first large record: enough
// for a handshake flight's records, so idle and short-lived connections do
// not each hold 18 KiB.
const initialBuffer = 4 << 10

// NewIn returns a reader of plaintext records from r.
func NewIn(r io.Reader) *In {
	return &In{r: r, buf: make([]byte, initialBuffer), maxBody: MaxPlaintext}
}

// SetOpener switches the read direction to new protection and frees the
// previous one. maxBody is the version's ciphertext limit: pass
// MaxBody13 or MaxBody12.
func (in *In) SetOpener(o Opener, maxBody int) {
	if in.open != nil {
		in.open.Free()
	}
	in.open = o
	in.maxBody = maxBody
}

// Record body limits by version, for SetOpener.
const (
	MaxBody13 = maxCiphertext13
	MaxBody12 = maxCiphertext12
)

// Protected reports whether records are being unprotected.
func (in *In) Protected() bool { return in.open != nil }

// AllowPlainAlerts lets an unprotected two-byte alert through until the
// next protected record opens (RFC 8446 §6 lets a peer send an alert under
// its current write keys, which may still be none).
func (in *In) AllowPlainAlerts() { in.plainAlerts = true }

// Buffered reports how many bytes of later records are already read: a
// peer that sends data after a message that must end its flight (a
// Finished before a key change) can be caught with it.
func (in *In) Buffered() int { return in.end - in.off }

// Next reads one record and returns its content type and payload, which
// stays valid until the next call. Protected records come back
// unprotected, with their inner content type.
func (in *In) Next() (ContentType, []byte, error) {
	if in.err != nil {
		return 0, nil, in.err
	}
	typ, payload, err := in.next()
	if err != nil {
		in.err = err
	}
	return typ, payload, err
}

func (in *In) next() (ContentType, []byte, error) {
	if err := in.fill(HeaderLen); err != nil {
		return 0, nil, err
	}
	hdr := in.buf[in.off : in.off+HeaderLen]
	typ := ContentType(hdr[0])
	n := int(binary.BigEndian.Uint16(hdr[3:]))
	if !in.sawFirst {
		// A first record that is not a TLS handshake record is most often
		// another protocol on a TLS port; say so rather than "bad record".
		// An alert is TLS: a server refusing the ClientHello outright.
		if (typ != TypeHandshake && typ != TypeAlert) || hdr[1] != 3 {
			return 0, nil, fmt.Errorf("first record (% x) is not a TLS handshake: %w", hdr, alert.ErrUnexpectedMessage)
		}
		in.sawFirst = true
	}
	if hdr[1] != 3 {
		return 0, nil, fmt.Errorf("record version %#04x: %w", binary.BigEndian.Uint16(hdr[1:]), alert.ErrDecode)
	}
	switch typ {
	case TypeChangeCipherSpec, TypeAlert, TypeHandshake, TypeApplicationData:
	default:
		return 0, nil, fmt.Errorf("record of unknown type %d: %w", uint8(typ), alert.ErrUnexpectedMessage)
	}
	// Compare against the protected limit when a TLS 1.3 peer may send
	// a plaintext change_cipher_spec between protected records: the
	// opener enforces its own bound on what it opens.
	limit := in.maxBody
	if in.open == nil {
		limit = MaxPlaintext
	}
	if n > limit {
		return 0, nil, fmt.Errorf("record of %d bytes, limit %d: %w", n, limit, alert.ErrRecordOverflow)
	}
	if err := in.fill(HeaderLen + n); err != nil {
		return 0, nil, err
	}
	rec := in.buf[in.off : in.off+HeaderLen+n]
	in.off += HeaderLen + n
	if in.open == nil || typ == TypeChangeCipherSpec || typ == TypeAlert && in.plainAlerts && n == 2 {
		return typ, rec[HeaderLen:], nil
	}
	typ, payload, err := in.open.Open(rec)
	if err == nil {
		in.plainAlerts = false
	}
	return typ, payload, err
}

// fill makes at least n bytes available at buf[off:], moving a partial
// record to the front of the buffer first.
func (in *In) fill(n int) error {
	if in.end-in.off >= n {
		return nil
	}
	if in.off > 0 {
		in.end = copy(in.buf, in.buf[in.off:in.end])
		in.off = 0
	}
	if n > len(in.buf) {
		// The first record larger than the initial buffer: grow once to
		// the largest record either version allows, and keep it.
		nb := make([]byte, bufferLen)
		in.end = copy(nb, in.buf[:in.end])
		in.buf = nb
	}
	for in.end < n {
		m, err := in.r.Read(in.buf[in.end:])
		in.end += m
		if in.end >= n {
			break
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if in.end == 0 {
					return io.EOF
				}
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// Close frees the current opener.
func (in *In) Close() {
	in.SetOpener(nil, MaxPlaintext)
}

// Out builds records into one reused buffer and writes them to a
// connection in as few writes as it can. It is not safe for concurrent
// use; the connection serialises writers.
type Out struct {
	w            io.Writer
	buf          []byte
	seal         Sealer
	plainVersion uint16
	err          error
}

// NewOut returns a writer of plaintext records to w. Plaintext records
// carry version 0x0301 until SetPlainVersion says otherwise, as RFC 8446
// §5.1 advises for a first ClientHello.
func NewOut(w io.Writer) *Out {
	return &Out{w: w, buf: make([]byte, 0, initialBuffer), plainVersion: VersionTLS10}
}

// SetPlainVersion sets the version written in plaintext record headers.
func (o *Out) SetPlainVersion(v uint16) { o.plainVersion = v }

// SetSealer switches the write direction to new protection and frees the
// previous one. Records already appended keep the protection they were
// sealed with.
func (o *Out) SetSealer(s Sealer) {
	if o.seal != nil {
		o.seal.Free()
	}
	o.seal = s
}

// Protected reports whether records are being protected.
func (o *Out) Protected() bool { return o.seal != nil }

// NeedsKeyUpdate reports that the current write key nears its limit.
func (o *Out) NeedsKeyUpdate() bool { return o.seal != nil && o.seal.NeedsKeyUpdate() }

// Append frames data as records of type typ (each at most MaxPlaintext)
// and adds them to the pending buffer. Nothing is written until Flush.
func (o *Out) Append(typ ContentType, data []byte) error {
	if o.err != nil {
		return o.err
	}
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), MaxPlaintext)
		if err := o.appendRecord(typ, data[:n]); err != nil {
			o.err = err
			return err
		}
		data = data[n:]
	}
	return nil
}

// AppendPlain adds one unprotected record even while protection is on:
// the TLS 1.3 middlebox-compatibility change_cipher_spec.
func (o *Out) AppendPlain(typ ContentType, data []byte) error {
	if o.err != nil {
		return o.err
	}
	o.buf = o.plainRecord(o.buf, typ, data)
	return nil
}

func (o *Out) plainRecord(dst []byte, typ ContentType, data []byte) []byte {
	start := len(dst)
	dst = grow(dst, HeaderLen+len(data))
	hdr := dst[start:]
	hdr[0] = byte(typ)
	binary.BigEndian.PutUint16(hdr[1:], o.plainVersion)
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(data)))
	copy(hdr[HeaderLen:], data)
	return dst
}

func (o *Out) appendRecord(typ ContentType, data []byte) error {
	if o.seal == nil {
		o.buf = o.plainRecord(o.buf, typ, data)
		return nil
	}
	var err error
	o.buf, err = o.seal.Seal(o.buf, typ, data, 0)
	return err
}

// Pending is how many bytes wait for Flush.
func (o *Out) Pending() int { return len(o.buf) }

// Flush writes every pending record.
func (o *Out) Flush() error {
	if o.err != nil {
		return o.err
	}
	if len(o.buf) == 0 {
		return nil
	}
	_, err := o.w.Write(o.buf)
	o.buf = o.buf[:0]
	if err != nil {
		o.err = err
	}
	return err
}

// Close frees the current sealer.
func (o *Out) Close() { o.SetSealer(nil) }

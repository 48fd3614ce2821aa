package hkdf

import (
	"fmt"

	"github.com/holdfast-tls/holdfast/mem"
)

// ExpandLabel computes HKDF-Expand-Label(secret, label, context, len(out))
// of RFC 8446 §7.1 into out. label is given without the "tls13 " prefix.
func ExpandLabel(h Hash, out, secret *mem.Secret, label string, context []byte) error {
	if !h.valid() {
		return fmt.Errorf("hkdf: unknown Hash %d", uint8(h))
	}
	m, err := getState(h)
	if err != nil {
		return err
	}
	defer putState(m)
	info, err := m.hkdfLabel(out.Len(), label, context)
	if err != nil {
		return err
	}
	return m.expand(out.Bytes(), secret.Bytes(), info)
}

// DeriveSecret computes Derive-Secret(secret, label, Messages) of RFC 8446
// §7.1 into out, which must be h.Size() bytes. The caller passes
// Transcript-Hash(Messages), not the messages.
func DeriveSecret(h Hash, out, secret *mem.Secret, label string, transcriptHash []byte) error {
	if h.valid() && out.Len() != h.Size() {
		return fmt.Errorf("%w: Derive-Secret gives %d bytes for %v, not %d", ErrOutputLength, h.Size(), h, out.Len())
	}
	return ExpandLabel(h, out, secret, label, transcriptHash)
}

const labelPrefix = "tls13 "

// hkdfLabel encodes the HkdfLabel structure of RFC 8446 §7.1 into m.info:
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "tls13 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
func (m *macState) hkdfLabel(length int, label string, context []byte) ([]byte, error) {
	if length > 0xffff {
		return nil, fmt.Errorf("%w: HKDF-Expand-Label length %d does not fit in 16 bits", ErrOutputLength, length)
	}
	if len(labelPrefix)+len(label) > 255 {
		return nil, fmt.Errorf("hkdf: HKDF-Expand-Label label of %d bytes is longer than 249", len(label))
	}
	if len(context) > 255 {
		return nil, fmt.Errorf("hkdf: HKDF-Expand-Label context of %d bytes is longer than 255", len(context))
	}
	b := m.info[:0]
	b = append(b, byte(length>>8), byte(length), byte(len(labelPrefix)+len(label)))
	b = append(b, labelPrefix...)
	b = append(b, label...)
	b = append(b, byte(len(context)))
	b = append(b, context...)
	return b, nil
}

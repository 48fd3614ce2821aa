package wire

import "golang.org/x/crypto/cryptobyte"

// KeyUpdate is the KeyUpdate message (RFC 8446 §4.6.3).
type KeyUpdate struct {
	Raw []byte

	// UpdateRequested is request_update: true (update_requested, 1) asks
	// the peer to update its sending keys too.
	UpdateRequested bool
}

// ParseKeyUpdate parses a whole KeyUpdate message, header included. A
// request_update other than 0 or 1 is an error wrapping
// alert.ErrIllegalParameter (RFC 8446 §4.6.3).
func ParseKeyUpdate(msg []byte) (*KeyUpdate, error) {
	const name = "KeyUpdate"
	raw, s, err := open(msg, TypeKeyUpdate, name)
	if err != nil {
		return nil, err
	}
	var v uint8
	if !s.ReadUint8(&v) || !s.Empty() {
		return nil, malformed(name, "body is not one byte")
	}
	if v > 1 {
		return nil, illegal(name, "request_update is neither 0 nor 1")
	}
	return &KeyUpdate{Raw: raw, UpdateRequested: v == 1}, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *KeyUpdate) Marshal() ([]byte, error) {
	var v uint8
	if m.UpdateRequested {
		v = 1
	}
	raw, err := seal(TypeKeyUpdate, "KeyUpdate", func(b *cryptobyte.Builder) { b.AddUint8(v) })
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

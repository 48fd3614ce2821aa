package wire

import "golang.org/x/crypto/cryptobyte"

// NewSessionTicket is the TLS 1.3 NewSessionTicket message (RFC 8446
// §4.6.1). The ticket is opaque here: sealed by the server, it carries no
// secret in the clear.
type NewSessionTicket struct {
	Raw []byte

	Lifetime uint32 // ticket_lifetime, seconds; the engine enforces the 7-day cap
	AgeAdd   uint32 // ticket_age_add
	Nonce    []byte // ticket_nonce
	Ticket   []byte // never empty

	EarlyData    bool   // early_data present
	MaxEarlyData uint32 // its max_early_data_size

	// Unknown holds, in received order, the extensions no field
	// describes; a client ignores them (RFC 8446 §4.6.1).
	Unknown []Extension

	// ExtensionOrder lists every extension type in the order received;
	// Marshal follows it as ClientHello.Marshal does.
	ExtensionOrder []uint16
}

// ParseNewSessionTicket parses a whole TLS 1.3 NewSessionTicket message,
// header included.
func ParseNewSessionTicket(msg []byte) (*NewSessionTicket, error) {
	const name = "NewSessionTicket"
	raw, s, err := open(msg, TypeNewSessionTicket, name)
	if err != nil {
		return nil, err
	}
	m := &NewSessionTicket{Raw: raw}
	var ok bool
	if !s.ReadUint32(&m.Lifetime) || !s.ReadUint32(&m.AgeAdd) {
		return nil, malformed(name, "truncated")
	}
	if m.Nonce, ok = readVec8(&s, 0); !ok {
		return nil, malformed(name, "ticket_nonce")
	}
	if m.Ticket, ok = readVec16(&s, 1); !ok {
		return nil, malformed(name, "ticket") // <1..2^16-1>
	}
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) || !s.Empty() {
		return nil, malformed(name, "extension block")
	}
	order, err := readExtensions(block, name, func(typ uint16, body *cryptobyte.String) error {
		if typ != ExtEarlyData {
			keepUnknown(&m.Unknown, typ, body)
			return nil
		}
		m.EarlyData = true
		if !body.ReadUint32(&m.MaxEarlyData) {
			return malformed(name, "early_data")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(order) > 0 {
		m.ExtensionOrder = order
	}
	return m, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *NewSessionTicket) Marshal() ([]byte, error) {
	raw, err := seal(TypeNewSessionTicket, "NewSessionTicket", func(b *cryptobyte.Builder) {
		b.AddUint32(m.Lifetime)
		b.AddUint32(m.AgeAdd)
		addVec8(b, m.Nonce, 0, "ticket_nonce")
		addVec16(b, m.Ticket, 1, "ticket")
		var s extSet
		if m.EarlyData {
			s.add(ExtEarlyData, func(b *cryptobyte.Builder) { b.AddUint32(m.MaxEarlyData) })
		} else if m.MaxEarlyData != 0 {
			refuse(b, "MaxEarlyData set without EarlyData")
			return
		}
		s.addUnknown(b, m.Unknown, func(t uint16) bool { return t == ExtEarlyData })
		s.write(b, m.ExtensionOrder, nil, true)
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

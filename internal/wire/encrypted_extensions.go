package wire

import "golang.org/x/crypto/cryptobyte"

// EncryptedExtensions is the EncryptedExtensions message (RFC 8446
// §4.3.1). A field for an extension is its zero value when the extension
// is absent.
type EncryptedExtensions struct {
	Raw []byte

	ALPN            string   // the selected protocol
	ServerNameAck   bool     // empty server_name
	SupportedGroups []uint16 // the server's preference, for later connections
	EarlyData       bool     // empty early_data: the server accepted 0-RTT

	// Unknown holds, in received order, the extensions no field
	// describes; the engine refuses those it did not offer.
	Unknown []Extension

	// ExtensionOrder lists every extension type in the order received.
	// Marshal writes extensions in this order, skipping types listed but
	// absent, then any present but unlisted.
	ExtensionOrder []uint16
}

// ParseEncryptedExtensions parses a whole EncryptedExtensions message,
// header included.
func ParseEncryptedExtensions(msg []byte) (*EncryptedExtensions, error) {
	const name = "EncryptedExtensions"
	raw, s, err := open(msg, TypeEncryptedExtensions, name)
	if err != nil {
		return nil, err
	}
	m := &EncryptedExtensions{Raw: raw}
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) || !s.Empty() {
		return nil, malformed(name, "extension block")
	}
	order, err := readExtensions(block, name, m.readExtension)
	if err != nil {
		return nil, err
	}
	if len(order) > 0 {
		m.ExtensionOrder = order
	}
	return m, nil
}

func (m *EncryptedExtensions) readExtension(typ uint16, body *cryptobyte.String) error {
	const name = "EncryptedExtensions"
	var ok bool
	switch typ {
	case ExtALPN:
		if m.ALPN, ok = readOneProtocol(body); !ok {
			return malformed(name, "application_layer_protocol_negotiation")
		}
	case ExtServerName:
		return needEmpty(name, "server_name", body, &m.ServerNameAck)
	case ExtSupportedGroups:
		if m.SupportedGroups, ok = readList16(body); !ok {
			return malformed(name, "supported_groups")
		}
	case ExtEarlyData:
		return needEmpty(name, "early_data", body, &m.EarlyData)
	default:
		keepUnknown(&m.Unknown, typ, body)
	}
	return nil
}

func encryptedExtensionsField(t uint16) bool {
	switch t {
	case ExtALPN, ExtServerName, ExtSupportedGroups, ExtEarlyData:
		return true
	}
	return false
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *EncryptedExtensions) Marshal() ([]byte, error) {
	raw, err := seal(TypeEncryptedExtensions, "EncryptedExtensions", func(b *cryptobyte.Builder) {
		var s extSet
		if m.ALPN != "" {
			s.add(ExtALPN, func(b *cryptobyte.Builder) { addOneProtocol(b, m.ALPN) })
		}
		s.flag(ExtServerName, m.ServerNameAck)
		if len(m.SupportedGroups) > 0 {
			s.add(ExtSupportedGroups, func(b *cryptobyte.Builder) { addList16(b, m.SupportedGroups, "supported_groups") })
		}
		s.flag(ExtEarlyData, m.EarlyData)
		s.addUnknown(b, m.Unknown, encryptedExtensionsField)
		s.write(b, m.ExtensionOrder, nil, true)
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

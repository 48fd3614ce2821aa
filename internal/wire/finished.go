package wire

import "golang.org/x/crypto/cryptobyte"

// Finished is the Finished message (RFC 8446 §4.4.4, RFC 5246 §7.4.9).
// Its body is the verify_data and nothing else, so any length parses; the
// engine checks the length it expects (the hash length in TLS 1.3, 12
// bytes in TLS 1.2) in constant time along with the value.
type Finished struct {
	Raw []byte

	VerifyData []byte
}

// ParseFinished parses a whole Finished message, header included.
func ParseFinished(msg []byte) (*Finished, error) {
	raw, s, err := open(msg, TypeFinished, "Finished")
	if err != nil {
		return nil, err
	}
	return &Finished{Raw: raw, VerifyData: own(s)}, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *Finished) Marshal() ([]byte, error) {
	raw, err := seal(TypeFinished, "Finished", func(b *cryptobyte.Builder) { b.AddBytes(m.VerifyData) })
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

// EndOfEarlyData is the EndOfEarlyData message (RFC 8446 §4.5): a header
// and an empty body.
type EndOfEarlyData struct {
	Raw []byte
}

// ParseEndOfEarlyData parses a whole EndOfEarlyData message, header
// included.
func ParseEndOfEarlyData(msg []byte) (*EndOfEarlyData, error) {
	const name = "EndOfEarlyData"
	raw, s, err := open(msg, TypeEndOfEarlyData, name)
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, malformed(name, "non-empty body")
	}
	return &EndOfEarlyData{Raw: raw}, nil
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *EndOfEarlyData) Marshal() ([]byte, error) {
	m.Raw = []byte{TypeEndOfEarlyData, 0, 0, 0}
	return m.Raw, nil
}

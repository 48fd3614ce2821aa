package wire

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Vectors (RFC 8446 §3.4): length-prefixed byte strings and lists. The
// readers take a minimum length from the RFC's <floor..ceiling> notation;
// the prefix width sets the ceiling. Every slice they return points into
// the parser's own copy of the message, capacity cut to length, or is nil
// when empty, so an append by the caller never writes over a neighbour.

// own cuts b's capacity to its length, and makes an empty b nil.
func own(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b[:len(b):len(b)]
}

func readVec8(s *cryptobyte.String, min int) ([]byte, bool) {
	var v cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&v) || len(v) < min {
		return nil, false
	}
	return own(v), true
}

func readVec16(s *cryptobyte.String, min int) ([]byte, bool) {
	var v cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&v) || len(v) < min {
		return nil, false
	}
	return own(v), true
}

func readVec24(s *cryptobyte.String, min int) ([]byte, bool) {
	var v cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&v) || len(v) < min {
		return nil, false
	}
	return own(v), true
}

// readUint16s reads all of v as a non-empty list of 16-bit values.
func readUint16s(v cryptobyte.String) ([]uint16, bool) {
	if len(v) == 0 || len(v)%2 != 0 {
		return nil, false
	}
	out := make([]uint16, 0, len(v)/2)
	for !v.Empty() {
		var x uint16
		v.ReadUint16(&x)
		out = append(out, x)
	}
	return out, true
}

// readList16 reads a 16-bit-prefixed, non-empty list of 16-bit values:
// supported_groups, signature_algorithms, signature_algorithms_cert.
func readList16(s *cryptobyte.String) ([]uint16, bool) {
	var v cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&v) {
		return nil, false
	}
	return readUint16s(v)
}

// readNames reads a 16-bit-prefixed list of at least one DistinguishedName
// <1..2^16-1> (certificate_authorities, RFC 8446 §4.2.4).
func readNames(s *cryptobyte.String) ([][]byte, bool) {
	var v cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&v) || v.Empty() {
		return nil, false
	}
	var out [][]byte
	for !v.Empty() {
		dn, ok := readVec16(&v, 1)
		if !ok {
			return nil, false
		}
		out = append(out, dn)
	}
	return out, true
}

// readProtocols reads an ALPN ProtocolNameList (RFC 7301 §3.1): at least
// one name, none empty.
func readProtocols(s *cryptobyte.String) ([]string, bool) {
	var v cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&v) || v.Empty() {
		return nil, false
	}
	var out []string
	for !v.Empty() {
		p, ok := readVec8(&v, 1)
		if !ok {
			return nil, false
		}
		out = append(out, string(p))
	}
	return out, true
}

// The writers check the same floors the readers enforce, so Marshal never
// produces what Parse refuses; the builder itself refuses anything past a
// prefix's ceiling.

// refuse makes b's Bytes fail with a marshal error.
func refuse(b *cryptobyte.Builder, format string, args ...any) {
	b.SetError(fmt.Errorf(format, args...))
}

func addVec8(b *cryptobyte.Builder, v []byte, min int, what string) {
	if len(v) < min {
		refuse(b, "%s shorter than %d bytes", what, min)
		return
	}
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

func addVec16(b *cryptobyte.Builder, v []byte, min int, what string) {
	if len(v) < min {
		refuse(b, "%s shorter than %d bytes", what, min)
		return
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

func addVec24(b *cryptobyte.Builder, v []byte, min int, what string) {
	if len(v) < min {
		refuse(b, "%s shorter than %d bytes", what, min)
		return
	}
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

// addUint16s writes a non-empty list of 16-bit values without a prefix.
func addUint16s(b *cryptobyte.Builder, list []uint16, what string) {
	if len(list) == 0 {
		refuse(b, "empty %s", what)
		return
	}
	for _, x := range list {
		b.AddUint16(x)
	}
}

func addList16(b *cryptobyte.Builder, list []uint16, what string) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, list, what) })
}

func addNames(b *cryptobyte.Builder, names [][]byte) {
	if len(names) == 0 {
		refuse(b, "empty certificate_authorities")
		return
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, dn := range names {
			addVec16(b, dn, 1, "distinguished name")
		}
	})
}

func addProtocols(b *cryptobyte.Builder, protos []string) {
	if len(protos) == 0 {
		refuse(b, "empty ALPN list")
		return
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, p := range protos {
			addVec8(b, []byte(p), 1, "ALPN protocol name")
		}
	})
}

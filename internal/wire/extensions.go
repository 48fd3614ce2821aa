package wire

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Extension types (IANA TLS ExtensionType registry).
const (
	ExtServerName              uint16 = 0  // RFC 6066
	ExtTrustedCAKeys           uint16 = 3  // RFC 6066 §6
	ExtStatusRequest           uint16 = 5  // RFC 6066
	ExtSupportedGroups         uint16 = 10 // RFC 8446 §4.2.7
	ExtECPointFormats          uint16 = 11 // RFC 8422
	ExtSignatureAlgorithms     uint16 = 13 // RFC 8446 §4.2.3
	ExtALPN                    uint16 = 16 // RFC 7301
	ExtSCT                     uint16 = 18 // RFC 6962
	ExtPadding                 uint16 = 21 // RFC 7685
	ExtEncryptThenMAC          uint16 = 22 // RFC 7366
	ExtExtendedMasterSecret    uint16 = 23 // RFC 7627
	ExtCompressCertificate     uint16 = 27 // RFC 8879
	ExtRecordSizeLimit         uint16 = 28 // RFC 8449
	ExtSessionTicket           uint16 = 35 // RFC 5077
	ExtPreSharedKey            uint16 = 41 // RFC 8446 §4.2.11
	ExtEarlyData               uint16 = 42 // RFC 8446 §4.2.10
	ExtSupportedVersions       uint16 = 43 // RFC 8446 §4.2.1
	ExtCookie                  uint16 = 44 // RFC 8446 §4.2.2
	ExtPSKKeyExchangeModes     uint16 = 45 // RFC 8446 §4.2.9
	ExtCertificateAuthorities  uint16 = 47 // RFC 8446 §4.2.4
	ExtPostHandshakeAuth       uint16 = 49 // RFC 8446 §4.2.6
	ExtSignatureAlgorithmsCert uint16 = 50 // RFC 8446 §4.2.3
	ExtKeyShare                uint16 = 51 // RFC 8446 §4.2.8
	ExtRenegotiationInfo       uint16 = 0xff01
)

// An Extension is one this package does not interpret for the message it
// came in: its type and its body, as received. Such extensions are kept,
// in the Unknown field of each message, so that Marshal reproduces the
// message and the engine can judge them (RFC 8446 §4.2: a client must
// refuse one it did not offer; a server must ignore one it does not know).
type Extension struct {
	Type uint16
	Data []byte
}

// readExtensions reads an extension block's contents (its length prefix
// already stripped) and calls each for every extension in order. each
// must consume the body it is given; a byte it leaves is a decode_error,
// as is a second extension of any type (RFC 8446 §4.2). The types are
// returned in the order received; order is non-nil even for an empty
// block.
func readExtensions(block cryptobyte.String, name string, each func(typ uint16, body *cryptobyte.String) error) (order []uint16, err error) {
	order = make([]uint16, 0, 8)
	seen := make(map[uint16]struct{}, 8)
	for !block.Empty() {
		var typ uint16
		var body cryptobyte.String
		if !block.ReadUint16(&typ) || !block.ReadUint16LengthPrefixed(&body) {
			return nil, malformed(name, "truncated extension")
		}
		if _, dup := seen[typ]; dup {
			return nil, malformed(name, fmt.Sprintf("duplicate extension %d", typ))
		}
		seen[typ] = struct{}{}
		order = append(order, typ)
		if err := each(typ, &body); err != nil {
			return nil, err
		}
		if !body.Empty() {
			return nil, malformed(name, fmt.Sprintf("extension %d has trailing bytes", typ))
		}
	}
	return order, nil
}

// keepUnknown is the body reader for an extension the message does not
// interpret.
func keepUnknown(dst *[]Extension, typ uint16, body *cryptobyte.String) {
	*dst = append(*dst, Extension{Type: typ, Data: own(*body)})
	body.Skip(len(*body))
}

// needEmpty is the body reader for a flag extension, whose body must be
// empty.
func needEmpty(name, ext string, body *cryptobyte.String, flag *bool) error {
	if !body.Empty() {
		return malformed(name, ext+" is not empty")
	}
	*flag = true
	return nil
}

// outExt is one extension Marshal will write: its type and a writer for
// its body.
type outExt struct {
	typ  uint16
	body cryptobyte.BuilderContinuation
}

// extSet gathers the extensions a message will carry before writing them.
type extSet struct {
	list []outExt
}

func (s *extSet) add(typ uint16, body cryptobyte.BuilderContinuation) {
	s.list = append(s.list, outExt{typ, body})
}

func (s *extSet) flag(typ uint16, on bool) {
	if on {
		s.add(typ, func(*cryptobyte.Builder) {})
	}
}

// addUnknown adds the caller's uninterpreted extensions, refusing a type
// the message interprets (known reports those): the parser would read it
// into a field, so it could not round-trip.
func (s *extSet) addUnknown(b *cryptobyte.Builder, unknown []Extension, known func(uint16) bool) {
	for _, e := range unknown {
		if known(e.Type) {
			refuse(b, "extension %d in Unknown has a field of its own", e.Type)
			return
		}
		s.add(e.Type, func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
	}
}

// write emits the extensions: first those listed in order, in that order,
// then the rest in the order they were added, then last, if not nil. A
// type listed in order but absent is skipped; a type present twice is a
// marshal error, since the peer would refuse it. The block itself is
// written when it holds an extension or when always is set.
func (s *extSet) write(b *cryptobyte.Builder, order []uint16, last *outExt, always bool) {
	all := s.list
	if last != nil {
		all = append(all[:len(all):len(all)], *last)
	}
	if len(all) == 0 && !always {
		return
	}
	index := make(map[uint16]int, len(all))
	for i, e := range all {
		if _, dup := index[e.typ]; dup {
			refuse(b, "extension %d appears twice", e.typ)
			return
		}
		index[e.typ] = i
	}
	done := make([]bool, len(all))
	emit := func(b *cryptobyte.Builder, i int) {
		done[i] = true
		b.AddUint16(all[i].typ)
		b.AddUint16LengthPrefixed(all[i].body)
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, t := range order {
			if i, ok := index[t]; ok && !done[i] && (last == nil || t != last.typ) {
				emit(b, i)
			}
		}
		for i := range s.list {
			if !done[i] {
				emit(b, i)
			}
		}
		if last != nil {
			emit(b, len(all)-1)
		}
	})
}

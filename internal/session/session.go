// Package session is what a resumable TLS session remembers and how it is
// sealed into a ticket.
//
// A State holds the resumption secret (the TLS 1.3 PSK, or the TLS 1.2
// master secret) in locked memory beside the public facts resumption must
// check: version, cipher suite, server name, ALPN, the certificate the
// server used and the client's certificates. Seal encodes it into locked
// memory and encrypts it with a ticket sealer; Open decrypts a ticket into
// locked memory and decodes it. The secret never passes through the Go
// heap in plaintext.
package session

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/holdfast-tls/holdfast/mem"
)

// State is one resumable session.
type State struct {
	Version    uint16
	Suite      uint16
	Created    time.Time // when the secret was made; tickets age from here
	AgeAdd     uint32    // TLS 1.3 ticket_age_add
	Lifetime   uint32    // seconds the ticket is offered for
	ExtendedMS bool      // TLS 1.2: the master secret is an extended one
	EtM        bool      // TLS 1.2: encrypt_then_mac was negotiated (RFC 7366 §3.1 keeps it on resumption)
	ServerName string
	ALPN       string
	CertHash   [32]byte // SHA-256 of the server's leaf, so a ticket follows its certificate
	PeerCerts  [][]byte // the peer's chain (DER), for mutual TLS resumption
	PeerScheme uint16   // the signature scheme the peer signed with, reported again on resumption
	Secret     *mem.Secret
}

// Free wipes the secret.
func (s *State) Free() {
	if s != nil {
		s.Secret.Free()
		s.Secret = nil
	}
}

// Sealer encrypts and decrypts tickets (tickets.KeyRing).
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(dst, ticket []byte) (int, error)
}

// Overhead is what a Sealer adds to a plaintext (tickets.Overhead).
const Overhead = 16 + 12 + 16

// format 2 added PeerScheme; a format 1 ticket gets a full handshake.
const format = 2

// Bits of the flags byte.
const (
	flagEMS = 1 << iota
	flagEtM
)

// ErrBadState is returned for a ticket that opens but does not decode.
var ErrBadState = errors.New("session: malformed session state")

// public encodes everything but the secret.
func (s *State) public() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(format)
	b.AddUint16(s.Version)
	b.AddUint16(s.Suite)
	b.AddUint64(uint64(s.Created.Unix()))
	b.AddUint32(s.AgeAdd)
	b.AddUint32(s.Lifetime)
	flags := uint8(0)
	if s.ExtendedMS {
		flags |= flagEMS
	}
	if s.EtM {
		flags |= flagEtM
	}
	b.AddUint8(flags)
	b.AddUint16(s.PeerScheme)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(s.ServerName)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(s.ALPN)) })
	b.AddBytes(s.CertHash[:])
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, c := range s.PeerCerts {
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c) })
		}
	})
	return b.Bytes()
}

// Seal encodes the state (secret first, in locked memory) and seals it.
func (s *State) Seal(sealer Sealer) ([]byte, error) {
	pub, err := s.public()
	if err != nil {
		return nil, err
	}
	n := s.Secret.Len()
	if n == 0 || n > 255 {
		return nil, fmt.Errorf("session: %d-byte secret", n)
	}
	buf, err := mem.New(1 + n + len(pub))
	if err != nil {
		return nil, err
	}
	defer buf.Free()
	b := buf.Bytes()
	b[0] = byte(n)
	mem.CopyBytewise(b[1:1+n], s.Secret.Bytes())
	copy(b[1+n:], pub)
	return sealer.Seal(b)
}

// Open decrypts a ticket into locked memory and decodes it. The caller
// frees the State.
func Open(sealer Sealer, ticket []byte) (*State, error) {
	if len(ticket) <= Overhead {
		return nil, ErrBadState
	}
	buf, err := mem.New(len(ticket) - Overhead)
	if err != nil {
		return nil, err
	}
	defer buf.Free()
	n, err := sealer.Open(buf.Bytes(), ticket)
	if err != nil {
		return nil, err
	}
	return decode(buf.Bytes()[:n])
}

func decode(b []byte) (*State, error) {
	if len(b) < 1 || int(b[0]) == 0 || len(b) < 1+int(b[0]) {
		return nil, ErrBadState
	}
	n := int(b[0])
	s := &State{}
	in := cryptobyte.String(b[1+n:])
	var vers uint8
	var created uint64
	var ems uint8
	var name, alpn, certs cryptobyte.String
	var hash []byte
	if !in.ReadUint8(&vers) || vers != format || !in.ReadUint16(&s.Version) || !in.ReadUint16(&s.Suite) ||
		!in.ReadUint64(&created) || !in.ReadUint32(&s.AgeAdd) || !in.ReadUint32(&s.Lifetime) || !in.ReadUint8(&ems) ||
		!in.ReadUint16(&s.PeerScheme) || !in.ReadUint8LengthPrefixed(&name) || !in.ReadUint8LengthPrefixed(&alpn) || !in.ReadBytes(&hash, 32) ||
		!in.ReadUint24LengthPrefixed(&certs) || !in.Empty() || ems&^(flagEMS|flagEtM) != 0 || created > 1<<62 {
		return nil, ErrBadState
	}
	for !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadUint24LengthPrefixed(&c) || len(c) == 0 {
			return nil, ErrBadState
		}
		s.PeerCerts = append(s.PeerCerts, append([]byte(nil), c...))
	}
	s.Created = time.Unix(int64(created), 0)
	s.ExtendedMS, s.EtM = ems&flagEMS != 0, ems&flagEtM != 0
	s.ServerName, s.ALPN = string(name), string(alpn)
	copy(s.CertHash[:], hash)
	secret, err := mem.NewCopy(b[1 : 1+n])
	if err != nil {
		return nil, err
	}
	s.Secret = secret
	return s, nil
}

// Clone copies the state with its own copy of the secret.
func (s *State) Clone() (*State, error) {
	c := *s
	c.PeerCerts = append([][]byte(nil), s.PeerCerts...)
	sec, err := s.Secret.Clone()
	if err != nil {
		return nil, err
	}
	c.Secret = sec
	return &c, nil
}

package kex

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

// Group is a TLS NamedGroup.
type Group uint16

const (
	P256           Group = 0x0017
	P384           Group = 0x0018
	X25519         Group = 0x001d
	X25519MLKEM768 Group = 0x11ec
)

func (g Group) String() string {
	switch g {
	case P256:
		return "P-256"
	case P384:
		return "P-384"
	case X25519:
		return "X25519"
	case X25519MLKEM768:
		return "X25519MLKEM768"
	}
	return fmt.Sprintf("group(%#04x)", uint16(g))
}

// Supported reports whether Holdfast implements the group.
func (g Group) Supported() bool {
	switch g {
	case P256, P384, X25519, X25519MLKEM768:
		return true
	}
	return false
}

func (g Group) curve() ecdh.Curve {
	switch g {
	case P256:
		return ecdh.P256()
	case P384:
		return ecdh.P384()
	case X25519, X25519MLKEM768:
		return ecdh.X25519()
	}
	return nil
}

// scalarLen is the length of the ECDH private scalar.
func (g Group) scalarLen() int {
	switch g {
	case P256:
		return 32
	case P384:
		return 48
	}
	return 32
}

// SharedLen is the length of the shared secret the group produces.
func (g Group) SharedLen() int {
	switch g {
	case P256:
		return 32
	case P384:
		return 48
	case X25519:
		return 32
	case X25519MLKEM768:
		return mlkem.SharedKeySize + 32
	}
	return 0
}

// A Private is a client's key share: the private half in locked memory and
// the public half to send in the ClientHello.
type Private struct {
	group  Group
	scalar *mem.Secret // ECDH scalar
	seed   *mem.Secret // ML-KEM-768 decapsulation key seed (hybrid only)
	public []byte
	// The key objects built from scalar and seed, kept for the round trip
	// so the exchange costs no extra scalar multiplication. They were
	// allocated inside erase.Do, so the runtimesecret build erases them
	// once Free drops them.
	ec *ecdh.PrivateKey
	dk *mlkem.DecapsulationKey768
}

// Generate makes a new key share for group.
func Generate(g Group) (*Private, error) {
	if !g.Supported() {
		return nil, fmt.Errorf("kex: %v is not supported", g)
	}
	p := &Private{group: g}
	scalar, err := mem.New(g.scalarLen())
	if err != nil {
		return nil, err
	}
	p.scalar = scalar
	if g == X25519MLKEM768 {
		if p.seed, err = mem.New(mlkem.SeedSize); err != nil {
			p.Free()
			return nil, err
		}
	}
	erase.Do(func() { err = p.generate() })
	if err != nil {
		p.Free()
		return nil, err
	}
	return p, nil
}

func (p *Private) generate() error {
	var ecPub []byte
	if p.group.ecdhGroup() == X25519 {
		// Any 32 bytes are an X25519 scalar (x25519.go).
		if _, err := rand.Read(p.scalar.Bytes()); err != nil {
			return fmt.Errorf("kex: reading randomness: %w", err)
		}
		ecPub = make([]byte, 32)
		if err := x25519Public(ecPub, p.scalar.Bytes()); err != nil {
			return err
		}
		return p.addKEM(ecPub)
	}
	curve := p.group.curve()
	// NIST scalars must be below the group order; the chance that random
	// bytes are not is about 2^-32 for P-256 and negligible for P-384, so
	// a few draws always suffice.
	for range 8 {
		if _, err := rand.Read(p.scalar.Bytes()); err != nil {
			return fmt.Errorf("kex: reading randomness: %w", err)
		}
		priv, err := curve.NewPrivateKey(p.scalar.Bytes())
		if err != nil {
			continue
		}
		p.ec = priv
		ecPub = priv.PublicKey().Bytes()
		break
	}
	if ecPub == nil {
		return fmt.Errorf("kex: no valid %v scalar after 8 draws", p.group)
	}
	return p.addKEM(ecPub)
}

// addKEM sets the public share: ecPub, or for the hybrid group an ML-KEM
// key pair's encapsulation key followed by ecPub.
func (p *Private) addKEM(ecPub []byte) error {
	if p.group != X25519MLKEM768 {
		p.public = ecPub
		return nil
	}
	if _, err := rand.Read(p.seed.Bytes()); err != nil {
		return fmt.Errorf("kex: reading randomness: %w", err)
	}
	dk, err := mlkem.NewDecapsulationKey768(p.seed.Bytes())
	if err != nil {
		return err
	}
	p.dk = dk
	ek := dk.EncapsulationKey().Bytes()
	// The hybrid client share is the ML-KEM-768 encapsulation key followed
	// by the X25519 public key (draft-ietf-tls-ecdhe-mlkem §3).
	p.public = append(ek, ecPub...)
	return nil
}

// Group is the share's group.
func (p *Private) Group() Group { return p.group }

// Public is the share to send to the peer.
func (p *Private) Public() []byte { return p.public }

// Shared completes the exchange with the server's share and returns the
// shared secret, which the caller owns. A malformed server share is
// illegal_parameter.
func (p *Private) Shared(serverShare []byte) (*mem.Secret, error) {
	if p.scalar == nil {
		return nil, fmt.Errorf("kex: key share used after Free")
	}
	out, err := mem.New(p.group.SharedLen())
	if err != nil {
		return nil, err
	}
	erase.Do(func() { err = p.shared(out.Bytes(), serverShare) })
	if err != nil {
		out.Free()
		return nil, err
	}
	return out, nil
}

func (p *Private) shared(out, serverShare []byte) error {
	ecShare := serverShare
	if p.group == X25519MLKEM768 {
		if len(serverShare) != mlkem.CiphertextSize768+32 {
			return fmt.Errorf("X25519MLKEM768 server share of %d bytes: %w", len(serverShare), alert.ErrIllegalParameter)
		}
		ss, err := p.dk.Decapsulate(serverShare[:mlkem.CiphertextSize768])
		if err != nil {
			return fmt.Errorf("ML-KEM ciphertext: %v: %w", err, alert.ErrIllegalParameter)
		}
		copy(out, ss)
		clear(ss)
		out = out[mlkem.SharedKeySize:]
		ecShare = serverShare[mlkem.CiphertextSize768:]
	}
	return p.ecdh(out, ecShare)
}

// ecdh computes the classical part of the exchange with the peer's share
// into out.
func (p *Private) ecdh(out, peer []byte) error {
	if p.group.ecdhGroup() != X25519 {
		return ecdhInto(out, p.ec, peer)
	}
	if len(peer) != 32 {
		return fmt.Errorf("X25519 key share of %d bytes: %w", len(peer), alert.ErrIllegalParameter)
	}
	if err := x25519(out, p.scalar.Bytes(), peer); err != nil {
		return fmt.Errorf("X25519 key share: %v: %w", err, alert.ErrIllegalParameter)
	}
	return nil
}

// ecdhInto computes ECDH(priv, peer) into out and clears the library's
// copy of the result.
func ecdhInto(out []byte, priv *ecdh.PrivateKey, peer []byte) error {
	curve := priv.Curve()
	pub, err := curve.NewPublicKey(peer)
	if err != nil {
		return fmt.Errorf("%v key share: %v: %w", curve, err, alert.ErrIllegalParameter)
	}
	ss, err := priv.ECDH(pub)
	if err != nil {
		// crypto/ecdh refuses an all-zero X25519 result (a low-order
		// point), as RFC 8446 §7.4.2 requires.
		return fmt.Errorf("%v key share: %v: %w", curve, err, alert.ErrIllegalParameter)
	}
	copy(out, ss)
	clear(ss)
	return nil
}

// Free wipes the private share. It is safe to call more than once.
func (p *Private) Free() {
	if p == nil {
		return
	}
	p.scalar.Free()
	p.seed.Free()
	p.scalar, p.seed, p.ec, p.dk = nil, nil, nil, nil
}

// Respond is the server's side: given the client's share for group g, it
// returns the server's share and the shared secret, which the caller owns.
// No private share outlives the call.
func Respond(g Group, clientShare []byte) (serverShare []byte, shared *mem.Secret, err error) {
	if !g.Supported() {
		return nil, nil, fmt.Errorf("kex: %v is not supported", g)
	}
	ecClient := clientShare
	if g == X25519MLKEM768 {
		if len(clientShare) != mlkem.EncapsulationKeySize768+32 {
			return nil, nil, fmt.Errorf("X25519MLKEM768 client share of %d bytes: %w", len(clientShare), alert.ErrIllegalParameter)
		}
		ecClient = clientShare[mlkem.EncapsulationKeySize768:]
	}
	p, err := Generate(g.ecdhGroup())
	if err != nil {
		return nil, nil, err
	}
	defer p.Free()
	shared, err = mem.New(g.SharedLen())
	if err != nil {
		return nil, nil, err
	}
	out := shared.Bytes()
	erase.Do(func() {
		if g == X25519MLKEM768 {
			var ek *mlkem.EncapsulationKey768
			ek, err = mlkem.NewEncapsulationKey768(clientShare[:mlkem.EncapsulationKeySize768])
			if err != nil {
				err = fmt.Errorf("ML-KEM encapsulation key: %v: %w", err, alert.ErrIllegalParameter)
				return
			}
			ss, ct := ek.Encapsulate()
			copy(out, ss)
			clear(ss)
			out = out[mlkem.SharedKeySize:]
			// The hybrid server share is the ML-KEM ciphertext followed
			// by the X25519 public key.
			serverShare = append(ct, p.public...)
		} else {
			serverShare = p.public
		}
		err = p.ecdh(out, ecClient)
	})
	if err != nil {
		shared.Free()
		return nil, nil, err
	}
	return serverShare, shared, nil
}

// ecdhGroup is the classical group inside a hybrid one.
func (g Group) ecdhGroup() Group {
	if g == X25519MLKEM768 {
		return X25519
	}
	return g
}

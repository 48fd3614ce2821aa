package kex

import (
	"bytes"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/mem"
)

var groups = []Group{X25519, P256, P384, X25519MLKEM768}

func TestExchangeAgrees(t *testing.T) {
	for _, g := range groups {
		t.Run(g.String(), func(t *testing.T) {
			c, err := Generate(g)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Free()
			sShare, sSecret, err := Respond(g, c.Public())
			if err != nil {
				t.Fatal(err)
			}
			defer sSecret.Free()
			cSecret, err := c.Shared(sShare)
			if err != nil {
				t.Fatal(err)
			}
			defer cSecret.Free()
			if !cSecret.Equal(sSecret) || cSecret.Len() != g.SharedLen() {
				t.Fatal("client and server disagree")
			}
			if bytes.Equal(cSecret.Bytes(), make([]byte, g.SharedLen())) {
				t.Fatal("shared secret is zero")
			}
		})
	}
}

// The hybrid secret is the ML-KEM shared key followed by the X25519 one,
// checked here against crypto/mlkem and crypto/ecdh used directly as the
// server.
func TestHybridLayout(t *testing.T) {
	c, err := Generate(X25519MLKEM768)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Free()
	pub := c.Public()
	if len(pub) != mlkem.EncapsulationKeySize768+32 {
		t.Fatalf("client share of %d bytes", len(pub))
	}
	ek, err := mlkem.NewEncapsulationKey768(pub[:mlkem.EncapsulationKeySize768])
	if err != nil {
		t.Fatal(err)
	}
	ss, ct := ek.Encapsulate()
	xPriv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	xPeer, err := ecdh.X25519().NewPublicKey(pub[mlkem.EncapsulationKeySize768:])
	if err != nil {
		t.Fatal(err)
	}
	xss, err := xPriv.ECDH(xPeer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Shared(append(ct, xPriv.PublicKey().Bytes()...))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Free()
	if !got.EqualBytes(append(ss, xss...)) {
		t.Fatal("hybrid shared secret is not ML-KEM key || X25519 key")
	}
}

func TestBadPeerSharesAreIllegalParameter(t *testing.T) {
	lowOrder := make([]byte, 32) // the X25519 point 0 gives an all-zero secret
	for _, c := range []struct {
		name  string
		g     Group
		share []byte
	}{
		{"x25519 short", X25519, make([]byte, 31)},
		{"x25519 low order", X25519, lowOrder},
		{"p256 not on curve", P256, append([]byte{4}, bytes.Repeat([]byte{1}, 64)...)},
		{"p256 compressed", P256, append([]byte{2}, bytes.Repeat([]byte{1}, 32)...)},
		{"p384 empty", P384, nil},
		{"hybrid short", X25519MLKEM768, make([]byte, 100)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, s, err := Respond(c.g, c.share); alert.For(err) != alert.IllegalParameter {
				s.Free()
				t.Errorf("Respond: %v, want illegal_parameter", err)
			}
			p, err := Generate(c.g)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Free()
			share := c.share
			if c.g == X25519MLKEM768 {
				share = make([]byte, 50)
			}
			if s, err := p.Shared(share); alert.For(err) != alert.IllegalParameter {
				s.Free()
				t.Errorf("Shared: %v, want illegal_parameter", err)
			}
		})
	}
}

func TestUnsupportedGroup(t *testing.T) {
	if _, err := Generate(Group(0x0019)); err == nil {
		t.Fatal("P-521 accepted")
	}
	if _, _, err := Respond(Group(0x0100), nil); err == nil {
		t.Fatal("ffdhe2048 accepted")
	}
}

func TestFreeIsIdempotent(t *testing.T) {
	p, err := Generate(X25519)
	if err != nil {
		t.Fatal(err)
	}
	p.Free()
	p.Free()
	if _, err := p.Shared(make([]byte, 32)); err == nil {
		t.Fatal("Shared after Free succeeded")
	}
	var s *mem.Secret
	s.Free()
}

func BenchmarkExchange(b *testing.B) {
	for _, g := range groups {
		b.Run(g.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, _ := Generate(g)
				share, s1, err := Respond(g, c.Public())
				if err != nil {
					b.Fatal(err)
				}
				s2, err := c.Shared(share)
				if err != nil {
					b.Fatal(err)
				}
				s1.Free()
				s2.Free()
				c.Free()
			}
		})
	}
}

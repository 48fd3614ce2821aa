package tls12

import (
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// The fully random premaster, a Holdfast extension for RSA key transport
// (the second seed's proposal; see docs/PREMASTER.md for why it is safe):
// when both ends opt in, the client's 48-byte premaster is all random,
// without the two version bytes RFC 5246 §7.4.7.1 puts first, and the
// server does not check them. The extension is empty in both hellos,
// under the private-use code point p.RandomPremaster, and the server
// answers only when it chose an RSA key transport suite.

// offersRandomPremaster reports whether the ClientHello carries the
// extension; a body is decode_error.
func offersRandomPremaster(ch *wire.ClientHello, cp uint16) (bool, error) {
	if cp == 0 {
		return false, nil
	}
	for _, e := range ch.Unknown {
		if e.Type == cp {
			if len(e.Data) != 0 {
				return false, fmt.Errorf("ClientHello: random-premaster extension with a body: %w", alert.ErrDecode)
			}
			return true, nil
		}
	}
	return false, nil
}

// agreeRandomPremaster decides, on the server, whether this handshake
// uses a fully random premaster, and if so acknowledges it in sh.
func (hs *serverHandshake) agreeRandomPremaster(sh *wire.ServerHello) error {
	offered, err := offersRandomPremaster(hs.hello, hs.p.RandomPremaster)
	if err != nil || !offered || hs.suite.KX != RSA {
		return err
	}
	hs.randomPremaster = true
	sh.Unknown = append(sh.Unknown, wire.Extension{Type: hs.p.RandomPremaster})
	return nil
}

// takeRandomPremaster takes the server's acknowledgement out of sh: only
// an empty one, to an offer, with an RSA key transport suite.
func (hs *clientHandshake) takeRandomPremaster(sh *wire.ServerHello) error {
	cp := hs.p.RandomPremaster
	i := slices.IndexFunc(sh.Unknown, func(e wire.Extension) bool { return e.Type == cp })
	if cp == 0 || i < 0 {
		return nil
	}
	if offered, _ := offersRandomPremaster(hs.hello, cp); !offered {
		return nil // left in Unknown: unsupported_extension
	}
	if len(sh.Unknown[i].Data) != 0 {
		return fmt.Errorf("ServerHello: random-premaster extension with a body: %w", alert.ErrDecode)
	}
	if hs.suite.KX != RSA {
		return fmt.Errorf("ServerHello agrees to a random premaster with %v, which has none: %w", hs.suite, alert.ErrIllegalParameter)
	}
	hs.randomPremaster = true
	sh.Unknown = append(sh.Unknown[:i:i], sh.Unknown[i+1:]...)
	return nil
}

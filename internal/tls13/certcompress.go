package tls13

import (
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Certificate compression (RFC 8879), in both directions: a server's
// chain when the ClientHello offers compress_certificate, a client's when
// the CertificateRequest does. Certificates are public, so compressing
// them leaks nothing; what needs care is the receiving side, which must
// never inflate more than it is willing to hold.

// maxCertificateBody bounds an announced uncompressed length: the same
// limit as any other handshake message, checked before inflating, so a
// compression bomb costs nothing.
const maxCertificateBody = wire.DefaultMaxMessage

// certificateMessage returns what to send for a marshalled Certificate
// message (header included): a CompressedCertificate with the first
// algorithm in offered that p has, or the message itself. Compression
// runs once per distinct chain (p.Compressed).
func certificateMessage(p *params.Params, offered []uint16, certMsg []byte) ([]byte, error) {
	c := p.CompressorFor(offered)
	if c == nil {
		return certMsg, nil
	}
	body := certMsg[wire.HeaderLen:]
	comp, err := p.Compressed.Compress(c, body)
	if err != nil {
		return nil, fmt.Errorf("compressing the Certificate with algorithm %d: %w", c.Algorithm(), err)
	}
	cc := &wire.CompressedCertificate{Algorithm: c.Algorithm(), UncompressedLength: uint32(len(body)), Compressed: comp}
	return cc.Marshal()
}

// readCertificateMessage turns a received Certificate or
// CompressedCertificate into the Certificate message it stands for. A
// CompressedCertificate is accepted only when this side offered
// compression (offered non-empty). An algorithm the receiver did not
// offer is illegal_parameter; a length over the limit, data that does not
// inflate, or inflates to another length, is bad_certificate (RFC 8879
// §4).
func readCertificateMessage(p *params.Params, offered []uint16, msg []byte, who string) ([]byte, error) {
	if len(msg) == 0 || msg[0] != wire.TypeCompressedCert || len(offered) == 0 {
		if len(msg) == 0 || msg[0] != wire.TypeCertificate {
			return nil, unexpected(who+" Certificate", msg)
		}
		return msg, nil
	}
	cc, err := wire.ParseCompressedCertificate(msg)
	if err != nil {
		return nil, fmt.Errorf("parsing %s CompressedCertificate: %w", who, err)
	}
	if !slices.Contains(offered, cc.Algorithm) {
		return nil, fmt.Errorf("%s CompressedCertificate with algorithm %d, which was not offered: %w", who, cc.Algorithm, alert.ErrIllegalParameter)
	}
	c := p.CompressorFor([]uint16{cc.Algorithm})
	n := int(cc.UncompressedLength)
	if n > maxCertificateBody {
		return nil, fmt.Errorf("%s CompressedCertificate announces %d bytes, limit %d: %w", who, n, maxCertificateBody, alert.ErrBadCertificate)
	}
	out, err := p.Compressed.Decompress(c, wire.HeaderLen, n, cc.Compressed)
	if err != nil {
		return nil, fmt.Errorf("%s CompressedCertificate (algorithm %d, %d bytes announced): %w: %w", who, cc.Algorithm, n, err, alert.ErrBadCertificate)
	}
	out[0] = wire.TypeCertificate
	out[1], out[2], out[3] = byte(n>>16), byte(n>>8), byte(n)
	return out, nil
}

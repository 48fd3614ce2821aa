package tls13

import (
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Cached certificates one by one (cached-information type 224, a Holdfast
// extension; wire/cached_certs.go has the encoding). Beside the digests of
// whole Certificate messages, the client's cached-info extension names
// each certificate it holds for the server. A server whose whole message
// is not among them, but some of whose certificates are (a renewed leaf
// under the same intermediates), acknowledges type 224 instead of type 1
// in EncryptedExtensions and sends its Certificate with those
// certificates replaced by their digests, each entry marked by an empty
// extension under the cached-info code point; the message may still be
// compressed (RFC 8879) after that. The client restores the certificates
// from its store before it parses and verifies the chain. Both
// transcripts hold the message as sent, so the server's CertificateVerify
// and both Finished messages bind exactly the digests that were used,
// and a restored chain is verified like any other.

// certObjects returns the CachedCertEach objects for the certificates
// known for the server name in chains of store type typ.
func certObjects(p *params.Params, typ uint8) []wire.CachedObject {
	var objs []wire.CachedObject
	for _, d := range p.KnownChains.CertDigests(p.ServerName, typ, wire.MaxCachedCerts) {
		objs = append(objs, wire.CachedObject{Type: wire.CachedCertEach, Hash: d})
	}
	return objs
}

// ownCachedObjects returns the objects this client offered in its
// extension of type ext, as it sent them.
func ownCachedObjects(ch *wire.ClientHello, ext uint16) []wire.CachedObject {
	for _, e := range ch.Unknown {
		if e.Type == ext {
			objs, err := wire.ParseClientCachedInfo(e.Data)
			if err == nil {
				return objs
			}
		}
	}
	return nil
}

// restoreCachedCerts puts back the certificates the server's
// Certificate (already inflated if it was compressed) names by digest.
// Only a digest this client offered restores; any other is
// illegal_parameter.
func (hs *clientHandshake) restoreCachedCerts(msg []byte) ([]byte, error) {
	offered := wire.CachedCertDigests(ownCachedObjects(hs.hello, hs.p.CachedInfo13))
	full, _, err := wire.RestoreCertificates13(msg, hs.p.CachedInfo13, func(d []byte) ([]byte, bool) {
		if !slices.Contains(offered, [32]byte(d)) {
			return nil, false
		}
		return hs.p.KnownChains.LookupCert(hs.p.ServerName, wire.CachedCert, d)
	})
	if err != nil {
		return nil, fmt.Errorf("restoring the certificates the server sent as digests: %w", err)
	}
	return full, nil
}

// ackCachedCerts, when the client does not hold this server's whole
// Certificate message but holds some of its certificates, prepares the
// message with those certificates as digests (hs.certParts) and
// acknowledges type 224 in ee.
func (hs *serverHandshake) ackCachedCerts(ee *wire.EncryptedExtensions) error {
	if hs.p.CachedInfo13 == 0 || hs.certCached {
		return nil
	}
	held := wire.CachedCertDigests(ownCachedObjects(hs.hello, hs.p.CachedInfo13))
	if len(held) == 0 {
		return nil
	}
	parts, n, err := wire.ElideCertificates13(hs.certMsg, hs.p.CachedInfo13, func(d *[32]byte) bool { return slices.Contains(held, *d) })
	if err != nil {
		return fmt.Errorf("replacing the certificates the client holds by their digests: %w", err)
	}
	if n == 0 {
		return nil
	}
	body, err := wire.MarshalServerCachedInfo([]uint8{wire.CachedCertEach})
	if err != nil {
		return err
	}
	hs.certParts = parts
	ee.Unknown = append(ee.Unknown, wire.Extension{Type: hs.p.CachedInfo13, Data: body})
	return nil
}

// takeCachedCertsAck records an EncryptedExtensions answer of type 224,
// which only a client that offered certificates one by one may accept.
func (hs *clientHandshake) takeCachedCertsAck(types []uint8) error {
	if len(types) != 1 || types[0] != wire.CachedCertEach {
		return fmt.Errorf("EncryptedExtensions answers cached info with types %v; only one of the offered types (1 or 224) may be: %w", types, alert.ErrIllegalParameter)
	}
	if len(wire.CachedCertDigests(ownCachedObjects(hs.hello, hs.p.CachedInfo13))) == 0 {
		return fmt.Errorf("EncryptedExtensions answers cached info with type 224, which the client did not offer: %w", alert.ErrIllegalParameter)
	}
	hs.certsCached = true
	return nil
}

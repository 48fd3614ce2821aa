package tls13

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Cached information in TLS 1.3, a Holdfast extension: RFC 7924's
// structures under the private-use code point p.CachedInfo13. A client
// names the server Certificate messages it kept from completed handshakes
// by their SHA-256; a server whose Certificate message is one of them
// acknowledges in EncryptedExtensions and sends the digest in its place.
// The digest form is what both transcripts hold, and the server's
// CertificateVerify signs that transcript, so the chain stays bound to
// the handshake: a digest the client does not hold, or that names
// another chain, cannot verify. The client still verifies the chain it
// restores (from the verified-chain cache when it can).

// offerCachedInfo adds the digests of the Certificate messages known for
// the server name to ch.
func (hs *clientHandshake) offerCachedInfo(ch *wire.ClientHello) error {
	if hs.p.CachedInfo13 == 0 {
		return nil
	}
	digests := hs.p.KnownChains.Digests(hs.p.ServerName, wire.CachedCert)
	if len(digests) == 0 {
		return nil
	}
	objs := make([]wire.CachedObject, len(digests))
	for i, d := range digests {
		objs[i] = wire.CachedObject{Type: wire.CachedCert, Hash: d}
	}
	objs = append(objs, certObjects(hs.p, wire.CachedCert)...) // one by one (cachedinfo_certs.go)
	body, err := wire.MarshalClientCachedInfo(objs)
	if err != nil {
		return err
	}
	ch.Unknown = append(ch.Unknown, wire.Extension{Type: hs.p.CachedInfo13, Data: body})
	return nil
}

// offerCachedInfo12 adds RFC 7924 cached_info for TLS 1.2: the digests of
// the TLS 1.2 Certificate and CertificateRequest messages known for the
// server name.
func (hs *clientHandshake) offerCachedInfo12(ch *wire.ClientHello) error {
	if !hs.p.OfferCachedInfo12 {
		return nil
	}
	var objs []wire.CachedObject
	for _, typ := range []uint8{wire.CachedCert, wire.CachedCertReq} {
		for _, d := range hs.p.KnownChains.Digests(hs.p.ServerName, typ|params.KnownTLS12) {
			objs = append(objs, wire.CachedObject{Type: typ, Hash: d})
		}
	}
	objs = append(objs, certObjects(hs.p, wire.CachedCert|params.KnownTLS12)...) // one by one (cachedinfo_certs.go)
	if len(objs) == 0 {
		return nil
	}
	body, err := wire.MarshalClientCachedInfo(objs)
	if err != nil {
		return err
	}
	ch.Unknown = append(ch.Unknown, wire.Extension{Type: wire.ExtCachedInfo, Data: body})
	return nil
}

// takeCachedInfoAck removes the server's cached-info answer from ee, if
// there is one, and records it. The server may answer only with the
// 'cert' type (1) or, if this client offered certificates one by one,
// with type 224, and only if this client offered digests.
func (hs *clientHandshake) takeCachedInfoAck(ee *wire.EncryptedExtensions) error {
	if hs.p.CachedInfo13 == 0 {
		return nil
	}
	for i, e := range ee.Unknown {
		if e.Type != hs.p.CachedInfo13 {
			continue
		}
		if !offered(hs.hello, hs.p.CachedInfo13) {
			return nil // left in Unknown: unsupported_extension
		}
		types, err := wire.ParseServerCachedInfo(e.Data)
		if err != nil {
			return fmt.Errorf("EncryptedExtensions: %w", err)
		}
		if len(types) == 1 && types[0] == wire.CachedCert {
			hs.certCached = true
		} else if err := hs.takeCachedCertsAck(types); err != nil {
			return err
		}
		ee.Unknown = append(ee.Unknown[:i:i], ee.Unknown[i+1:]...)
		return nil
	}
	return nil
}

func offered(ch *wire.ClientHello, typ uint16) bool {
	for _, e := range ch.Unknown {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// restoreCachedCertificate turns the server's digest-form Certificate
// into the Certificate message this client holds for it.
func (hs *clientHandshake) restoreCachedCertificate(msg []byte) ([]byte, error) {
	digest, err := wire.ParseCachedMessage(msg, wire.TypeCertificate)
	if err != nil {
		return nil, fmt.Errorf("parsing the server's cached-info Certificate: %w", err)
	}
	full, ok := hs.p.KnownChains.Lookup(hs.p.ServerName, wire.CachedCert, digest)
	if !ok {
		return nil, fmt.Errorf("server's cached-info Certificate names a chain this client did not offer: %w", alert.ErrIllegalParameter)
	}
	return full, nil
}

// cachedInfoHit reports whether the client offered the digest of
// certMsg, the Certificate message this server would send.
func (hs *serverHandshake) cachedInfoHit(certMsg []byte) (bool, error) {
	if hs.p.CachedInfo13 == 0 {
		return false, nil
	}
	for _, e := range hs.hello.Unknown {
		if e.Type != hs.p.CachedInfo13 {
			continue
		}
		objs, err := wire.ParseClientCachedInfo(e.Data)
		if err != nil {
			return false, fmt.Errorf("ClientHello: %w", err)
		}
		digest := sha256.Sum256(certMsg)
		for _, o := range objs {
			if o.Type == wire.CachedCert && subtle.ConstantTimeCompare(o.Hash, digest[:]) == 1 {
				return true, nil
			}
		}
	}
	return false, nil
}

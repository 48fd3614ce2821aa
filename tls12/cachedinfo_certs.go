package tls12

import (
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Cached certificates one by one in TLS 1.2 (cached_info type 224, a
// Holdfast type in RFC 7924's private-use range; the encoding is in
// wire/cached_certs.go). A client with Config.CachedCertificates names,
// beside whole messages, each certificate it holds for the server. A
// server that also has CachedCertificates on (a private-use type, so
// both ends opt in) and whose Certificate message the client does not
// hold whole, but some of whose certificates it does, answers type 224
// and sends its Certificate with those certificates as 33-byte digest
// elements. The client restores them before it parses and verifies the
// chain; the transcript holds the message as sent, so both Finished
// messages bind the digests used.

// cachedCertHits adds type 224 to hits when the client offered some of
// this server's certificates one by one and not its whole Certificate
// message, and keeps the message to send in hs.certParts.
func (hs *serverHandshake) cachedCertHits(hits []uint8, offered []wire.CachedObject, certMsg []byte) ([]uint8, error) {
	if hs.p.CachedInfo13 == 0 || slices.Contains(hits, wire.CachedCert) {
		return hits, nil // CachedInfo13 is set exactly when CachedCertificates is on
	}
	held := wire.CachedCertDigests(offered)
	if len(held) == 0 {
		return hits, nil
	}
	parts, n, err := wire.ElideCertificates12(certMsg, func(d *[32]byte) bool { return slices.Contains(held, *d) })
	if err != nil {
		return nil, fmt.Errorf("replacing the certificates the client holds by their digests: %w", err)
	}
	if n == 0 {
		return hits, nil
	}
	hs.certParts = parts
	return append(hits, wire.CachedCertEach), nil
}

// restoreCerts puts back the certificates the server's Certificate names
// by digest; only a digest this client offered restores, any other is
// illegal_parameter.
func (hs *clientHandshake) restoreCerts(msg []byte) ([]byte, error) {
	objs, _ := offeredCachedTypes(hs.hello)
	offered := wire.CachedCertDigests(objs)
	full, _, err := wire.RestoreCertificates12(msg, func(d []byte) ([]byte, bool) {
		if !slices.Contains(offered, [32]byte(d)) {
			return nil, false
		}
		return hs.p.KnownChains.LookupCert(hs.p.ServerName, wire.CachedCert|params.KnownTLS12, d)
	})
	if err != nil {
		return nil, fmt.Errorf("restoring the certificates the server sent as digests: %w", err)
	}
	return full, nil
}

// checkCachedCertsAck refuses an answer that names both the whole
// Certificate (type 1) and its certificates one by one (type 224): the
// message can take only one form.
func (hs *clientHandshake) checkCachedCertsAck() error {
	if hs.certCached && hs.certsCached {
		return fmt.Errorf("ServerHello cached_info names both the Certificate (1) and its certificates (224): %w", alert.ErrIllegalParameter)
	}
	return nil
}

package tls12

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Cached information (RFC 7924). A client that holds the server's
// Certificate and CertificateRequest messages from an earlier completed
// handshake names them by SHA-256 in cached_info; a server whose messages
// are those answers with the types in its ServerHello and sends each
// message's digest in its place. The transcript, and so both Finished
// messages and the ServerKeyExchange signature's binding to the
// handshake, hold the digest forms: a client that accepted a digest for a
// chain it does not hold would fail at the server's Finished, and the
// client verifies the chain it restores like any other.

// rawMessage is a handshake message already encoded.
type rawMessage []byte

func (r rawMessage) Marshal() ([]byte, error) { return r, nil }

// digestForm is the RFC 7924 replacement of msg: its type, and its
// SHA-256 as the body.
func digestForm(msg []byte) (rawMessage, error) {
	d := sha256.Sum256(msg)
	raw, err := wire.MarshalCachedMessage(msg[0], d[:])
	return rawMessage(raw), err
}

// cachedInfoHits returns the types whose message (certMsg; reqMsg, nil
// when no certificate is requested) the client says it holds.
func (hs *serverHandshake) cachedInfoHits(certMsg, reqMsg []byte) ([]uint8, error) {
	if !hs.p.ServeCachedInfo12 || hs.resumed {
		return nil, nil
	}
	for _, e := range hs.hello.Unknown {
		if e.Type != wire.ExtCachedInfo {
			continue
		}
		objs, err := wire.ParseClientCachedInfo(e.Data)
		if err != nil {
			return nil, fmt.Errorf("ClientHello: %w", err)
		}
		var hits []uint8
		for _, c := range []struct {
			typ uint8
			msg []byte
		}{{wire.CachedCert, certMsg}, {wire.CachedCertReq, reqMsg}} {
			if c.msg == nil {
				continue
			}
			d := sha256.Sum256(c.msg)
			if slices.ContainsFunc(objs, func(o wire.CachedObject) bool {
				return o.Type == c.typ && subtle.ConstantTimeCompare(o.Hash, d[:]) == 1
			}) {
				hits = append(hits, c.typ)
			}
		}
		return hs.cachedCertHits(hits, objs, certMsg) // one by one (cachedinfo_certs.go)
	}
	return nil, nil
}

// offeredCachedTypes lists the cached-info types the ClientHello named.
func offeredCachedTypes(ch *wire.ClientHello) ([]wire.CachedObject, bool) {
	for _, e := range ch.Unknown {
		if e.Type == wire.ExtCachedInfo {
			objs, err := wire.ParseClientCachedInfo(e.Data)
			return objs, err == nil
		}
	}
	return nil, false
}

// takeCachedInfo removes the server's cached_info answer from sh, checking
// that it names only types this client offered.
func (hs *clientHandshake) takeCachedInfo(sh *wire.ServerHello) error {
	for i, e := range sh.Unknown {
		if e.Type != wire.ExtCachedInfo {
			continue
		}
		offered, ok := offeredCachedTypes(hs.hello)
		if !ok {
			return nil // left in Unknown: unsupported_extension
		}
		types, err := wire.ParseServerCachedInfo(e.Data)
		if err != nil {
			return fmt.Errorf("ServerHello: %w", err)
		}
		for _, t := range types {
			if !slices.ContainsFunc(offered, func(o wire.CachedObject) bool { return o.Type == t }) {
				return fmt.Errorf("ServerHello cached_info names type %d, which the client did not offer: %w", t, alert.ErrIllegalParameter)
			}
			switch t {
			case wire.CachedCert:
				hs.certCached = true
			case wire.CachedCertReq:
				hs.reqCached = true
			case wire.CachedCertEach:
				hs.certsCached = true
			}
		}
		if err := hs.checkCachedCertsAck(); err != nil {
			return err
		}
		sh.Unknown = append(sh.Unknown[:i:i], sh.Unknown[i+1:]...)
		return nil
	}
	return nil
}

// restore turns a digest-form message of cached-info type typ into the
// message this client holds for it.
func (hs *clientHandshake) restore(msg []byte, typ uint8, name string) ([]byte, error) {
	if len(msg) == 0 || msg[0] != wireType(typ) {
		return nil, fmt.Errorf("expected the digest form of %s: %w", name, alert.ErrUnexpectedMessage)
	}
	d, err := wire.ParseCachedMessage(msg, msg[0])
	if err != nil {
		return nil, fmt.Errorf("parsing the digest form of %s: %w", name, err)
	}
	full, ok := hs.p.KnownChains.Lookup(hs.p.ServerName, typ|params.KnownTLS12, d)
	if !ok {
		return nil, fmt.Errorf("server's digest-form %s names a message this client did not offer: %w", name, alert.ErrIllegalParameter)
	}
	return full, nil
}

func wireType(cachedType uint8) uint8 {
	if cachedType == wire.CachedCertReq {
		return wire.TypeCertificateRequest
	}
	return wire.TypeCertificate
}

// rememberServerMessages keeps the server's Certificate and
// CertificateRequest after the handshake finished, for cached_info.
func (hs *clientHandshake) rememberServerMessages() {
	if !hs.p.OfferCachedInfo12 {
		return
	}
	if hs.certMsg != nil {
		hs.p.KnownChains.Add(hs.p.ServerName, wire.CachedCert|params.KnownTLS12, hs.certMsg, hs.state.PeerCertificates...)
	}
	if hs.certReq != nil {
		hs.p.KnownChains.Add(hs.p.ServerName, wire.CachedCertReq|params.KnownTLS12, hs.certReq.Raw)
	}
}

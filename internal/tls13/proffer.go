package tls13

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// The proffered client certificate, a Holdfast extension for TLS 1.3 under
// the private-use code point p.ProfferedCert (the second seed's idea:
// the client names its certificate early, the server caches it). The
// client lists in its ClientHello the SHA-256 digests of the Certificate
// messages it may send (RFC 7924's CachedObject list, type 1); the server
// answers in its CertificateRequest with those it holds from earlier
// completed handshakes, and the client then sends the digest in place of
// the chain. Both transcripts hold the digest form, which the client's
// CertificateVerify signs. The server holds only chains whose handshake
// finished, and re-verifies what it restores (the verified-chain cache
// makes that cheap), so a digest is never trusted for more than the chain
// it names. The digests travel in the clear, so they identify the client
// to anyone watching: off unless both ends opt in.

// maxProffered bounds how many of its certificates a client proffers.
const maxProffered = 4 // per version offered

// clientCertificateMessage is the Certificate message a client sends for
// c (nil: no certificate) under request context reqCtx.
func clientCertificateMessage(reqCtx []byte, c *Certificate) ([]byte, error) {
	cm := &wire.Certificate{RequestContext: reqCtx}
	if c != nil {
		for _, der := range c.Chain {
			cm.Entries = append(cm.Entries, wire.CertificateEntry{Data: der})
		}
	}
	return cm.Marshal()
}

// offerProfferedCert adds the digests of this client's Certificate
// messages to ch: the TLS 1.3 form when it offers TLS 1.3, the TLS 1.2
// form (which tls12 holds and compares) when it offers TLS 1.2.
func (hs *clientHandshake) offerProfferedCert(ch *wire.ClientHello, offer13, offer12 bool) error {
	if hs.p.ProfferedCert == 0 || len(hs.p.ClientCertificates) == 0 {
		return nil
	}
	var objs []wire.CachedObject
	add := func(raw []byte, err error) error {
		if err != nil {
			return err
		}
		d := sha256.Sum256(raw)
		objs = append(objs, wire.CachedObject{Type: wire.CachedCert, Hash: d[:]})
		return nil
	}
	for _, c := range hs.p.ClientCertificates[:min(maxProffered, len(hs.p.ClientCertificates))] {
		if offer13 {
			if err := add(clientCertificateMessage(nil, c)); err != nil {
				return err
			}
		}
		if offer12 {
			if err := add((&wire.Certificate12{Certificates: c.Chain}).Marshal()); err != nil {
				return err
			}
		}
	}
	body, err := wire.MarshalClientCachedInfo(objs)
	if err != nil {
		return err
	}
	ch.Unknown = append(ch.Unknown, wire.Extension{Type: hs.p.ProfferedCert, Data: body})
	return nil
}

// serverHolds returns the digests the server's CertificateRequest says it
// holds, if this client proffered any. A list naming a digest the client
// did not proffer is illegal_parameter.
func (hs *clientHandshake) serverHolds(req *wire.CertificateRequest) ([][]byte, error) {
	if hs.p.ProfferedCert == 0 {
		return nil, nil
	}
	var mine []wire.CachedObject
	for _, e := range hs.hello.Unknown {
		if e.Type == hs.p.ProfferedCert {
			var err error
			if mine, err = wire.ParseClientCachedInfo(e.Data); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range req.Unknown {
		if e.Type != hs.p.ProfferedCert || mine == nil {
			continue // an extension a client does not know is ignored (RFC 8446 §4.3.2)
		}
		held, err := wire.ParseClientCachedInfo(e.Data)
		if err != nil {
			return nil, fmt.Errorf("CertificateRequest: %w", err)
		}
		var out [][]byte
		for _, h := range held {
			if h.Type != wire.CachedCert || !containsDigest(mine, h.Hash) {
				return nil, fmt.Errorf("CertificateRequest says the server holds a certificate this client did not proffer: %w", alert.ErrIllegalParameter)
			}
			out = append(out, h.Hash)
		}
		return out, nil
	}
	return nil, nil
}

func containsDigest(objs []wire.CachedObject, d []byte) bool {
	for _, o := range objs {
		if subtle.ConstantTimeCompare(o.Hash, d) == 1 {
			return true
		}
	}
	return false
}

// profferedHeld returns the CertificateRequest extension naming the
// client's proffered digests this server holds, or nil.
func (hs *serverHandshake) profferedHeld() (*wire.Extension, error) {
	if hs.p.ProfferedCert == 0 {
		return nil, nil
	}
	for _, e := range hs.hello.Unknown {
		if e.Type != hs.p.ProfferedCert {
			continue
		}
		objs, err := wire.ParseClientCachedInfo(e.Data)
		if err != nil {
			return nil, fmt.Errorf("ClientHello: %w", err)
		}
		// The messages are taken now, so that one evicted before the
		// client's Certificate arrives is still at hand.
		var held []wire.CachedObject
		for _, o := range objs[:min(maxProffered, len(objs))] {
			if msg, ok := hs.p.HeldChains.Lookup(o.Hash); ok && o.Type == wire.CachedCert {
				held = append(held, o)
				hs.heldMsgs = append(hs.heldMsgs, msg)
			}
		}
		if len(held) == 0 {
			return nil, nil
		}
		hs.heldListed = held
		body, err := wire.MarshalClientCachedInfo(held)
		if err != nil {
			return nil, err
		}
		return &wire.Extension{Type: hs.p.ProfferedCert, Data: body}, nil
	}
	return nil, nil
}

// restoreProfferedCert turns a client Certificate in digest form (its
// body starts with the digest's non-zero length, where a handshake
// Certificate's starts with its empty request context) into the message
// the server holds. It returns msg unchanged when it is a full
// Certificate.
func (hs *serverHandshake) restoreProfferedCert(msg []byte) ([]byte, error) {
	if len(hs.heldListed) == 0 || len(msg) <= wire.HeaderLen || msg[0] != wire.TypeCertificate || msg[wire.HeaderLen] == 0 {
		return msg, nil
	}
	d, err := wire.ParseCachedMessage(msg, wire.TypeCertificate)
	if err != nil {
		return nil, fmt.Errorf("parsing the client's digest-form Certificate: %w", err)
	}
	for i, o := range hs.heldListed {
		if subtle.ConstantTimeCompare(o.Hash, d) == 1 {
			return hs.heldMsgs[i], nil
		}
	}
	return nil, fmt.Errorf("client's digest-form Certificate names a chain the server did not list: %w", alert.ErrIllegalParameter)
}

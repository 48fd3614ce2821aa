package tls12

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// The proffered client certificate in TLS 1.2 (a Holdfast extension under
// the private-use code point p.ProfferedCert, shared with TLS 1.3): the
// client lists in its ClientHello the SHA-256 of the Certificate messages
// it may send; a server asking for a certificate answers in its
// ServerHello with those it holds from earlier finished handshakes
// (TLS 1.2 has no extensions in CertificateRequest), and the client then
// sends the digest of one of them in place of its Certificate. A
// Certificate12 body starts with the top byte of a 24-bit length, 0 for
// anything under 64 KiB, where the digest form starts with 32: the server
// tells them apart by that byte. The server verifies what it restores
// like any chain, and the client's CertificateVerify signs the digest
// form in the transcript.

// heldByServer is what a server found of the client's proffer.
type heldByServer struct {
	listed []wire.CachedObject // digests the server holds, as sent
	msgs   [][]byte            // the Certificate messages, in order
}

// agreeProffer answers the client's proffer in sh with the digests this
// server holds, when it asks for a client certificate.
func (hs *serverHandshake) agreeProffer(sh *wire.ServerHello) error {
	if hs.p.ProfferedCert == 0 || hs.p.ClientAuth == 0 || hs.resumed {
		return nil
	}
	i := slices.IndexFunc(hs.hello.Unknown, func(e wire.Extension) bool { return e.Type == hs.p.ProfferedCert })
	if i < 0 {
		return nil
	}
	objs, err := wire.ParseClientCachedInfo(hs.hello.Unknown[i].Data)
	if err != nil {
		return fmt.Errorf("ClientHello: %w", err)
	}
	for _, o := range objs[:min(8, len(objs))] {
		if msg, ok := hs.p.HeldChains.Lookup(o.Hash); ok && o.Type == wire.CachedCert && len(msg) > 0 && msg[0] == wire.TypeCertificate {
			// Only TLS 1.2 messages: a TLS 1.3 Certificate has a request
			// context byte first.
			if _, err := wire.ParseCertificate12(msg); err == nil {
				hs.held.listed = append(hs.held.listed, o)
				hs.held.msgs = append(hs.held.msgs, msg)
			}
		}
	}
	if len(hs.held.listed) == 0 {
		return nil
	}
	body, err := wire.MarshalClientCachedInfo(hs.held.listed)
	if err != nil {
		return err
	}
	sh.Unknown = append(sh.Unknown, wire.Extension{Type: hs.p.ProfferedCert, Data: body})
	return nil
}

// restoreProffered turns a digest-form client Certificate into the message
// the server holds; a full Certificate passes through.
func (hs *serverHandshake) restoreProffered(msg []byte) ([]byte, error) {
	if len(hs.held.listed) == 0 || len(msg) <= wire.HeaderLen || msg[0] != wire.TypeCertificate || msg[wire.HeaderLen] == 0 {
		return msg, nil
	}
	d, err := wire.ParseCachedMessage(msg, wire.TypeCertificate)
	if err != nil {
		return nil, fmt.Errorf("parsing the client's digest-form Certificate: %w", err)
	}
	for i, o := range hs.held.listed {
		if subtle.ConstantTimeCompare(o.Hash, d) == 1 {
			return hs.held.msgs[i], nil
		}
	}
	return nil, fmt.Errorf("client's digest-form Certificate names a chain the server did not list: %w", alert.ErrIllegalParameter)
}

// takeProffer reads the server's answer to this client's proffer: the
// digests it holds, each one this client offered.
func (hs *clientHandshake) takeProffer(sh *wire.ServerHello) error {
	cp := hs.p.ProfferedCert
	i := slices.IndexFunc(sh.Unknown, func(e wire.Extension) bool { return cp != 0 && e.Type == cp })
	if i < 0 {
		return nil
	}
	j := slices.IndexFunc(hs.hello.Unknown, func(e wire.Extension) bool { return e.Type == cp })
	if j < 0 {
		return nil // left in Unknown: unsupported_extension
	}
	mine, err := wire.ParseClientCachedInfo(hs.hello.Unknown[j].Data)
	if err != nil {
		return err
	}
	held, err := wire.ParseClientCachedInfo(sh.Unknown[i].Data)
	if err != nil {
		return fmt.Errorf("ServerHello: %w", err)
	}
	for _, h := range held {
		if h.Type != wire.CachedCert || !slices.ContainsFunc(mine, func(o wire.CachedObject) bool { return subtle.ConstantTimeCompare(o.Hash, h.Hash) == 1 }) {
			return fmt.Errorf("ServerHello says the server holds a certificate this client did not proffer: %w", alert.ErrIllegalParameter)
		}
		hs.serverHolds = append(hs.serverHolds, h.Hash)
	}
	sh.Unknown = append(sh.Unknown[:i:i], sh.Unknown[i+1:]...)
	return nil
}

// certificateForServer is the Certificate (or its digest form, when the
// server holds it) for the client's chosen chain.
func (hs *clientHandshake) certificateForServer(chain [][]byte) (rawMessage, error) {
	raw, err := (&wire.Certificate12{Certificates: chain}).Marshal()
	if err != nil {
		return nil, err
	}
	d := sha256.Sum256(raw)
	if len(chain) > 0 && slices.ContainsFunc(hs.serverHolds, func(h []byte) bool { return subtle.ConstantTimeCompare(h, d[:]) == 1 }) {
		return digestForm(raw)
	}
	return rawMessage(raw), nil
}

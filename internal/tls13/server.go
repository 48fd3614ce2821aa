package tls13

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"slices"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/session"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// serverHandshake is the server's side of one TLS 1.3 handshake. Its
// fields are filled in message order; secrets are freed as soon as the
// schedule moves past them and, on any failure, by free().
type serverHandshake struct {
	p  *Params
	tr Transport

	hello      *wire.ClientHello
	suite      Suite
	group      kex.Group
	cert       *Certificate
	scheme     sigscheme.Scheme
	alpn       string
	certMsg    []byte              // the Certificate message, built before EncryptedExtensions
	certCached bool                // the client holds certMsg: send its digest (cached info)
	certParts  []byte              // certMsg with the certificates the client holds as digests (type 224)
	heldListed []wire.CachedObject // proffered client chains this server holds
	heldMsgs   [][]byte            // their Certificate messages, in order
	clientMsg  []byte              // the client's Certificate message, in full
	didHRR     bool
	transcript transcript

	shared      *mem.Secret
	serverShare []byte
	preCH       hash.Hash // transcript before the latest ClientHello, for PSK binders
	resumed     *session.State
	early       *hkdf.EarlySecret
	pskIndex    int
	pskOnly     bool
	master      *hkdf.MasterSecret // kept for the resumption secret
	hs          *hkdf.HandshakeSecret
	clientHS    *mem.Secret
	serverHS    *mem.Secret
	state       State
}

// ServerHandshake runs the server side of a TLS 1.3 handshake whose
// ClientHello has already been read and parsed (the connection reads it to
// choose between TLS 1.3 and TLS 1.2). On success the State's secrets
// belong to the caller.
func ServerHandshake(ctx context.Context, p *Params, tr Transport, hello *wire.ClientHello) (*State, error) {
	hs := &serverHandshake{p: p, tr: tr, hello: hello}
	defer hs.free()
	if err := hs.handshake(ctx); err != nil {
		hs.state.Free()
		return nil, err
	}
	st := hs.state
	return &st, nil
}

// handshake follows RFC 8446 §2, Figure 1, from the server's side.
func (hs *serverHandshake) handshake(ctx context.Context) error {
	if err := hs.processClientHello(ctx); err != nil {
		return err
	}
	if err := hs.sendServerHello(); err != nil {
		return err
	}
	if err := hs.sendEncryptedExtensions(); err != nil {
		return err
	}
	if hs.resumed == nil { // a PSK authenticates a resumed handshake
		if err := hs.sendCertificateRequest(); err != nil {
			return err
		}
		if err := hs.sendCertificate(); err != nil {
			return err
		}
		if err := hs.sendCertificateVerify(ctx); err != nil {
			return err
		}
	}
	if err := hs.sendFinished(); err != nil {
		return err
	}
	if hs.resumed == nil {
		if err := hs.readClientCertificate(ctx); err != nil {
			return err
		}
	}
	if err := hs.readClientFinished(ctx); err != nil {
		return err
	}
	// The client's Finished completes a handshake in which its chain was
	// verified: only now may the chain be held for proffered certificates.
	if hs.clientMsg != nil && len(hs.state.VerifiedChains) > 0 && hs.p.ProfferedCert != 0 {
		hs.p.HeldChains.Add(hs.clientMsg)
	}
	return hs.sendTickets()
}

func (hs *serverHandshake) free() {
	hs.resumed.Free()
	hs.early.Free()
	hs.master.Free()
	hs.shared.Free()
	hs.hs.Free()
	hs.clientHS.Free()
	hs.serverHS.Free()
}

// processClientHello negotiates the suite, group, certificate, signature
// scheme and ALPN (RFC 8446 §4.1.1), asking for a new ClientHello once if
// the client sent no share for a group both sides support.
func (hs *serverHandshake) processClientHello(ctx context.Context) error {
	ch := hs.hello
	if !isOneOf(uint16(0x0304), ch.SupportedVersions) {
		return fmt.Errorf("client does not offer TLS 1.3: %w", alert.ErrProtocolVersion)
	}
	if len(ch.CompressionMethods) != 1 || ch.CompressionMethods[0] != 0 {
		return fmt.Errorf("TLS 1.3 ClientHello with compression methods %v: %w", ch.CompressionMethods, alert.ErrIllegalParameter)
	}
	var ok bool
	for _, id := range hs.p.Suites {
		if isOneOf(id, ch.CipherSuites) {
			hs.suite, ok = SuiteByID(id)
			break
		}
	}
	if !ok {
		return fmt.Errorf("no cipher suite in common (client offered %#04x): %w", ch.CipherSuites, alert.ErrHandshakeFailure)
	}
	hs.transcript.start(hs.suite.Hash)
	hs.preCH = hs.transcript.fork()
	hs.transcript.add(ch.Raw)

	if len(ch.SignatureAlgorithms) == 0 {
		return fmt.Errorf("ClientHello without signature_algorithms: %w", alert.ErrMissingExtension)
	}
	if err := hs.pickCertificate(); err != nil {
		return err
	}
	if err := hs.pickALPN(); err != nil {
		return err
	}
	if hs.pskOnlyOffer() {
		// psk_ke (opt-in): a resumed handshake needs no key share, so
		// try the tickets before asking for one.
		hs.pskOnly = true
		if err := hs.tryResume(hs.preCH); err != nil {
			return err
		}
		if hs.resumed != nil {
			return nil
		}
		hs.pskOnly = false
	}
	share, err := hs.pickGroup()
	if err != nil {
		return err
	}
	if share == nil {
		if err := hs.sendHelloRetryRequest(); err != nil {
			return err
		}
		if share, err = hs.readSecondClientHello(ctx); err != nil {
			return err
		}
	}
	if err := hs.tryResume(hs.preCH); err != nil {
		return err
	}
	serverShare, shared, err := kex.Respond(hs.group, share)
	if err != nil {
		return err
	}
	hs.shared = shared
	hs.serverShare = serverShare
	return nil
}

// pickGroup returns the client's share for the most preferred group that
// the client sent one for, or nil with hs.group set to the group a
// HelloRetryRequest should ask for.
func (hs *serverHandshake) pickGroup() ([]byte, error) {
	ch := hs.hello
	for _, g := range hs.p.Groups {
		for _, ks := range ch.KeyShares {
			if kex.Group(ks.Group) == g && isOneOf(uint16(g), ch.SupportedGroups) {
				hs.group = g
				return ks.Data, nil
			}
		}
	}
	for _, g := range hs.p.Groups {
		if isOneOf(uint16(g), ch.SupportedGroups) {
			hs.group = g
			return nil, nil
		}
	}
	return nil, fmt.Errorf("no key exchange group in common (client offered %#04x): %w", ch.SupportedGroups, alert.ErrHandshakeFailure)
}

// pickCertificate chooses the chain for the requested server name and a
// signature scheme its key can make and the client accepts.
func (hs *serverHandshake) pickCertificate() error {
	if len(hs.p.Certificates) == 0 {
		return fmt.Errorf("server has no certificate configured: %w", alert.ErrHandshakeFailure)
	}
	ch := hs.hello
	candidates := hs.p.Certificates
	if ch.ServerName != "" {
		var named []*Certificate
		for _, c := range candidates {
			if c.Leaf != nil && c.Leaf.VerifyHostname(ch.ServerName) == nil {
				named = append(named, c)
			}
		}
		if len(named) > 0 {
			candidates = named
		}
	}
	// A client that names the CAs it trusts (RFC 8446 §4.2.4) gets a chain
	// under one of them first: a CA migration serves old and new chains
	// side by side. Without a match the configured order stands.
	if len(ch.CertificateAuthorities) > 0 {
		var under, rest []*Certificate
		for _, c := range candidates {
			if c.IssuedUnder(ch.CertificateAuthorities) {
				under = append(under, c)
			} else {
				rest = append(rest, c)
			}
		}
		candidates = append(under, rest...)
	}
	peer := toSchemes(ch.SignatureAlgorithms)
	var firstErr error
	for _, c := range candidates {
		scheme, err := sigscheme.Choose(sigscheme.VersionTLS13, c.CertKey(), peer, c.Schemes(sigscheme.VersionTLS13))
		if err == nil {
			hs.cert, hs.scheme = c, scheme
			hs.state.ServerName = ch.ServerName
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// CertificateFits reports whether a TLS 1.3 server with parameters p
// could serve cert to the client that sent hello: nil, or why not (no
// signature scheme both the key and the client accept).
func CertificateFits(p *Params, hello *wire.ClientHello, cert *Certificate) error {
	q := *p
	q.Certificates = []*Certificate{cert}
	hs := &serverHandshake{p: &q, hello: hello}
	return hs.pickCertificate()
}

func toSchemes(list []uint16) []sigscheme.Scheme {
	out := make([]sigscheme.Scheme, len(list))
	for i, v := range list {
		out[i] = sigscheme.Scheme(v)
	}
	return out
}

// pickALPN chooses the server's most preferred protocol the client offers
// (RFC 7301 §3.2); with protocols on both sides and none in common the
// handshake fails with no_application_protocol.
func (hs *serverHandshake) pickALPN() error {
	if len(hs.p.NextProtos) == 0 || len(hs.hello.ALPN) == 0 {
		return nil
	}
	for _, proto := range hs.p.NextProtos {
		if slices.Contains(hs.hello.ALPN, proto) {
			hs.alpn = proto
			return nil
		}
	}
	return fmt.Errorf("client offers ALPN %q, server supports %q: %w", hs.hello.ALPN, hs.p.NextProtos, alert.ErrNoApplicationProtocol)
}

// sendHelloRetryRequest asks for a share for hs.group (RFC 8446 §4.1.4).
func (hs *serverHandshake) sendHelloRetryRequest() error {
	hrr := &wire.ServerHello{
		Vers:             0x0303,
		Random:           wire.HelloRetryRequestRandom,
		SessionID:        hs.hello.SessionID,
		CipherSuite:      hs.suite.ID,
		SupportedVersion: 0x0304,
		HRRSelectedGroup: uint16(hs.group),
	}
	raw, err := hrr.Marshal()
	if err != nil {
		return err
	}
	hs.transcript.restartAfterRetry(hs.suite.Hash)
	hs.transcript.add(raw)
	if err := hs.tr.WriteHandshake(raw); err != nil {
		return err
	}
	if len(hs.hello.SessionID) > 0 {
		if err := hs.tr.WriteChangeCipherSpec(); err != nil {
			return err
		}
	}
	hs.didHRR = true
	return hs.tr.Flush()
}

// readSecondClientHello reads the ClientHello that answers a
// HelloRetryRequest and checks it changed only what §4.1.2 allows.
func (hs *serverHandshake) readSecondClientHello(ctx context.Context) ([]byte, error) {
	ch, err := expectMsg(ctx, hs.tr, wire.TypeClientHello, "second ClientHello", wire.ParseClientHello)
	if err != nil {
		return nil, err
	}
	first := hs.hello
	if len(ch.KeyShares) != 1 || kex.Group(ch.KeyShares[0].Group) != hs.group {
		return nil, fmt.Errorf("second ClientHello does not carry exactly one share for %v: %w", hs.group, alert.ErrIllegalParameter)
	}
	if !slices.Equal(ch.CipherSuites, first.CipherSuites) || !slices.Equal(ch.SessionID, first.SessionID) ||
		ch.ServerName != first.ServerName || !slices.Equal(ch.SupportedVersions, first.SupportedVersions) ||
		!slices.Equal(ch.ALPN, first.ALPN) || len(ch.Cookie) != 0 {
		return nil, fmt.Errorf("second ClientHello changed more than its key share: %w", alert.ErrIllegalParameter)
	}
	hs.hello = ch
	hs.preCH = hs.transcript.fork()
	hs.transcript.add(ch.Raw)
	return ch.KeyShares[0].Data, nil
}

// sendServerHello sends the ServerHello, derives the handshake secrets and
// switches both directions to the handshake keys (RFC 8446 §4.1.3, §7.1).
func (hs *serverHandshake) sendServerHello() error {
	sh := &wire.ServerHello{
		Vers:             0x0303,
		SessionID:        hs.hello.SessionID,
		CipherSuite:      hs.suite.ID,
		SupportedVersion: 0x0304,
		KeyShare:         wire.KeyShare{Group: uint16(hs.group), Data: hs.serverShare},
	}
	if hs.resumed != nil {
		sh.PSKSelected, sh.SelectedPSKIdentity = true, uint16(hs.pskIndex)
	}
	if hs.pskOnly {
		sh.KeyShare = wire.KeyShare{}
	}
	if _, err := io.ReadFull(hs.p.Rand, sh.Random[:]); err != nil {
		return fmt.Errorf("reading randomness: %w", err)
	}
	raw, err := sh.Marshal()
	if err != nil {
		return err
	}
	hs.transcript.add(raw)
	if err := hs.tr.WriteHandshake(raw); err != nil {
		return err
	}
	// Middlebox compatibility (RFC 8446 §D.4): a change_cipher_spec after
	// the first flight when the client sent a legacy session ID, unless
	// one already followed a HelloRetryRequest.
	if len(hs.hello.SessionID) > 0 && !hs.didHRR {
		if err := hs.tr.WriteChangeCipherSpec(); err != nil {
			return err
		}
	}

	hs.hs, hs.clientHS, hs.serverHS, err = deriveHandshakeSecrets(hs.p, hs.suite, hs.early, hs.shared, hs.transcript.sum(), hs.hello.Random[:])
	hs.early = nil
	hs.shared.Free()
	hs.shared = nil
	if err != nil {
		return err
	}
	w, err := NewProtection(hs.suite, hs.serverHS)
	if err != nil {
		return err
	}
	hs.tr.SetWriteProtection(w)
	r, err := NewProtection(hs.suite, hs.clientHS)
	if err != nil {
		return err
	}
	return hs.tr.SetReadProtection(r)
}

func (hs *serverHandshake) writeMsg(m interface{ Marshal() ([]byte, error) }) error {
	raw, err := m.Marshal()
	if err != nil {
		return err
	}
	hs.transcript.add(raw)
	return hs.tr.WriteHandshake(raw)
}

func (hs *serverHandshake) sendEncryptedExtensions() error {
	// Acknowledge the server name the certificate was chosen by (RFC 6066
	// §3); a resumed session keeps the name it was made for.
	ack := hs.hello.ServerName != "" && hs.resumed == nil
	ee := &wire.EncryptedExtensions{ALPN: hs.alpn, ServerNameAck: ack}
	if hs.resumed == nil {
		var err error
		if hs.certMsg, err = hs.certificateMessage(); err != nil {
			return err
		}
		if hs.certCached, err = hs.cachedInfoHit(hs.certMsg); err != nil {
			return err
		}
		if hs.certCached {
			body, err := wire.MarshalServerCachedInfo([]uint8{wire.CachedCert})
			if err != nil {
				return err
			}
			ee.Unknown = append(ee.Unknown, wire.Extension{Type: hs.p.CachedInfo13, Data: body})
		}
		if err := hs.ackCachedCerts(ee); err != nil {
			return err
		}
	}
	return hs.writeMsg(ee)
}

func (hs *serverHandshake) requestClientCert() bool { return hs.p.ClientAuth != NoClientCert }

func (hs *serverHandshake) sendCertificateRequest() error {
	if !hs.requestClientCert() {
		return nil
	}
	accepted := hs.p.Verifiable(sigscheme.VersionTLS13)
	if len(accepted) == 0 {
		// signature_algorithms<2..2^16-2> (RFC 8446 §4.3.2): with none a
		// client certificate could never be verified.
		return fmt.Errorf("VerifySignatureSchemes has no scheme TLS 1.3 allows, so no client certificate can be asked for: %w", alert.ErrHandshakeFailure)
	}
	req := &wire.CertificateRequest{
		SignatureAlgorithms:    fromSchemes(accepted),
		CertificateAuthorities: hs.p.ClientCANames(),
		CertCompression:        hs.p.CompressionAlgorithms(),
	}
	held, err := hs.profferedHeld()
	if err != nil {
		return err
	}
	if held != nil {
		req.Unknown = append(req.Unknown, *held)
	}
	return hs.writeMsg(req)
}

func fromSchemes(list []sigscheme.Scheme) []uint16 {
	out := make([]uint16, len(list))
	for i, v := range list {
		out[i] = uint16(v)
	}
	return out
}

// certificateMessage is the Certificate message for the chosen chain, in
// full and uncompressed.
func (hs *serverHandshake) certificateMessage() ([]byte, error) {
	msg := &wire.Certificate{Entries: hs.serverEntries()}
	return msg.Marshal()
}

func (hs *serverHandshake) sendCertificate() error {
	raw := hs.certMsg
	var err error
	switch {
	case hs.certCached:
		// The client holds this very message: its digest stands in.
		digest := sha256.Sum256(raw)
		raw, err = wire.MarshalCachedMessage(wire.TypeCertificate, digest[:])
	default:
		if hs.certParts != nil {
			raw = hs.certParts // some certificates as digests (cachedinfo_certs.go)
		}
		// RFC 8879: compressed with the first algorithm the client
		// offers that this server has.
		raw, err = certificateMessage(hs.p, hs.hello.CertCompression, raw)
	}
	if err != nil {
		return err
	}
	hs.transcript.add(raw)
	return hs.tr.WriteHandshake(raw)
}

// sendCertificateVerify signs the transcript through the key backend,
// passing it the handshake's context (RFC 8446 §4.4.3). The messages
// queued so far go out first: the client derives its handshake keys and
// checks the certificate chain in the time the signature takes (an HSM or
// TPM takes milliseconds), rather than after it. The signature is made on
// this goroutine: handing it to a new one, measured, made Go's scheduler
// wake the peer's reader up to a millisecond late on two cores.
func (hs *serverHandshake) sendCertificateVerify(ctx context.Context) error {
	if err := hs.tr.Flush(); err != nil {
		return err
	}
	sig, err := sigscheme.Sign(ctx, hs.cert.Signer, hs.scheme, signedContent(true, hs.transcript.sum()))
	if err != nil {
		return fmt.Errorf("signing CertificateVerify with %v: %w", hs.scheme, err)
	}
	return hs.writeMsg(&wire.CertificateVerify{Algorithm: uint16(hs.scheme), Signature: sig})
}

// sendFinished sends the server Finished, flushes the flight, and derives
// the master secret and the application traffic secrets.
func (hs *serverHandshake) sendFinished() error {
	verify, err := finishedMAC(hs.suite, hs.serverHS, hs.transcript.sum())
	if err != nil {
		return err
	}
	if err := hs.writeMsg(&wire.Finished{VerifyData: verify}); err != nil {
		return err
	}
	if err := hs.tr.Flush(); err != nil {
		return err
	}
	hs.master, err = deriveApplicationSecrets(hs.p, hs.hs, hs.transcript.sum(), hs.hello.Random[:], &hs.state)
	hs.hs = nil
	if err != nil {
		return err
	}
	st := &hs.state
	w, err := NewProtection(hs.suite, st.ServerTrafficSecret)
	if err != nil {
		return err
	}
	hs.tr.SetWriteProtection(w)
	return nil
}

// readClientCertificate reads the client's Certificate and
// CertificateVerify when one was requested (RFC 8446 §4.4.2, §4.4.3).
func (hs *serverHandshake) readClientCertificate(ctx context.Context) error {
	if !hs.requestClientCert() {
		return nil
	}
	// The transcript holds the message as sent: the CompressedCertificate
	// when the client compressed (RFC 8879 §4).
	sent, err := hs.tr.ReadHandshake(ctx)
	if err != nil {
		return err
	}
	msg, err := hs.restoreProfferedCert(sent)
	if err != nil {
		return err
	}
	if msg, err = readCertificateMessage(hs.p, hs.p.CompressionAlgorithms(), msg, "client"); err != nil {
		return err
	}
	cm, err := wire.ParseCertificate(msg)
	if err != nil {
		return fmt.Errorf("parsing client Certificate: %w", err)
	}
	if len(cm.RequestContext) != 0 {
		return fmt.Errorf("client Certificate with a request context: %w", alert.ErrIllegalParameter)
	}
	hs.transcript.add(sent)
	if _, err := checkEntryExtensions(cm.Entries, false); err != nil {
		return err
	}
	var raw [][]byte
	for _, e := range cm.Entries {
		raw = append(raw, e.Data)
	}
	if len(raw) == 0 {
		switch hs.p.ClientAuth {
		case RequireAnyClientCert, RequireAndVerifyClientCert:
			return fmt.Errorf("client sent no certificate: %w", alert.ErrCertificateRequired)
		}
		return nil
	}
	// Verified under the verifying policies; under the others only parsed,
	// and judged by the application's VerifyPeerCertificate, if any.
	certs, chains, err := params.VerifyChain(hs.p, raw, false)
	if err != nil {
		return err
	}
	hs.state.VerifiedChains = chains
	hs.state.PeerCertificates = certs
	hs.clientMsg = msg

	hs.state.PeerScheme, err = readCertificateVerify(ctx, hs.tr, &hs.transcript, certs[0], hs.p.Verifiable(sigscheme.VersionTLS13), false)
	return err
}

// readClientFinished checks the client's Finished and switches the read
// direction to the client's application keys.
func (hs *serverHandshake) readClientFinished(ctx context.Context) error {
	if err := readFinished(ctx, hs.tr, &hs.transcript, hs.suite, hs.clientHS, "client"); err != nil {
		return err
	}
	r, err := NewProtection(hs.suite, hs.state.ClientTrafficSecret)
	if err != nil {
		return err
	}
	if err := hs.tr.SetReadProtection(r); err != nil {
		return err
	}
	hs.state.Suite, hs.state.Group, hs.state.ALPN, hs.state.DidHRR = hs.suite, hs.group, hs.alpn, hs.didHRR
	hs.state.DidResume = hs.resumed != nil
	return nil
}

package tls13

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
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

// Downgrade sentinels (RFC 8446 §4.1.3).
var (
	downgrade12 = [8]byte{'D', 'O', 'W', 'N', 'G', 'R', 'D', 1}
	downgrade11 = [8]byte{'D', 'O', 'W', 'N', 'G', 'R', 'D', 0}
)

// FallbackTo12 is returned by ClientHandshake when the server answered
// with a TLS 1.2 ServerHello the client accepts: the TLS 1.2 engine takes
// over with the ClientHello sent and the ServerHello received.
type FallbackTo12 struct {
	Hello       *wire.ClientHello
	ServerHello *wire.ServerHello
	// Session is the TLS 1.2 session the ClientHello offered, if any;
	// it now belongs to the TLS 1.2 engine.
	Session *session.ClientTicket
}

func (*FallbackTo12) Error() string { return "tls13: server chose TLS 1.2" }

// clientHandshake is the client's side of one TLS 1.3 handshake.
type clientHandshake struct {
	p  *Params
	tr Transport

	hello      *wire.ClientHello
	shares     []*kex.Private
	server     *wire.ServerHello
	suite      Suite
	group      kex.Group
	didHRR     bool
	transcript transcript
	certReq    *wire.CertificateRequest
	certCached bool   // the server sends its Certificate's digest (cached info)
	certMsg    []byte // the server's Certificate message, in full

	certsCached bool // the server sends some certificates as digests (type 224)

	ticket      *session.ClientTicket // offered for resumption, used once
	ticket12    *session.ClientTicket // a TLS 1.2 session offered beside TLS 1.3
	ticketSuite Suite
	early       *hkdf.EarlySecret
	resumed     bool
	master      *hkdf.MasterSecret

	shared   *mem.Secret
	hs       *hkdf.HandshakeSecret
	clientHS *mem.Secret
	serverHS *mem.Secret
	state    State
}

// ClientHandshake runs the client side of a TLS 1.3 handshake. On
// success the State's secrets belong to the caller.
func ClientHandshake(ctx context.Context, p *Params, tr Transport) (*State, error) {
	hs := &clientHandshake{p: p, tr: tr}
	defer hs.free()
	if err := hs.handshake(ctx); err != nil {
		hs.state.Free()
		return nil, err
	}
	st := hs.state
	return &st, nil
}

// handshake follows RFC 8446 §2, Figure 1, from the client's side.
func (hs *clientHandshake) handshake(ctx context.Context) error {
	if err := hs.sendClientHello(); err != nil {
		return err
	}
	if err := hs.readServerHello(ctx); err != nil {
		return err
	}
	if err := hs.readEncryptedExtensions(ctx); err != nil {
		return err
	}
	if !hs.resumed { // a PSK authenticates a resumed handshake
		if err := hs.readCertificates(ctx); err != nil {
			return err
		}
	}
	if err := hs.readServerFinished(ctx); err != nil {
		return err
	}
	// The server's Finished authenticates the transcript: only now may
	// its chain be kept for cached info.
	if hs.certMsg != nil && !hs.certCached && hs.p.CachedInfo13 != 0 {
		hs.p.KnownChains.Add(hs.p.ServerName, wire.CachedCert, hs.certMsg, hs.state.PeerCertificates...)
	}
	return hs.sendClientFlight(ctx)
}

func (hs *clientHandshake) free() {
	for _, s := range hs.shares {
		s.Free()
	}
	hs.shares = nil
	hs.ticket.Free()
	hs.ticket12.Free()
	hs.early.Free()
	hs.master.Free()
	hs.shared.Free()
	hs.hs.Free()
	hs.clientHS.Free()
	hs.serverHS.Free()
}

// sendClientHello offers TLS 1.3 with key shares for the first groups
// (RFC 8446 §4.1.2).
func (hs *clientHandshake) sendClientHello() error {
	offer13 := hs.p.MaxVersion >= 0x0304
	offer12 := hs.p.MinVersion <= 0x0303
	ch := &wire.ClientHello{
		Vers:                0x0303,
		SessionID:           make([]byte, 32),
		CompressionMethods:  []byte{0},
		ServerName:          hs.p.SNIHostName(),
		SignatureAlgorithms: fromSchemes(hs.p.Verifiable(sigscheme.VersionTLS13)),
		ALPN:                hs.p.NextProtos,
		// status_request (RFC 6066 §8), answered in the leaf's
		// CertificateEntry in TLS 1.3, by CertificateStatus in TLS 1.2.
		StatusRequest: !hs.p.OCSPStaplingOff,
	}
	if offer13 {
		ch.CertCompression = hs.p.CompressionAlgorithms()
	}
	if hs.p.AnnounceCAs && hs.p.Roots != nil {
		//lint:ignore SA1019 Subjects is only unreliable for the system pool; Roots here is the caller's own pool.
		ch.CertificateAuthorities = hs.p.Roots.Subjects()
	}
	for _, g := range hs.p.Groups {
		if offer13 || g != kex.X25519MLKEM768 {
			ch.SupportedGroups = append(ch.SupportedGroups, uint16(g))
		}
	}
	if offer13 {
		ch.CipherSuites = append(ch.CipherSuites, hs.p.Suites...)
		ch.SupportedVersions = []uint16{0x0304}
	}
	if offer12 {
		// TLS 1.2 needs its own suites, the RSA PKCS#1 signatures some
		// TLS 1.2 servers still make, and the extensions this client
		// insists on there (RFC 7627, RFC 5746).
		ch.CipherSuites = append(ch.CipherSuites, hs.p.Suites12...)
		ch.SignatureAlgorithms = fromSchemes(hs.p.Verifiable(sigscheme.VersionTLS12))
		ch.ExtendedMasterSecret = true
		ch.EncryptThenMAC = true
		ch.SecureRenegotiationSupported = true
		ch.ECPointFormats = []byte{0}
		// trusted_ca_keys (RFC 6066 §6), TLS 1.2's certificate_authorities:
		// each CA by name and, when known, key hash.
		if hs.p.AnnounceCAs && len(hs.p.AnnouncedCAs) > 0 {
			ch.HasTrustedCAKeys = true
			for _, ca := range hs.p.AnnouncedCAs {
				ch.TrustedCAKeys = append(ch.TrustedCAKeys, wire.TrustedAuthority{Type: wire.CAX509Name, ID: ca.Name})
				if ca.KeySHA1 != nil {
					ch.TrustedCAKeys = append(ch.TrustedCAKeys, wire.TrustedAuthority{Type: wire.CAKeySHA1, ID: ca.KeySHA1})
				}
			}
		}
		if offer13 {
			ch.SupportedVersions = append(ch.SupportedVersions, 0x0303)
		}
	}
	// A random legacy session ID makes middleboxes treat the handshake
	// as TLS 1.2 resumption (RFC 8446 §D.4).
	if _, err := io.ReadFull(hs.p.Rand, ch.SessionID); err != nil {
		return fmt.Errorf("reading randomness: %w", err)
	}
	if _, err := io.ReadFull(hs.p.Rand, ch.Random[:]); err != nil {
		return fmt.Errorf("reading randomness: %w", err)
	}
	if offer13 {
		n := max(1, min(hs.p.KeyShares, len(hs.p.Groups)))
		for _, g := range hs.p.Groups[:n] {
			if err := hs.addShare(ch, g); err != nil {
				return err
			}
		}
	}
	if offer12 {
		if err := hs.offerCachedInfo12(ch); err != nil {
			return err
		}
		if slices.ContainsFunc(hs.p.ClientCertificates, func(c *Certificate) bool { return len(c.URLs) > 0 }) {
			// RFC 6066 §5: this client can send URLs for its chain.
			ch.Unknown = append(ch.Unknown, wire.Extension{Type: wire.ExtClientCertificateURL})
		}
		if hs.p.RandomPremaster != 0 {
			// A Holdfast extension for TLS 1.2 RSA key transport; empty.
			ch.Unknown = append(ch.Unknown, wire.Extension{Type: hs.p.RandomPremaster})
		}
	}
	if offer13 {
		if err := hs.offerCachedInfo(ch); err != nil {
			return err
		}

	}
	if err := hs.offerProfferedCert(ch, offer13, offer12); err != nil {
		return err
	}
	if offer12 && hs.p.ServerPremaster != 0 {
		// A Holdfast extension for TLS 1.2 RSA key transport; empty.
		ch.Unknown = append(ch.Unknown, wire.Extension{Type: hs.p.ServerPremaster})
	}
	hs.offerTicket(ch, offer13, offer12)
	return hs.writeHello(ch)
}

func (hs *clientHandshake) addShare(ch *wire.ClientHello, g kex.Group) error {
	priv, err := kex.Generate(g)
	if err != nil {
		return err
	}
	hs.shares = append(hs.shares, priv)
	ch.KeyShares = append(ch.KeyShares, wire.KeyShare{Group: uint16(g), Data: priv.Public()})
	return nil
}

func (hs *clientHandshake) writeHello(ch *wire.ClientHello) error {
	raw, err := ch.Marshal()
	if err != nil {
		return err
	}
	if hs.ticket != nil {
		if err := hs.fillBinder(ch); err != nil {
			return err
		}
	}
	hs.hello = ch
	hs.transcript.add(raw)
	if err := hs.tr.WriteHandshake(raw); err != nil {
		return err
	}
	return hs.tr.Flush()
}

// readServerHello reads the ServerHello, answering one HelloRetryRequest,
// and derives the handshake keys (RFC 8446 §4.1.3, §4.1.4).
func (hs *clientHandshake) readServerHello(ctx context.Context) error {
	sh, err := expectMsg(ctx, hs.tr, wire.TypeServerHello, "ServerHello", wire.ParseServerHello)
	if err != nil {
		return err
	}
	if err := hs.checkServerHello(sh); err != nil {
		return err
	}
	if sh.IsHelloRetryRequest() {
		if err := hs.retry(sh); err != nil {
			return err
		}
		if sh, err = expectMsg(ctx, hs.tr, wire.TypeServerHello, "ServerHello", wire.ParseServerHello); err != nil {
			return err
		}
		if err := hs.checkServerHello(sh); err != nil {
			return err
		}
		if sh.IsHelloRetryRequest() {
			return fmt.Errorf("second HelloRetryRequest: %w", alert.ErrUnexpectedMessage)
		}
		if sh.CipherSuite != hs.suite.ID {
			return fmt.Errorf("ServerHello changed the suite chosen in HelloRetryRequest: %w", alert.ErrIllegalParameter)
		}
	}
	hs.server = sh
	if err := hs.acceptTicket(sh); err != nil {
		return err
	}
	if hs.transcript.h == nil {
		hs.transcript.start(hs.suite.Hash)
	}
	hs.transcript.add(sh.Raw)

	var priv *kex.Private
	for _, s := range hs.shares {
		if uint16(s.Group()) == sh.KeyShare.Group {
			priv = s
		}
	}
	if priv == nil {
		return fmt.Errorf("server chose group %#04x, which the client sent no share for: %w", sh.KeyShare.Group, alert.ErrIllegalParameter)
	}
	hs.group = priv.Group()
	if hs.shared, err = priv.Shared(sh.KeyShare.Data); err != nil {
		return err
	}
	for _, s := range hs.shares {
		s.Free()
	}
	hs.shares = nil
	return hs.deriveHandshakeKeys()
}

// checkServerHello applies the checks every ServerHello and
// HelloRetryRequest must pass.
func (hs *clientHandshake) checkServerHello(sh *wire.ServerHello) error {
	if sh.SupportedVersion == 0 && sh.Vers == 0x0303 && hs.p.MinVersion <= 0x0303 && !sh.IsHelloRetryRequest() {
		// RFC 8446 §4.1.3: a TLS 1.3 client that gets a TLS 1.2
		// ServerHello carrying the downgrade sentinel is under attack.
		if hs.p.MaxVersion >= 0x0304 && (bytes.Equal(sh.Random[24:], downgrade12[:]) || bytes.Equal(sh.Random[24:], downgrade11[:])) {
			return fmt.Errorf("TLS 1.2 ServerHello carries the TLS 1.3 downgrade sentinel: %w", alert.ErrIllegalParameter)
		}
		fb := &FallbackTo12{Hello: hs.hello, ServerHello: sh, Session: hs.ticket12}
		hs.ticket12 = nil
		return fb
	}
	if sh.SupportedVersion != 0x0304 || hs.p.MaxVersion < 0x0304 {
		return fmt.Errorf("server selected version %#04x (legacy %#04x): %w", sh.SupportedVersion, sh.Vers, alert.ErrProtocolVersion)
	}
	if !slices.Equal(sh.SessionID, hs.hello.SessionID) {
		return fmt.Errorf("ServerHello does not echo the session ID: %w", alert.ErrIllegalParameter)
	}
	if len(sh.Unknown) > 0 {
		return fmt.Errorf("ServerHello carries extension %d, which the client did not offer: %w", sh.Unknown[0].Type, alert.ErrUnsupportedExtension)
	}
	// Extensions a TLS 1.2 ServerHello may answer have no place in a TLS
	// 1.3 one (RFC 8446 §4.2: server_name, ALPN and status_request go in
	// EncryptedExtensions or Certificate; the rest do not exist in 1.3).
	if sh.SecureRenegotiationSupported || sh.ExtendedMasterSecret || sh.EncryptThenMAC || sh.TicketSupported ||
		sh.ServerNameAck || sh.StatusRequest || sh.ALPN != "" || sh.ECPointFormats != nil || sh.TrustedCAKeysAck {
		return fmt.Errorf("TLS 1.3 ServerHello carries a TLS 1.2 extension: %w", alert.ErrUnsupportedExtension)
	}
	if sh.CompressionMethod != 0 {
		return fmt.Errorf("ServerHello compression %d: %w", sh.CompressionMethod, alert.ErrIllegalParameter)
	}
	s, ok := SuiteByID(sh.CipherSuite)
	if !ok || !isOneOf(sh.CipherSuite, hs.p.Suites) {
		return fmt.Errorf("server chose suite %#04x, which the client did not offer: %w", sh.CipherSuite, alert.ErrIllegalParameter)
	}
	hs.suite = s
	return nil
}

// retry answers a HelloRetryRequest with a second ClientHello carrying a
// share for the group the server named (RFC 8446 §4.1.4).
func (hs *clientHandshake) retry(hrr *wire.ServerHello) error {
	g := kex.Group(hrr.HRRSelectedGroup)
	if !isOneOf(g, hs.p.Groups) {
		return fmt.Errorf("HelloRetryRequest names group %v, which the client did not offer: %w", g, alert.ErrIllegalParameter)
	}
	for _, s := range hs.shares {
		if s.Group() == g {
			return fmt.Errorf("HelloRetryRequest names group %v, which the client already sent: %w", g, alert.ErrIllegalParameter)
		}
		s.Free()
	}
	hs.shares = nil
	hs.didHRR = true
	hs.transcript.start(hs.suite.Hash)
	hs.transcript.restartAfterRetry(hs.suite.Hash)
	hs.transcript.add(hrr.Raw)

	ch := *hs.hello
	ch.Raw = nil
	ch.KeyShares = nil
	ch.Cookie = hrr.Cookie
	if err := hs.addShare(&ch, g); err != nil {
		return err
	}
	if hs.ticket != nil && hs.ticketSuite.Hash != hs.suite.Hash {
		hs.dropTicket(&ch)
	}
	if err := hs.tr.WriteChangeCipherSpec(); err != nil {
		return err
	}
	return hs.writeHello(&ch)
}

func (hs *clientHandshake) deriveHandshakeKeys() error {
	var err error
	hs.hs, hs.clientHS, hs.serverHS, err = deriveHandshakeSecrets(hs.p, hs.suite, hs.early, hs.shared, hs.transcript.sum(), hs.hello.Random[:])
	hs.early = nil
	hs.shared.Free()
	hs.shared = nil
	if err != nil {
		return err
	}
	r, err := NewProtection(hs.suite, hs.serverHS)
	if err != nil {
		return err
	}
	if err := hs.tr.SetReadProtection(r); err != nil {
		return err
	}
	// Protect writes from here on too, so an alert about the server's
	// flight goes out under the handshake key the server now reads with.
	// The middlebox change_cipher_spec is sent first, unprotected.
	if !hs.didHRR {
		if err := hs.tr.WriteChangeCipherSpec(); err != nil {
			return err
		}
	}
	w, err := NewProtection(hs.suite, hs.clientHS)
	if err != nil {
		return err
	}
	hs.tr.SetWriteProtection(w)
	return nil
}

// readEncryptedExtensions checks that the server accepted only what was
// offered (RFC 8446 §4.3.1).
func (hs *clientHandshake) readEncryptedExtensions(ctx context.Context) error {
	ee, err := expectMsg(ctx, hs.tr, wire.TypeEncryptedExtensions, "EncryptedExtensions", wire.ParseEncryptedExtensions)
	if err != nil {
		return err
	}
	hs.transcript.add(ee.Raw)
	// Beyond ALPN, server_name and the server's supported_groups, the
	// client offered nothing an EncryptedExtensions may answer (RFC 8446
	// §4.2): early_data or an unknown extension is unsupported_extension.
	if err := hs.takeCachedInfoAck(ee); err != nil {
		return err
	}
	if len(ee.Unknown) > 0 {
		return fmt.Errorf("EncryptedExtensions carries extension %d, which the client did not offer: %w", ee.Unknown[0].Type, alert.ErrUnsupportedExtension)
	}
	if ee.ServerNameAck && hs.hello.ServerName == "" {
		return fmt.Errorf("EncryptedExtensions acknowledges a server name the client did not send: %w", alert.ErrUnsupportedExtension)
	}
	if ee.EarlyData {
		return fmt.Errorf("EncryptedExtensions accepts early data the client did not offer: %w", alert.ErrUnsupportedExtension)
	}
	if ee.ALPN != "" {
		if !slices.Contains(hs.p.NextProtos, ee.ALPN) {
			return fmt.Errorf("server selected ALPN %q, which the client did not offer: %w", ee.ALPN, alert.ErrIllegalParameter)
		}
		hs.state.ALPN = ee.ALPN
	}
	return nil
}

// readCertificates reads an optional CertificateRequest, then the
// server's Certificate and CertificateVerify, verifying the chain and the
// signature (RFC 8446 §4.3.2, §4.4.2, §4.4.3).
func (hs *clientHandshake) readCertificates(ctx context.Context) error {
	msg, err := hs.tr.ReadHandshake(ctx)
	if err != nil {
		return err
	}
	if len(msg) > 0 && msg[0] == wire.TypeCertificateRequest {
		if hs.certReq, err = wire.ParseCertificateRequest(msg); err != nil {
			return fmt.Errorf("parsing CertificateRequest: %w", err)
		}
		hs.transcript.add(hs.certReq.Raw)
		if msg, err = hs.tr.ReadHandshake(ctx); err != nil {
			return err
		}
	}
	// The transcript holds the message as sent: the CompressedCertificate
	// when the server compressed (RFC 8879 §4).
	sent := msg
	if hs.certCached {
		msg, err = hs.restoreCachedCertificate(msg)
	} else {
		msg, err = readCertificateMessage(hs.p, hs.hello.CertCompression, msg, "server")
	}
	if err == nil && hs.certsCached {
		msg, err = hs.restoreCachedCerts(msg)
	}
	if err != nil {
		return err
	}
	hs.certMsg = msg
	cm, err := wire.ParseCertificate(msg)
	if err != nil {
		return fmt.Errorf("parsing Certificate: %w", err)
	}
	if len(cm.RequestContext) != 0 {
		return fmt.Errorf("server Certificate with a request context: %w", alert.ErrIllegalParameter)
	}
	if len(cm.Entries) == 0 {
		return fmt.Errorf("server sent no certificate: %w", alert.ErrDecode)
	}
	hs.transcript.add(sent)
	if hs.state.OCSPResponse, err = checkEntryExtensions(cm.Entries, hs.hello.StatusRequest); err != nil {
		return err
	}
	raw := make([][]byte, len(cm.Entries))
	for i, e := range cm.Entries {
		raw[i] = e.Data
	}
	certs, chains, err := params.VerifyChain(hs.p, raw, true)
	if err != nil {
		return err
	}
	hs.state.PeerCertificates, hs.state.VerifiedChains = certs, chains
	// A TLS 1.3 server signs with its certificate key: a key usage that
	// leaves out digitalSignature forbids that (RFC 5280 §4.2.1.3).
	if ku := certs[0].KeyUsage; ku != 0 && ku&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("server certificate's key usage does not allow signing: %w", alert.ErrUnsupportedCert)
	}
	if err := hs.p.CheckOCSP(hs.state.OCSPResponse, certs); err != nil {
		return err
	}

	hs.state.PeerScheme, err = readCertificateVerify(ctx, hs.tr, &hs.transcript, certs[0], hs.p.Verifiable(sigscheme.VersionTLS13), true)
	return err
}

// readServerFinished checks the server's Finished and derives the
// application traffic secrets (RFC 8446 §4.4.4, §7.1).
func (hs *clientHandshake) readServerFinished(ctx context.Context) error {
	if err := readFinished(ctx, hs.tr, &hs.transcript, hs.suite, hs.serverHS, "server"); err != nil {
		return err
	}
	var err error
	hs.master, err = deriveApplicationSecrets(hs.p, hs.hs, hs.transcript.sum(), hs.hello.Random[:], &hs.state)
	hs.hs = nil
	return err
}

// sendClientFlight sends the client's certificate if one was requested and
// Finished (the change_cipher_spec is already queued), then switches both
// directions to the application keys.
func (hs *clientHandshake) sendClientFlight(ctx context.Context) error {
	if hs.certReq != nil {
		if err := hs.sendClientCertificate(ctx); err != nil {
			return err
		}
	}
	verify, err := finishedMAC(hs.suite, hs.clientHS, hs.transcript.sum())
	if err != nil {
		return err
	}
	fin := &wire.Finished{VerifyData: verify}
	raw, err := fin.Marshal()
	if err != nil {
		return err
	}
	hs.transcript.add(raw)
	if err := hs.tr.WriteHandshake(raw); err != nil {
		return err
	}
	if err := hs.tr.Flush(); err != nil {
		return err
	}
	if hs.p.ClientSessions != nil {
		// Tickets arrive after the handshake; their PSKs derive from
		// this secret over the transcript through our Finished.
		if hs.state.ResumptionSecret, err = hs.master.ResumptionMasterSecret(hs.transcript.sum()); err != nil {
			return err
		}
	}
	hs.master.Free()
	hs.master = nil
	w, err := NewProtection(hs.suite, hs.state.ClientTrafficSecret)
	if err != nil {
		return err
	}
	hs.tr.SetWriteProtection(w)
	r, err := NewProtection(hs.suite, hs.state.ServerTrafficSecret)
	if err != nil {
		return err
	}
	if err := hs.tr.SetReadProtection(r); err != nil {
		return err
	}
	hs.state.Suite, hs.state.Group, hs.state.DidHRR, hs.state.ServerName = hs.suite, hs.group, hs.didHRR, hs.p.ServerName
	hs.state.DidResume = hs.resumed
	return nil
}

// sendClientCertificate sends the client's chain (possibly empty) and, if
// it has one the server can accept, a CertificateVerify signed through the
// key backend.
func (hs *clientHandshake) sendClientCertificate(ctx context.Context) error {
	peer := toSchemes(hs.certReq.SignatureAlgorithms)
	chosen, scheme, err := hs.p.PickClientCertificate(ctx, params.ClientCertificateRequest{Version: sigscheme.VersionTLS13,
		Schemes: peer, CANames: hs.certReq.CertificateAuthorities})
	if err != nil {
		return err
	}
	raw, err := clientCertificateMessage(hs.certReq.Context, chosen)
	if err != nil {
		return err
	}
	held, err := hs.serverHolds(hs.certReq)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(raw)
	switch {
	case chosen != nil && slices.ContainsFunc(held, func(h []byte) bool { return subtle.ConstantTimeCompare(h, digest[:]) == 1 }):
		// The server holds this chain (proffered certificate).
		raw, err = wire.MarshalCachedMessage(wire.TypeCertificate, digest[:])
	default:
		raw, err = certificateMessage(hs.p, hs.certReq.CertCompression, raw)
	}
	if err != nil {
		return err
	}
	hs.transcript.add(raw)
	if err := hs.tr.WriteHandshake(raw); err != nil {
		return err
	}
	if chosen == nil {
		return nil
	}
	// Sent before the key signs: the server can check the client's chain
	// meanwhile.
	if err := hs.tr.Flush(); err != nil {
		return err
	}
	sig, err := sigscheme.Sign(ctx, chosen.Signer, scheme, signedContent(false, hs.transcript.sum()))
	if err != nil {
		return fmt.Errorf("signing client CertificateVerify with %v: %w", scheme, err)
	}
	cv := &wire.CertificateVerify{Algorithm: uint16(scheme), Signature: sig}
	if raw, err = cv.Marshal(); err != nil {
		return err
	}
	hs.transcript.add(raw)
	return hs.tr.WriteHandshake(raw)
}

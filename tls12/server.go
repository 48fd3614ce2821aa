package tls12

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// Downgrade sentinels (RFC 8446 §4.1.3): the last 8 bytes of a TLS 1.2
// ServerHello.random from a server that supports TLS 1.3.
var downgradeTLS12 = [8]byte{'D', 'O', 'W', 'N', 'G', 'R', 'D', 1}

// Signaling cipher suite values.
const (
	scsvRenegotiation = 0x00ff // TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746)
	scsvFallback      = 0x5600 // TLS_FALLBACK_SCSV (RFC 7507)
)

// serverHandshake is the server's side of one TLS 1.2 full handshake.
type serverHandshake struct {
	p  *params.Params
	tr Transport

	hello           *wire.ClientHello
	suite           Suite
	group           kex.Group
	cert            *params.Certificate
	scheme          sigscheme.Scheme
	alpn            string
	transcript      transcript
	random          [32]byte
	secureReneg     bool
	randomPremaster bool           // both ends agreed to a fully random premaster
	certURL         bool           // client_certificate_url agreed (RFC 6066 §5)
	held            heldByServer   // proffered client chains this server holds
	clientKey       *rsa.PublicKey // the held client chain's key, for a server premaster
	serverPM        *mem.Secret    // the premaster this server made, when agreed
	clientMsg       []byte         // the client's Certificate message, in full
	etm             bool           // encrypt_then_mac negotiated (CBC suites only)
	trustedCA       bool           // the chain is under a CA the client's trusted_ca_keys names

	certParts []byte // the Certificate with the certificates the client holds as digests (type 224)

	resumed     bool
	issueTicket bool   // an RFC 5077 ticket ends the full handshake
	sessionID   []byte // the session ID a full handshake caches the session under

	share   *kex.Private // ECDHE: the server's ephemeral share
	master  *mem.Secret
	pending pendingKeys // installed at each change_cipher_spec
	state   State
}

// ServerHandshake runs the server side of a TLS 1.2 handshake whose
// ClientHello has been read and parsed. On success the State's secrets
// belong to the caller.
func ServerHandshake(ctx context.Context, p *params.Params, tr Transport, hello *wire.ClientHello) (*State, error) {
	hs := &serverHandshake{p: p, tr: tr, hello: hello}
	defer hs.free()
	if err := hs.handshake(ctx); err != nil {
		return nil, err
	}
	st := hs.state
	st.MasterSecret, hs.master = hs.master, nil
	return &st, nil
}

func (hs *serverHandshake) free() {
	hs.serverPM.Free()
	hs.share.Free()
	hs.master.Free()
	hs.pending.free()
}

// handshake follows RFC 5246 §7.3, Figure 1, from the server's side.
func (hs *serverHandshake) handshake(ctx context.Context) error {
	if err := hs.processClientHello(); err != nil {
		return err
	}
	if hs.resumed {
		return hs.resume(ctx)
	}
	hs.transcript.start(hs.suite.Hash)
	hs.transcript.add(hs.hello.Raw)
	if err := hs.sendServerFlight(ctx); err != nil {
		return err
	}
	if err := hs.readClientFlight(ctx); err != nil {
		return err
	}
	// The client's Finished checked out: its chain, if verified, may be
	// held for the proffered certificate.
	if hs.p.ProfferedCert != 0 && hs.clientMsg != nil && len(hs.state.VerifiedChains) > 0 {
		hs.p.HeldChains.Add(hs.clientMsg)
	}
	if err := hs.sendFinished(); err != nil {
		return err
	}
	return hs.cacheSession()
}

// processClientHello checks the ClientHello and negotiates the suite,
// group, certificate, signature scheme and ALPN (RFC 5246 §7.4.1.2).
func (hs *serverHandshake) processClientHello() error {
	ch := hs.hello
	if ch.Vers < 0x0303 {
		return fmt.Errorf("client offers at most version %#04x: %w", ch.Vers, alert.ErrProtocolVersion)
	}
	if !slices.Contains(ch.CompressionMethods, 0) {
		return fmt.Errorf("ClientHello without the null compression method: %w", alert.ErrDecode)
	}
	if slices.Contains(ch.CipherSuites, scsvFallback) && hs.p.MaxVersion > 0x0303 {
		return fmt.Errorf("client retried with TLS_FALLBACK_SCSV while TLS 1.3 is available: %w", alert.ErrInappropriateFallback)
	}
	// RFC 5746 §3.6: on an initial handshake renegotiated_connection must
	// be empty; the SCSV means the same as an empty extension.
	if ch.SecureRenegotiationSupported && len(ch.SecureRenegotiation) != 0 {
		return fmt.Errorf("initial ClientHello with a non-empty renegotiation_info: %w", alert.ErrHandshakeFailure)
	}
	hs.secureReneg = ch.SecureRenegotiationSupported || slices.Contains(ch.CipherSuites, scsvRenegotiation)
	if !ch.ExtendedMasterSecret {
		// RFC 7627 is required: without it the master secret is not bound
		// to the handshake (the triple handshake attack).
		return fmt.Errorf("client does not offer extended_master_secret, which this server requires: %w", alert.ErrHandshakeFailure)
	}
	if hs.resumed = hs.tryResume(); hs.resumed {
		return nil
	}
	if err := hs.pickSuite(); err != nil {
		return err
	}
	return hs.pickALPN()
}

// pickSuite chooses the suite the client offers and a configured
// certificate and a common group can serve. The certificate comes first:
// one for the requested server name, then one under a CA the client
// names in trusted_ca_keys; among equally good certificates, the first
// suite in the server's order wins.
func (hs *serverHandshake) pickSuite() error {
	ch := hs.hello
	pointsOK := len(ch.ECPointFormats) == 0 || slices.Contains(ch.ECPointFormats, 0)
	ranked := hs.rankCertificates()
	var best *candidate
	for _, id := range hs.p.Suites12 {
		s, ok := SuiteByID(id)
		if !ok || !slices.Contains(ch.CipherSuites, id) {
			continue
		}
		var g kex.Group
		if s.KX != RSA {
			if !pointsOK {
				continue
			}
			if g, ok = hs.commonGroup(); !ok {
				continue
			}
		}
		c, scheme, ok := hs.pickCertificate(s.KX, ranked)
		if ok && (best == nil || c.rank() > best.rank()) {
			best = c
			hs.suite, hs.cert, hs.scheme, hs.group = s, c.cert, scheme, g
			if c.rank() == ranked[0].rank() {
				break // no suite can do better
			}
		}
	}
	if best == nil {
		var hint string
		for _, c := range hs.p.Certificates {
			if pub, ok := c.Signer.Public().(*ecdsa.PublicKey); ok && !hs.clientSupportsCurve(pub) {
				hint = fmt.Sprintf("; the ECDSA chain's curve %s is not in the client's supported_groups %#04x (RFC 8422 §5.1)", pub.Curve.Params().Name, ch.SupportedGroups)
				break
			}
		}
		return fmt.Errorf("no TLS 1.2 cipher suite in common with a usable certificate and group (client offered %#04x)%s: %w", ch.CipherSuites, hint, alert.ErrHandshakeFailure)
	}
	// RFC 6066 §6: the server acknowledges trusted_ca_keys when the list
	// guided its choice, here when the chain is under a CA it names.
	hs.trustedCA = best.trust > caUnnamed
	return nil
}

// CertificateFits reports whether a TLS 1.2 server with parameters p
// could serve cert to the client that sent hello: nil, or why not (no
// cipher suite, group and signature scheme that suit both the key and the
// client).
func CertificateFits(p *params.Params, hello *wire.ClientHello, cert *params.Certificate) error {
	q := *p
	q.Certificates = []*params.Certificate{cert}
	hs := &serverHandshake{p: &q, hello: hello}
	return hs.pickSuite()
}

// clientSupportsCurve reports whether an ECDSA certificate's curve is
// one the client lists in supported_groups, or the client sent no list.
// RFC 8422 §5.1 forbids an ECC suite the server cannot complete within
// the client's curves, and in TLS 1.2 the signature_algorithms entry
// ecdsa_secp384r1_sha384 names only the hash, so the list is the only
// word on the certificate's curve. (TLS 1.3 binds the curve to the
// signature scheme instead.)
func (hs *serverHandshake) clientSupportsCurve(pub *ecdsa.PublicKey) bool {
	if len(hs.hello.SupportedGroups) == 0 {
		return true
	}
	var id uint16
	switch pub.Curve {
	case elliptic.P256():
		id = 0x0017
	case elliptic.P384():
		id = 0x0018
	case elliptic.P521():
		id = 0x0019
	default:
		return false
	}
	return slices.Contains(hs.hello.SupportedGroups, id)
}

// commonGroup is the server's most preferred classical group the client
// supports; the hybrid ML-KEM group is TLS 1.3 only.
func (hs *serverHandshake) commonGroup() (kex.Group, bool) {
	for _, g := range hs.p.Groups {
		if g != kex.X25519MLKEM768 && slices.Contains(hs.hello.SupportedGroups, uint16(g)) {
			return g, true
		}
	}
	return 0, false
}

// pickCertificate finds the best ranked certificate whose key suits the
// key exchange and, for ECDHE, a scheme to sign the ServerKeyExchange
// with.
func (hs *serverHandshake) pickCertificate(kx KeyExchange, ranked []candidate) (*candidate, sigscheme.Scheme, bool) {
	peer := make([]sigscheme.Scheme, len(hs.hello.SignatureAlgorithms))
	for i, v := range hs.hello.SignatureAlgorithms {
		peer[i] = sigscheme.Scheme(v)
	}
	for i := range ranked {
		c := ranked[i].cert
		if !keyUsageAllows(c.Leaf, kx) {
			continue
		}
		switch pub := c.Signer.Public().(type) {
		case *ecdsa.PublicKey:
			if kx != ECDHE_ECDSA || !hs.clientSupportsCurve(pub) {
				continue
			}
		case ed25519.PublicKey:
			if kx != ECDHE_ECDSA {
				continue
			}
		case *rsa.PublicKey:
			if kx == ECDHE_ECDSA {
				continue
			}
			if kx == RSA {
				if _, ok := c.Signer.(crypto.Decrypter); !ok {
					continue
				}
				return &ranked[i], 0, true
			}
		default:
			_ = pub
			continue
		}
		scheme, err := sigscheme.Choose(sigscheme.VersionTLS12, c.CertKey(), peer, c.Schemes(sigscheme.VersionTLS12))
		if err == nil {
			return &ranked[i], scheme, true
		}
	}
	return nil, 0, false
}

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

func (hs *serverHandshake) write(m interface{ Marshal() ([]byte, error) }) error {
	raw, err := m.Marshal()
	if err != nil {
		return err
	}
	hs.transcript.add(raw)
	return hs.tr.WriteHandshake(raw)
}

// sendServerFlight sends ServerHello, Certificate, ServerKeyExchange (for
// ECDHE), CertificateRequest (when asked for) and ServerHelloDone.
func (hs *serverHandshake) sendServerFlight(ctx context.Context) error {
	sh, err := hs.serverHello()
	if err != nil {
		return err
	}
	if err := hs.offerSession(sh); err != nil {
		return err
	}
	if err := hs.agreeRandomPremaster(sh); err != nil {
		return err
	}
	if err := hs.agreeCertificateURL(sh); err != nil {
		return err
	}
	if err := hs.agreeProffer(sh); err != nil {
		return err
	}
	if err := hs.agreeServerPremaster(sh); err != nil {
		return err
	}
	certMsg, err := (&wire.Certificate12{Certificates: hs.cert.Chain}).Marshal()
	if err != nil {
		return err
	}
	var reqMsg []byte
	if hs.p.ClientAuth != params.NoClientCert {
		req := &wire.CertificateRequest12{CertificateTypes: []byte{1, 64}, // rsa_sign, ecdsa_sign
			CertificateAuthorities: hs.p.ClientCANames()}
		for _, s := range hs.p.Verifiable(sigscheme.VersionTLS12) {
			req.SignatureAlgorithms = append(req.SignatureAlgorithms, uint16(s))
		}
		if reqMsg, err = req.Marshal(); err != nil {
			return err
		}
	}
	// RFC 7924: the messages the client already holds go as digests.
	hits, err := hs.cachedInfoHits(certMsg, reqMsg)
	if err != nil {
		return err
	}
	if len(hits) > 0 {
		body, err := wire.MarshalServerCachedInfo(hits)
		if err != nil {
			return err
		}
		sh.Unknown = append(sh.Unknown, wire.Extension{Type: wire.ExtCachedInfo, Data: body})
	}
	sendAs := func(msg []byte, typ uint8) error {
		if slices.Contains(hits, typ) {
			d, err := digestForm(msg)
			if err != nil {
				return err
			}
			return hs.write(d)
		}
		if typ == wire.CachedCert && hs.certParts != nil {
			msg = hs.certParts // cachedinfo_certs.go
		}
		return hs.write(rawMessage(msg))
	}
	if err := hs.write(sh); err != nil {
		return err
	}
	if err := sendAs(certMsg, wire.CachedCert); err != nil {
		return err
	}
	if err := hs.sendCertificateStatus(sh); err != nil {
		return err
	}
	switch {
	case hs.clientKey != nil:
		if err := hs.sendServerPremaster(ctx); err != nil {
			return err
		}
	case hs.suite.KX != RSA:
		if err := hs.sendServerKeyExchange(ctx); err != nil {
			return err
		}
	}
	if reqMsg != nil {
		if err := sendAs(reqMsg, wire.CachedCertReq); err != nil {
			return err
		}
	}
	if err := hs.write(&wire.ServerHelloDone{}); err != nil {
		return err
	}
	return hs.tr.Flush()
}

// serverHello builds the ServerHello for the negotiated suite.
func (hs *serverHandshake) serverHello() (*wire.ServerHello, error) {
	// A fully random ServerHello.random; a server that can speak TLS 1.3
	// ends it with the downgrade sentinel (RFC 8446 §4.1.3).
	if _, err := io.ReadFull(hs.p.Rand, hs.random[:]); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	if hs.p.MaxVersion > 0x0303 {
		copy(hs.random[24:], downgradeTLS12[:])
	}
	sh := &wire.ServerHello{
		Vers:                         0x0303,
		Random:                       hs.random,
		CipherSuite:                  hs.suite.ID,
		SecureRenegotiationSupported: hs.secureReneg,
		ExtendedMasterSecret:         true,
		ALPN:                         hs.alpn,
		// RFC 6066 §3: acknowledge the server name on a full handshake,
		// never on a resumed one.
		ServerNameAck: hs.hello.ServerName != "" && !hs.resumed,
		// RFC 6066 §6: an empty trusted_ca_keys when the client's list
		// chose the chain; a resumed handshake sends none.
		TrustedCAKeysAck: hs.trustedCA && !hs.resumed,
	}
	sh.StatusRequest = hs.staplesOCSP()
	// RFC 7366 §2: encrypt_then_mac only with a CBC suite.
	hs.etm = hs.hello.EncryptThenMAC && hs.suite.AEAD == 0
	sh.EncryptThenMAC = hs.etm
	if len(hs.hello.ECPointFormats) > 0 && hs.suite.KX != RSA {
		sh.ECPointFormats = []byte{0}
	}
	return sh, nil
}

// ecdhe is the server's ephemeral key share, made for ServerKeyExchange
// and completed by ClientKeyExchange.
func (hs *serverHandshake) sendServerKeyExchange(ctx context.Context) error {
	priv, err := kex.Generate(hs.group)
	if err != nil {
		return err
	}
	hs.share = priv
	ske := &wire.ServerKeyExchange{Group: uint16(hs.group), PublicKey: priv.Public(), Algorithm: uint16(hs.scheme)}
	params, err := ske.MarshalParams()
	if err != nil {
		return err
	}
	signed := slices.Concat(hs.hello.Random[:], hs.random[:], params)
	// ServerHello and Certificate go out before the key signs, so that the
	// client parses and verifies the chain in the time the signature takes
	// (as in TLS 1.3's CertificateVerify).
	if err := hs.tr.Flush(); err != nil {
		return err
	}
	if ske.Signature, err = sigscheme.Sign(ctx, hs.cert.Signer, hs.scheme, signed); err != nil {
		return fmt.Errorf("signing ServerKeyExchange with %v: %w", hs.scheme, err)
	}
	return hs.write(ske)
}

// readClientFlight reads the client's Certificate (if requested),
// ClientKeyExchange, CertificateVerify (if it sent a certificate),
// ChangeCipherSpec and Finished.
func (hs *serverHandshake) readClientFlight(ctx context.Context) error {
	var clientCerts []*x509.Certificate
	if hs.p.ClientAuth != params.NoClientCert {
		var err error
		if clientCerts, err = hs.readClientCertificate(ctx); err != nil {
			return err
		}
		// A server premaster was encrypted to the held chain's key: the
		// client must authenticate with that key.
		if hs.clientKey != nil && (len(clientCerts) == 0 || !hs.clientKey.Equal(clientCerts[0].PublicKey)) {
			return fmt.Errorf("client authenticated with another key than the server premaster was encrypted to: %w", alert.ErrIllegalParameter)
		}
	}
	ckx, err := expect(ctx, hs.tr, wire.TypeClientKeyExchange, "ClientKeyExchange", wire.ParseClientKeyExchange)
	if err != nil {
		return err
	}
	premaster, err := hs.premaster(ckx)
	if err != nil {
		return err
	}
	hs.transcript.add(ckx.Raw)
	// RFC 7627 §3: the session hash covers everything through
	// ClientKeyExchange.
	hs.master, err = extendedMasterSecret(hs.suite, premaster, hs.transcript.sum())
	premaster.Free()
	if err != nil {
		return err
	}
	if err := params.LogKey(hs.p.KeyLog, "CLIENT_RANDOM", hs.hello.Random[:], hs.master); err != nil {
		return err
	}
	if len(clientCerts) > 0 {
		if err := hs.readCertificateVerify(ctx, clientCerts[0]); err != nil {
			return err
		}
	}
	if err := hs.installKeys(); err != nil {
		return err
	}
	if err := hs.tr.ReadChangeCipherSpec(ctx); err != nil {
		return err
	}
	if err := hs.tr.SetReadProtection(hs.pending.takeRead()); err != nil {
		return err
	}
	fin, err := expect(ctx, hs.tr, wire.TypeFinished, "client Finished", wire.ParseFinished)
	if err != nil {
		return err
	}
	if err := checkFinished(hs.suite, hs.master, "client finished", hs.transcript.sum(), fin.VerifyData); err != nil {
		return fmt.Errorf("client %w", err)
	}
	hs.transcript.add(fin.Raw)
	return nil
}

// keyUsageAllows reports whether a certificate's key usage (when it has
// one) permits the key exchange: keyEncipherment for RSA key transport,
// digitalSignature for ECDHE (RFC 5246 §7.4.2, RFC 5280 §4.2.1.3).
func keyUsageAllows(leaf *x509.Certificate, kx KeyExchange) bool {
	if leaf == nil || leaf.KeyUsage == 0 {
		return true
	}
	if kx == RSA {
		return leaf.KeyUsage&x509.KeyUsageKeyEncipherment != 0
	}
	return leaf.KeyUsage&x509.KeyUsageDigitalSignature != 0
}

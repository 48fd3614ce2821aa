package tls12

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/session"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// clientHandshake is the client's side of one TLS 1.2 full handshake,
// taken over after the ServerHello selected TLS 1.2.
type clientHandshake struct {
	p  *params.Params
	tr Transport

	hello           *wire.ClientHello
	server          *wire.ServerHello
	suite           Suite
	group           kex.Group
	transcript      transcript
	certReq         *wire.CertificateRequest12
	certMsg         []byte   // the server's Certificate message, in full
	certCached      bool     // the server sends its Certificate's digest (RFC 7924)
	reqCached       bool     // the same for its CertificateRequest
	randomPremaster bool     // both ends agreed to a fully random premaster
	certURL         bool     // client_certificate_url agreed (RFC 6066 §5)
	serverHolds     [][]byte // digests of this client's chains the server holds
	serverPremaster bool     // the server makes the premaster (docs/PREMASTER.md)
	leaf            *x509.Certificate

	certsCached bool // the server sends some certificates as digests (type 224)

	ecdhPublic []byte // the client's ECDHE share for ClientKeyExchange
	etm        bool   // encrypt_then_mac negotiated
	premaster  *mem.Secret
	master     *mem.Secret
	pending    pendingKeys // installed at each change_cipher_spec
	state      State

	offered   *session.ClientTicket    // the session the ClientHello offered to resume
	newTicket *wire.NewSessionTicket12 // the ticket the server sent, if any
}

// ClientHandshake continues a handshake whose ClientHello (hello, already
// sent) was answered by a TLS 1.2 ServerHello (sh). On success the State's
// secrets belong to the caller.
func ClientHandshake(ctx context.Context, p *params.Params, tr Transport, hello *wire.ClientHello, sh *wire.ServerHello, offered *session.ClientTicket) (*State, error) {
	hs := &clientHandshake{p: p, tr: tr, hello: hello, server: sh, offered: offered}
	defer hs.free()
	if err := hs.handshake(ctx); err != nil {
		return nil, err
	}
	st := hs.state
	st.MasterSecret, hs.master = hs.master, nil
	return &st, nil
}

func (hs *clientHandshake) free() {
	hs.offered.Free()
	hs.premaster.Free()
	hs.master.Free()
	hs.pending.free()
}

// handshake follows RFC 5246 §7.3, Figure 1, from the client's side.
func (hs *clientHandshake) handshake(ctx context.Context) error {
	if err := hs.processServerHello(); err != nil {
		return err
	}
	resumed, err := hs.resuming()
	if err != nil {
		return err
	}
	if resumed {
		if err := hs.resume(ctx); err != nil {
			return err
		}
		return hs.storeSession()
	}
	if err := hs.readServerFlight(ctx); err != nil {
		return err
	}
	if err := hs.sendClientFlight(ctx); err != nil {
		return err
	}
	if err := hs.readNewSessionTicket(ctx); err != nil {
		return err
	}
	if err := hs.readServerFinished(ctx); err != nil {
		return err
	}
	hs.rememberServerMessages()
	return hs.storeSession()
}

// processServerHello checks that the server chose only what was offered
// (RFC 5246 §7.4.1.3) and that it keeps the promises this client requires.
func (hs *clientHandshake) processServerHello() error {
	sh := hs.server
	s, ok := SuiteByID(sh.CipherSuite)
	if !ok || !slices.Contains(hs.hello.CipherSuites, sh.CipherSuite) {
		return fmt.Errorf("server chose suite %#04x, which the client did not offer: %w", sh.CipherSuite, alert.ErrIllegalParameter)
	}
	hs.suite = s
	if sh.CompressionMethod != 0 {
		return fmt.Errorf("ServerHello compression %d: %w", sh.CompressionMethod, alert.ErrIllegalParameter)
	}
	if err := hs.takeCachedInfo(sh); err != nil {
		return err
	}
	if err := hs.takeRandomPremaster(sh); err != nil {
		return err
	}
	if err := hs.takeCertificateURL(sh); err != nil {
		return err
	}
	if err := hs.takeProffer(sh); err != nil {
		return err
	}
	if err := hs.takeServerPremaster(sh); err != nil {
		return err
	}
	if len(sh.Unknown) > 0 || sh.TicketSupported && !hs.hello.TicketSupported || sh.EncryptThenMAC && !hs.hello.EncryptThenMAC ||
		sh.ServerNameAck && hs.hello.ServerName == "" || sh.TrustedCAKeysAck && !hs.hello.HasTrustedCAKeys {
		return fmt.Errorf("ServerHello carries an extension the client did not offer: %w", alert.ErrUnsupportedExtension)
	}
	if err := hs.checkStatusAck(); err != nil {
		return err
	}
	if sh.EncryptThenMAC && s.AEAD != 0 {
		return fmt.Errorf("encrypt_then_mac with the AEAD suite %v (RFC 7366 §2): %w", s, alert.ErrIllegalParameter)
	}
	hs.etm = sh.EncryptThenMAC
	if sh.SecureRenegotiationSupported && len(sh.SecureRenegotiation) != 0 {
		return fmt.Errorf("initial ServerHello with a non-empty renegotiation_info: %w", alert.ErrHandshakeFailure)
	}
	if !sh.ExtendedMasterSecret {
		return fmt.Errorf("server does not support extended_master_secret, which this client requires: %w", alert.ErrHandshakeFailure)
	}
	if sh.ALPN != "" && !slices.Contains(hs.hello.ALPN, sh.ALPN) {
		return fmt.Errorf("server selected ALPN %q, which the client did not offer: %w", sh.ALPN, alert.ErrIllegalParameter)
	}
	hs.transcript.start(s.Hash)
	hs.transcript.add(hs.hello.Raw)
	hs.transcript.add(sh.Raw)
	st := &hs.state
	st.Suite, st.ALPN, st.ServerName = s, sh.ALPN, hs.p.ServerName
	st.ExtendedMaster, st.SecureRenegotation = true, sh.SecureRenegotiationSupported
	st.ClientRandom, st.ServerRandom = hs.hello.Random, sh.Random
	return nil
}

// readServerFlight reads Certificate, ServerKeyExchange (ECDHE),
// CertificateRequest (optional) and ServerHelloDone.
func (hs *clientHandshake) readServerFlight(ctx context.Context) error {
	sent, err := hs.tr.ReadHandshake(ctx)
	if err != nil {
		return err
	}
	msg := sent
	if hs.certCached {
		if msg, err = hs.restore(sent, wire.CachedCert, "Certificate"); err != nil {
			return err
		}
	} else if len(msg) == 0 || msg[0] != wire.TypeCertificate {
		return fmt.Errorf("expected Certificate: %w", alert.ErrUnexpectedMessage)
	} else if hs.certsCached {
		if msg, err = hs.restoreCerts(msg); err != nil {
			return err
		}
	}
	cm, err := wire.ParseCertificate12(msg)
	if err != nil {
		return fmt.Errorf("parsing Certificate: %w", err)
	}
	if len(cm.Certificates) == 0 {
		return fmt.Errorf("server sent no certificate: %w", alert.ErrDecode)
	}
	hs.certMsg = msg
	hs.transcript.add(sent)
	certs, chains, err := params.VerifyChain(hs.p, cm.Certificates, true)
	if err != nil {
		return err
	}
	hs.leaf = certs[0]
	hs.state.PeerCertificates, hs.state.VerifiedChains = certs, chains
	if !keyUsageAllows(hs.leaf, hs.suite.KX) {
		return fmt.Errorf("server certificate's key usage does not allow %v: %w", hs.suite, alert.ErrUnsupportedCert)
	}

	// The suite names the certificate's key type (RFC 8422 §5.3,
	// RFC 5246 §7.4.2).
	switch hs.leaf.PublicKey.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		if hs.suite.KX != ECDHE_ECDSA {
			return fmt.Errorf("%v with a %T certificate key: %w", hs.suite, hs.leaf.PublicKey, alert.ErrUnsupportedCert)
		}
	case *rsa.PublicKey:
		if hs.suite.KX == ECDHE_ECDSA {
			return fmt.Errorf("%v with an RSA certificate key: %w", hs.suite, alert.ErrUnsupportedCert)
		}
	}
	if err := hs.readCertificateStatus(ctx); err != nil {
		return err
	}
	if err := hs.p.CheckOCSP(hs.state.OCSPResponse, certs); err != nil {
		return err
	}
	if hs.suite.KX != RSA {
		if err := hs.readServerKeyExchange(ctx); err != nil {
			return err
		}
	} else if _, ok := hs.leaf.PublicKey.(*rsa.PublicKey); !ok {
		return fmt.Errorf("RSA key transport with a %T certificate key: %w", hs.leaf.PublicKey, alert.ErrUnsupportedCert)
	} else if hs.serverPremaster {
		if err := hs.readServerPremaster(ctx); err != nil {
			return err
		}
	}
	if msg, err = hs.tr.ReadHandshake(ctx); err != nil {
		return err
	}
	if hs.reqCached || len(msg) > 0 && msg[0] == wire.TypeCertificateRequest {
		full := msg
		if hs.reqCached {
			if full, err = hs.restore(msg, wire.CachedCertReq, "CertificateRequest"); err != nil {
				return err
			}
		}
		if hs.certReq, err = wire.ParseCertificateRequest12(full); err != nil {
			return fmt.Errorf("parsing CertificateRequest: %w", err)
		}
		hs.transcript.add(msg)
		if msg, err = hs.tr.ReadHandshake(ctx); err != nil {
			return err
		}
	}
	if len(msg) == 0 || msg[0] != wire.TypeServerHelloDone {
		return fmt.Errorf("expected ServerHelloDone: %w", alert.ErrUnexpectedMessage)
	}
	done, err := wire.ParseServerHelloDone(msg)
	if err != nil {
		return fmt.Errorf("parsing ServerHelloDone: %w", err)
	}
	hs.transcript.add(done.Raw)
	return nil
}

// readServerKeyExchange verifies the server's signature over its ECDHE
// parameters and completes the exchange (RFC 8422 §5.4).
func (hs *clientHandshake) readServerKeyExchange(ctx context.Context) error {
	ske, err := expect(ctx, hs.tr, wire.TypeServerKeyExchange, "ServerKeyExchange", wire.ParseServerKeyExchange)
	if err != nil {
		return err
	}
	hs.transcript.add(ske.Raw)
	g := kex.Group(ske.Group)
	if g == kex.X25519MLKEM768 || !slices.Contains(hs.p.Groups, g) {
		return fmt.Errorf("server chose group %v, which the client did not offer: %w", g, alert.ErrIllegalParameter)
	}
	pub, err := sigscheme.CertPublicKey(hs.leaf)
	if err != nil {
		return err
	}
	signed := slices.Concat(hs.hello.Random[:], hs.server.Random[:], ske.Params)
	if err := sigscheme.Verify(sigscheme.VersionTLS12, hs.p.Verifiable(sigscheme.VersionTLS12), pub, sigscheme.Scheme(ske.Algorithm), signed, ske.Signature); err != nil {
		return fmt.Errorf("ServerKeyExchange: %w", err)
	}
	priv, err := kex.Generate(g)
	if err != nil {
		return err
	}
	defer priv.Free()
	if hs.premaster, err = priv.Shared(ske.PublicKey); err != nil {
		return err
	}
	hs.group, hs.state.Group = g, g
	hs.state.PeerScheme = sigscheme.Scheme(ske.Algorithm)
	hs.ecdhPublic = priv.Public()
	return nil
}

// sendClientFlight sends Certificate (if asked), ClientKeyExchange,
// CertificateVerify (if a certificate was sent), change_cipher_spec and
// Finished.
func (hs *clientHandshake) sendClientFlight(ctx context.Context) error {
	var chosen *params.Certificate
	var scheme sigscheme.Scheme
	if hs.certReq != nil {
		peer := make([]sigscheme.Scheme, len(hs.certReq.SignatureAlgorithms))
		for i, v := range hs.certReq.SignatureAlgorithms {
			peer[i] = sigscheme.Scheme(v)
		}
		var err error
		if hs.serverPremaster {
			// The server encrypted the premaster to the chain it holds:
			// that chain must be the one sent and signed with.
			if chosen = hs.heldCertificate(); chosen == nil {
				return fmt.Errorf("the server premaster's chain is gone: %w", alert.ErrIllegalParameter)
			}
			if scheme, err = sigscheme.Choose(sigscheme.VersionTLS12, chosen.CertKey(), peer, chosen.Schemes(sigscheme.VersionTLS12)); err != nil {
				return fmt.Errorf("the server premaster's chain cannot sign for this server: %w", err)
			}
		} else if chosen, scheme, err = hs.p.PickClientCertificate(ctx, params.ClientCertificateRequest{Version: sigscheme.VersionTLS12,
			Schemes: peer, CANames: hs.certReq.CertificateAuthorities, CertTypes: hs.certReq.CertificateTypes}); err != nil {
			return err
		}
		var cm interface{ Marshal() ([]byte, error) } = &wire.Certificate12{}
		switch {
		case chosen != nil && hs.certURL && len(chosen.URLs) == len(chosen.Chain):
			cm = certificateURLMessage(chosen.Chain, chosen.URLs)
		case chosen != nil:
			// The digest form when the server holds this chain (proffer).
			msg, err := hs.certificateForServer(chosen.Chain)
			if err != nil {
				return err
			}
			cm = msg
		}
		if err := hs.write(cm); err != nil {
			return err
		}
	}
	ckx, err := hs.clientKeyExchange()
	if err != nil {
		return err
	}
	if err := hs.write(ckx); err != nil {
		return err
	}
	hs.master, err = extendedMasterSecret(hs.suite, hs.premaster, hs.transcript.sum())
	hs.premaster.Free()
	hs.premaster = nil
	if err != nil {
		return err
	}
	if err := params.LogKey(hs.p.KeyLog, "CLIENT_RANDOM", hs.hello.Random[:], hs.master); err != nil {
		return err
	}
	if chosen != nil {
		// Sent before the key signs: the server can check the client's
		// chain and derive the master secret meanwhile.
		if err := hs.tr.Flush(); err != nil {
			return err
		}
		sig, err := sigscheme.Sign(ctx, chosen.Signer, scheme, hs.transcript.msgs)
		if err != nil {
			return fmt.Errorf("signing CertificateVerify with %v: %w", scheme, err)
		}
		if err := hs.write(&wire.CertificateVerify{Algorithm: uint16(scheme), Signature: sig}); err != nil {
			return err
		}
	}
	kb, err := deriveKeyBlock(hs.suite, hs.master, hs.hello.Random[:], hs.server.Random[:])
	if err != nil {
		return err
	}
	defer kb.free()
	if hs.pending.read, hs.pending.write, err = newProtections(hs.suite, kb, true, hs.etm, hs.p.Rand); err != nil {
		return err
	}
	verify, err := finishedData(hs.suite, hs.master, "client finished", hs.transcript.sum())
	if err != nil {
		return err
	}
	if err := hs.tr.WriteChangeCipherSpec(); err != nil {
		return err
	}
	hs.tr.SetWriteProtection(hs.pending.takeWrite())
	if err := hs.write(&wire.Finished{VerifyData: verify}); err != nil {
		return err
	}
	return hs.tr.Flush()
}

// clientKeyExchange carries the client's ECDHE public key, or for RSA key
// transport a fresh premaster secret (the offered version, then 46 random
// bytes) encrypted to the server's key.
func (hs *clientHandshake) clientKeyExchange() (*wire.ClientKeyExchange, error) {
	if hs.suite.KX != RSA {
		return wire.NewClientKeyExchangeECDH(hs.ecdhPublic), nil
	}
	if hs.serverPremaster {
		return wire.NewClientKeyExchangeRSA(nil), nil // the server made it
	}
	pm, err := mem.New(premasterLen)
	if err != nil {
		return nil, err
	}
	hs.premaster = pm
	b := pm.Bytes()
	random := b[2:]
	if hs.randomPremaster {
		random = b // all 48 bytes (docs/PREMASTER.md)
	} else {
		b[0], b[1] = byte(hs.hello.Vers>>8), byte(hs.hello.Vers)
	}
	if _, err := io.ReadFull(hs.p.Rand, random); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	ct, err := encryptPremaster(hs.leaf.PublicKey.(*rsa.PublicKey), b)
	if err != nil {
		return nil, fmt.Errorf("encrypting the premaster secret: %w", err)
	}
	return wire.NewClientKeyExchangeRSA(ct), nil
}

func (hs *clientHandshake) write(m interface{ Marshal() ([]byte, error) }) error {
	raw, err := m.Marshal()
	if err != nil {
		return err
	}
	hs.transcript.add(raw)
	return hs.tr.WriteHandshake(raw)
}

// readServerFinished waits for the server's change_cipher_spec and checks
// its Finished.
func (hs *clientHandshake) readServerFinished(ctx context.Context) error {
	if err := hs.tr.ReadChangeCipherSpec(ctx); err != nil {
		return err
	}
	if err := hs.tr.SetReadProtection(hs.pending.takeRead()); err != nil {
		return err
	}
	fin, err := expect(ctx, hs.tr, wire.TypeFinished, "server Finished", wire.ParseFinished)
	if err != nil {
		return err
	}
	if err := checkFinished(hs.suite, hs.master, "server finished", hs.transcript.sum(), fin.VerifyData); err != nil {
		return fmt.Errorf("server %w", err)
	}
	hs.transcript.add(fin.Raw)
	return nil
}

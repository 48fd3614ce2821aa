package tls12

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// premaster computes the premaster secret from the ClientKeyExchange.
func (hs *serverHandshake) premaster(ckx *wire.ClientKeyExchange) (*mem.Secret, error) {
	if hs.suite.KX != RSA {
		pub, err := ckx.ECDHPublic()
		if err != nil {
			return nil, err
		}
		return hs.share.Shared(pub)
	}
	if hs.serverPM != nil {
		// The server made the premaster; the client's key exchange is
		// empty (docs/PREMASTER.md §2).
		if len(ckx.Body) != 2 || ckx.Body[0] != 0 || ckx.Body[1] != 0 {
			return nil, fmt.Errorf("ClientKeyExchange carries a premaster although the server made it: %w", alert.ErrIllegalParameter)
		}
		pm := hs.serverPM
		hs.serverPM = nil
		return pm, nil
	}
	ct, err := ckx.EncryptedPremaster()
	if err != nil {
		return nil, err
	}
	return rsaPremaster(hs.p.Rand, hs.cert.Signer.(crypto.Decrypter), ct, hs.hello.Vers, !hs.randomPremaster)
}

const premasterLen = 48

// rsaPremaster decrypts an RSA-encrypted premaster secret with the
// Bleichenbacher countermeasure of RFC 5246 §7.4.7.1: a random premaster is
// made first, and whatever goes wrong (a decryption error from the
// backend, a wrong length, the wrong version bytes) the handshake goes on
// with the random one, chosen in constant time, so the peer sees the same
// alert (a bad Finished) and the same code path either way.
//
// checkVersion is false when both ends agreed to a fully random premaster
// (docs/PREMASTER.md): the first two bytes are then random too.
func rsaPremaster(rnd io.Reader, key crypto.Decrypter, ct []byte, clientVersion uint16, checkVersion bool) (*mem.Secret, error) {
	fake, err := mem.New(premasterLen)
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rnd, fake.Bytes()); err != nil {
		fake.Free()
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	out, err := mem.New(premasterLen)
	if err != nil {
		fake.Free()
		return nil, err
	}
	defer fake.Free()
	// With SessionKeyLen set, crypto/rsa itself answers a bad padding with
	// random bytes in constant time; other backends may return an error,
	// which is folded into the same selection below.
	//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
	plain, decErr := key.Decrypt(rnd, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: premasterLen})
	good := subtle.ConstantTimeEq(int32(len(plain)), premasterLen)
	if decErr != nil {
		good = 0
	}
	buf := make([]byte, premasterLen)
	copy(buf, plain)
	clear(plain)
	// The first two bytes must be the version the client offered. The
	// choice depends only on the negotiated extension, never on the
	// plaintext.
	if checkVersion {
		good &= subtle.ConstantTimeByteEq(buf[0], byte(clientVersion>>8))
		good &= subtle.ConstantTimeByteEq(buf[1], byte(clientVersion))
	}
	dst := out.Bytes()
	copy(dst, fake.Bytes())
	subtle.ConstantTimeCopy(good, dst, buf)
	clear(buf)
	return out, nil
}

// readClientCertificate reads the client's Certificate and applies the
// client-auth policy.
func (hs *serverHandshake) readClientCertificate(ctx context.Context) ([]*x509.Certificate, error) {
	msg, err := hs.tr.ReadHandshake(ctx)
	if err != nil {
		return nil, err
	}
	var cm *wire.Certificate12
	switch {
	case hs.certURL && len(msg) > 0 && msg[0] == wire.TypeCertificateURL:
		// RFC 6066 §5: URLs and hashes in place of the chain.
		cu, err := wire.ParseCertificateURL(msg)
		if err != nil {
			return nil, fmt.Errorf("parsing CertificateURL: %w", err)
		}
		chain, err := hs.fetchCertificates(ctx, cu)
		if err != nil {
			return nil, err
		}
		hs.transcript.add(cu.Raw)
		cm = &wire.Certificate12{Certificates: chain}
		if hs.clientMsg, err = cm.Marshal(); err != nil {
			return nil, err
		}
	case len(msg) > 0 && msg[0] == wire.TypeCertificate:
		full, err := hs.restoreProffered(msg)
		if err != nil {
			return nil, err
		}
		if cm, err = wire.ParseCertificate12(full); err != nil {
			return nil, fmt.Errorf("parsing client Certificate: %w", err)
		}
		hs.clientMsg = full
		hs.transcript.add(msg)
	default:
		return nil, fmt.Errorf("expected client Certificate: %w", alert.ErrUnexpectedMessage)
	}
	if len(cm.Certificates) == 0 {
		switch hs.p.ClientAuth {
		case params.RequireAnyClientCert, params.RequireAndVerifyClientCert:
			// RFC 5246 §7.4.6: handshake_failure (TLS 1.2 has no
			// certificate_required).
			return nil, fmt.Errorf("client sent no certificate: %w", alert.ErrHandshakeFailure)
		}
		return nil, nil
	}
	// Verified under the verifying policies; under the others only parsed,
	// and judged by the application's VerifyPeerCertificate, if any.
	certs, chains, err := params.VerifyChain(hs.p, cm.Certificates, false)
	if err != nil {
		return nil, err
	}
	hs.state.VerifiedChains = chains
	hs.state.PeerCertificates = certs
	return certs, nil
}

// readCertificateVerify checks the client's signature over the handshake
// messages so far (RFC 5246 §7.4.8).
func (hs *serverHandshake) readCertificateVerify(ctx context.Context, leaf *x509.Certificate) error {
	cv, err := expect(ctx, hs.tr, wire.TypeCertificateVerify, "client CertificateVerify", wire.ParseCertificateVerify)
	if err != nil {
		return err
	}
	pub, err := sigscheme.CertPublicKey(leaf)
	if err != nil {
		return err
	}
	if err := sigscheme.Verify(sigscheme.VersionTLS12, hs.p.Verifiable(sigscheme.VersionTLS12), pub, sigscheme.Scheme(cv.Algorithm), hs.transcript.msgs, cv.Signature); err != nil {
		return fmt.Errorf("client CertificateVerify: %w", err)
	}
	hs.state.PeerScheme = sigscheme.Scheme(cv.Algorithm)
	hs.transcript.add(cv.Raw)
	return nil
}

// installKeys derives the key block and prepares both directions'
// protection; the read side is switched at the client's
// change_cipher_spec, the write side at ours.
func (hs *serverHandshake) installKeys() error {
	kb, err := deriveKeyBlock(hs.suite, hs.master, hs.hello.Random[:], hs.random[:])
	if err != nil {
		return err
	}
	defer kb.free()
	r, w, err := newProtections(hs.suite, kb, false, hs.etm, hs.p.Rand)
	if err != nil {
		return err
	}
	hs.pending = pendingKeys{read: r, write: w}
	return nil
}

// sendFinished answers with change_cipher_spec and the server Finished.
func (hs *serverHandshake) sendFinished() error {
	if hs.issueTicket {
		if err := hs.sendTicket(); err != nil {
			return err
		}
	}
	verify, err := finishedData(hs.suite, hs.master, "server finished", hs.transcript.sum())
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
	if err := hs.tr.Flush(); err != nil {
		return err
	}
	st := &hs.state
	st.Suite, st.Group, st.ALPN, st.ServerName = hs.suite, hs.group, hs.alpn, hs.hello.ServerName
	st.ExtendedMaster, st.SecureRenegotation = true, hs.secureReneg
	st.ClientRandom, st.ServerRandom = hs.hello.Random, hs.random
	if hs.suite.KX == RSA {
		st.Group = 0
	}
	return nil
}

package tls12

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// The server-generated premaster, a Holdfast extension for RSA key
// transport with mutual authentication (docs/PREMASTER.md §2): the server
// makes the 48-byte premaster, encrypts it to the client's certificate key
// and signs the ciphertext with its own key in the ServerKeyExchange
// position; the client checks the signature, then decrypts through its
// crypto.Decrypter, and sends an empty ClientKeyExchange. The server knows
// the client's key at ServerHello time only through the proffered client
// certificate, so both must have been agreed, and the chain the server
// holds is the one the client must then send. The empty extension sits
// under the private-use code point p.ServerPremaster in both hellos.

// agreeServerPremaster acknowledges the extension when the suite is RSA
// key transport and the server holds an RSA client chain from the
// proffer; it then lists only that chain, so that the client sends it.
func (hs *serverHandshake) agreeServerPremaster(sh *wire.ServerHello) error {
	cp := hs.p.ServerPremaster
	if cp == 0 || hs.suite.KX != RSA || len(hs.held.listed) == 0 ||
		(hs.p.ClientAuth != params.RequireAnyClientCert && hs.p.ClientAuth != params.RequireAndVerifyClientCert) {
		return nil
	}
	i := slices.IndexFunc(hs.hello.Unknown, func(e wire.Extension) bool { return e.Type == cp })
	if i < 0 {
		return nil
	}
	if len(hs.hello.Unknown[i].Data) != 0 {
		return fmt.Errorf("ClientHello: server-premaster extension with a body: %w", alert.ErrDecode)
	}
	for k, msg := range hs.held.msgs {
		cm, err := wire.ParseCertificate12(msg)
		if err != nil || len(cm.Certificates) == 0 {
			continue
		}
		leaf, err := x509.ParseCertificate(cm.Certificates[0])
		if err != nil {
			continue
		}
		pub, ok := leaf.PublicKey.(*rsa.PublicKey)
		if !ok {
			continue
		}
		hs.clientKey = pub
		hs.held.listed, hs.held.msgs = hs.held.listed[k:k+1], hs.held.msgs[k:k+1]
		body, err := wire.MarshalClientCachedInfo(hs.held.listed)
		if err != nil {
			return err
		}
		for j := range sh.Unknown {
			if sh.Unknown[j].Type == hs.p.ProfferedCert {
				sh.Unknown[j].Data = body
			}
		}
		sh.Unknown = append(sh.Unknown, wire.Extension{Type: cp})
		return nil
	}
	return nil
}

// sendServerPremaster makes the premaster, encrypts it to the client's key
// and signs the ciphertext.
func (hs *serverHandshake) sendServerPremaster(ctx context.Context) error {
	pm, err := mem.New(premasterLen)
	if err != nil {
		return err
	}
	hs.serverPM = pm
	if _, err := io.ReadFull(hs.p.Rand, pm.Bytes()); err != nil {
		return fmt.Errorf("reading randomness: %w", err)
	}
	// PKCS #1 v1.5: the client decrypts through crypto.Decrypter backends
	// (PKCS#11, TPM) that offer it; it checks the signature first, so
	// there is no padding oracle.
	ct, err := encryptPremaster(hs.clientKey, pm.Bytes())
	if err != nil {
		return fmt.Errorf("encrypting the premaster to the client's key: %w", err)
	}
	if hs.scheme == 0 {
		// RSA key transport chose no scheme: pick one as for a
		// ServerKeyExchange.
		peer := make([]sigscheme.Scheme, len(hs.hello.SignatureAlgorithms))
		for i, v := range hs.hello.SignatureAlgorithms {
			peer[i] = sigscheme.Scheme(v)
		}
		if hs.scheme, err = sigscheme.Choose(sigscheme.VersionTLS12, hs.cert.CertKey(), peer, hs.cert.Schemes(sigscheme.VersionTLS12)); err != nil {
			return fmt.Errorf("no signature scheme in common for the server premaster: %w: %w", err, alert.ErrHandshakeFailure)
		}
	}
	m := &wire.ServerPremaster{EncryptedPremaster: ct, Algorithm: uint16(hs.scheme)}
	if m.Signature, err = sigscheme.Sign(ctx, hs.cert.Signer, hs.scheme, m.SignedContent(hs.hello.Random[:], hs.random[:])); err != nil {
		return fmt.Errorf("signing the server premaster with %v: %w", hs.scheme, err)
	}
	return hs.write(m)
}

// takeServerPremaster reads the server's acknowledgement: only to an
// offer, only with RSA key transport and a chain the server holds.
func (hs *clientHandshake) takeServerPremaster(sh *wire.ServerHello) error {
	cp := hs.p.ServerPremaster
	i := slices.IndexFunc(sh.Unknown, func(e wire.Extension) bool { return cp != 0 && e.Type == cp })
	if i < 0 {
		return nil
	}
	if !slices.ContainsFunc(hs.hello.Unknown, func(e wire.Extension) bool { return e.Type == cp }) {
		return nil // left in Unknown: unsupported_extension
	}
	if len(sh.Unknown[i].Data) != 0 {
		return fmt.Errorf("ServerHello: server-premaster extension with a body: %w", alert.ErrDecode)
	}
	if hs.suite.KX != RSA || len(hs.serverHolds) != 1 {
		return fmt.Errorf("ServerHello agrees to a server premaster with %v and %d held chains: %w", hs.suite, len(hs.serverHolds), alert.ErrIllegalParameter)
	}
	hs.serverPremaster = true
	sh.Unknown = append(sh.Unknown[:i:i], sh.Unknown[i+1:]...)
	return nil
}

// readServerPremaster checks the server's signature over the encrypted
// premaster, then decrypts it with the key of the client chain the server
// holds.
func (hs *clientHandshake) readServerPremaster(ctx context.Context) error {
	m, err := expect(ctx, hs.tr, wire.TypeServerKeyExchange, "ServerKeyExchange (server premaster)", wire.ParseServerPremaster)
	if err != nil {
		return err
	}
	hs.transcript.add(m.Raw)
	pub, err := sigscheme.CertPublicKey(hs.leaf)
	if err != nil {
		return err
	}
	if err := sigscheme.Verify(sigscheme.VersionTLS12, hs.p.Verifiable(sigscheme.VersionTLS12), pub, sigscheme.Scheme(m.Algorithm),
		m.SignedContent(hs.hello.Random[:], hs.server.Random[:]), m.Signature); err != nil {
		return fmt.Errorf("server premaster: %w", err)
	}
	hs.state.PeerScheme = sigscheme.Scheme(m.Algorithm)
	c := hs.heldCertificate()
	if c == nil {
		return fmt.Errorf("the server holds a chain this client no longer has: %w", alert.ErrIllegalParameter)
	}
	dec, ok := c.Signer.(crypto.Decrypter)
	if !ok {
		return errors.New("the client key for the server premaster cannot decrypt")
	}
	//lint:ignore SA1019 the backends (PKCS#11, TPM) decrypt PKCS #1 v1.5; the server's signature over the ciphertext was checked above, so no padding oracle is exposed.
	plain, err := dec.Decrypt(rand.Reader, m.EncryptedPremaster, &rsa.PKCS1v15DecryptOptions{})
	if err != nil || len(plain) != premasterLen {
		clear(plain)
		return fmt.Errorf("decrypting the server premaster (%d bytes): %v: %w", len(plain), err, alert.ErrDecryptError)
	}
	pm, err := mem.New(premasterLen)
	if err != nil {
		clear(plain)
		return err
	}
	copy(pm.Bytes(), plain)
	clear(plain)
	hs.premaster = pm
	return nil
}

// heldCertificate is the client chain whose Certificate message the server
// said it holds.
func (hs *clientHandshake) heldCertificate() *params.Certificate {
	for _, c := range hs.p.ClientCertificates {
		raw, err := (&wire.Certificate12{Certificates: c.Chain}).Marshal()
		if err != nil {
			continue
		}
		d := sha256.Sum256(raw)
		if slices.ContainsFunc(hs.serverHolds, func(h []byte) bool { return string(h) == string(d[:]) }) {
			return c
		}
	}
	return nil
}

// encryptPremaster encrypts a premaster to an RSA key (PKCS #1 v1.5, RFC
// 5246 §7.4.7.1). crypto/rsa works on heap copies of the plaintext; under
// runtime/secret (the runtimesecret build) erase.Do wipes them.
func encryptPremaster(pub *rsa.PublicKey, pm []byte) (ct []byte, err error) {
	erase.Do(func() {
		//lint:ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, pub, pm)
	})
	return ct, err
}

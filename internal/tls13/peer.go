package tls13

import (
	"context"
	"crypto/hmac"
	"crypto/x509"
	"fmt"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/mem"
)

// Steps both sides take the same way, named for the peer they read.

// readCertificateVerify reads the peer's CertificateVerify and checks its
// signature by leaf over the transcript so far (RFC 8446 §4.4.3), made
// with one of the accepted schemes. It returns the scheme the peer signed
// with.
func readCertificateVerify(ctx context.Context, tr Transport, t *transcript, leaf *x509.Certificate, accepted []sigscheme.Scheme, peerIsServer bool) (sigscheme.Scheme, error) {
	peer := "client"
	if peerIsServer {
		peer = "server"
	}
	cv, err := expectMsg(ctx, tr, wire.TypeCertificateVerify, peer+" CertificateVerify", wire.ParseCertificateVerify)
	if err != nil {
		return 0, err
	}
	scheme := sigscheme.Scheme(cv.Algorithm)
	if err := verifyCertificateVerify(leaf, accepted, scheme, signedContent(peerIsServer, t.sum()), cv.Signature); err != nil {
		return 0, fmt.Errorf("%s CertificateVerify: %w", peer, err)
	}
	t.add(cv.Raw)
	return scheme, nil
}

// readFinished reads the peer's Finished and checks it against the
// transcript with the peer's handshake traffic secret (RFC 8446 §4.4.4).
func readFinished(ctx context.Context, tr Transport, t *transcript, s Suite, peerHS *mem.Secret, peer string) error {
	fin, err := expectMsg(ctx, tr, wire.TypeFinished, peer+" Finished", wire.ParseFinished)
	if err != nil {
		return err
	}
	if err := checkLen(peer+" Finished", len(fin.VerifyData), s.Hash.Size()); err != nil {
		return err
	}
	want, err := finishedMAC(s, peerHS, t.sum())
	if err != nil {
		return err
	}
	if !hmac.Equal(want, fin.VerifyData) {
		return fmt.Errorf("%s Finished does not match the transcript: %w", peer, alert.ErrDecryptError)
	}
	t.add(fin.Raw)
	return nil
}

// deriveApplicationSecrets computes the master secret (wiping the
// handshake secret), the application traffic and exporter secrets over the
// transcript through the server Finished, and logs them if asked. The
// master secret is returned for the resumption secret, which needs the
// transcript through the client Finished; the caller frees it.
func deriveApplicationSecrets(p *params.Params, hs *hkdf.HandshakeSecret, th, clientRandom []byte, st *State) (*hkdf.MasterSecret, error) {
	ms, err := hs.Master()
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*hkdf.MasterSecret, error) {
		ms.Free()
		return nil, err
	}
	if st.ClientTrafficSecret, err = ms.ClientTrafficSecret(th); err != nil {
		return fail(err)
	}
	if st.ServerTrafficSecret, err = ms.ServerTrafficSecret(th); err != nil {
		return fail(err)
	}
	if st.ExporterSecret, err = ms.ExporterMasterSecret(th); err != nil {
		return fail(err)
	}
	for _, l := range []struct {
		label string
		s     *mem.Secret
	}{{"CLIENT_TRAFFIC_SECRET_0", st.ClientTrafficSecret}, {"SERVER_TRAFFIC_SECRET_0", st.ServerTrafficSecret}, {"EXPORTER_SECRET", st.ExporterSecret}} {
		if err := params.LogKey(p.KeyLog, l.label, clientRandom, l.s); err != nil {
			return fail(err)
		}
	}
	return ms, nil
}

// deriveHandshakeSecrets runs the key schedule from the early secret
// (that of a resumption PSK, or nil for a full handshake) and the (EC)DHE
// shared secret to both handshake traffic secrets over the transcript
// through ServerHello (RFC 8446 §7.1), logging them if asked. The early
// secret is consumed (wiped); the shared secret is only read, the caller
// frees it, and owns the three results.
func deriveHandshakeSecrets(p *params.Params, s Suite, early *hkdf.EarlySecret, shared *mem.Secret, th, clientRandom []byte) (hs *hkdf.HandshakeSecret, client, server *mem.Secret, err error) {
	if early == nil {
		if early, err = hkdf.NewEarlySecret(s.Hash, nil); err != nil {
			return nil, nil, nil, err
		}
	}
	defer early.Free()
	if hs, err = early.Handshake(shared); err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error) (*hkdf.HandshakeSecret, *mem.Secret, *mem.Secret, error) {
		hs.Free()
		client.Free()
		server.Free()
		return nil, nil, nil, err
	}
	if client, err = hs.ClientTrafficSecret(th); err != nil {
		return fail(err)
	}
	if server, err = hs.ServerTrafficSecret(th); err != nil {
		return fail(err)
	}
	if err := params.LogKey(p.KeyLog, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", clientRandom, client); err != nil {
		return fail(err)
	}
	if err := params.LogKey(p.KeyLog, "SERVER_HANDSHAKE_TRAFFIC_SECRET", clientRandom, server); err != nil {
		return fail(err)
	}
	return hs, client, server, nil
}

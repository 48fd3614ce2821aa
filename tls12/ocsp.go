package tls12

import (
	"context"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// OCSP stapling in TLS 1.2 (RFC 6066 §8): a client asks with
// status_request in its ClientHello; a server that will staple answers
// with an empty status_request in its ServerHello and sends the
// CertificateStatus message right after its Certificate. A resumed
// handshake sends no Certificate, so no CertificateStatus either.

// staplesOCSP reports whether this server staples an OCSP response in
// this handshake: a full handshake, a client that asked, a certificate
// with a response, stapling not turned off.
func (hs *serverHandshake) staplesOCSP() bool {
	return !hs.resumed && !hs.p.OCSPStaplingOff && len(hs.cert.OCSPStaple) > 0 && hs.hello.WantsOCSP()
}

// sendCertificateStatus sends the leaf's OCSP response after the
// Certificate, when the ServerHello promised it.
func (hs *serverHandshake) sendCertificateStatus(sh *wire.ServerHello) error {
	if !sh.StatusRequest {
		return nil
	}
	return hs.write(&wire.CertificateStatus{Response: hs.cert.OCSPStaple})
}

// checkStatusAck refuses a ServerHello status_request the client did not
// ask for (RFC 5246 §7.4.1.4: unsupported_extension). On a resumed
// handshake the acknowledgement is tolerated and means nothing: there is
// no Certificate to staple to (RFC 6066 §8 lets only a full handshake
// send CertificateStatus).
func (hs *clientHandshake) checkStatusAck() error {
	if hs.server.StatusRequest && !hs.hello.StatusRequest {
		return fmt.Errorf("ServerHello answers status_request, which the client did not send: %w", alert.ErrUnsupportedExtension)
	}
	return nil
}

// readCertificateStatus reads the CertificateStatus that may follow the
// server's Certificate when its ServerHello answered status_request. RFC
// 6066 §8 lets a server that answered send none after all, so any other
// message is handed back to the next step. A CertificateStatus without
// the answer is unexpected_message.
func (hs *clientHandshake) readCertificateStatus(ctx context.Context) error {
	msg, err := hs.tr.ReadHandshake(ctx)
	if err != nil {
		return err
	}
	if len(msg) == 0 || msg[0] != wire.TypeCertificateStatus {
		hs.tr = &pushedBack{Transport: hs.tr, msg: msg}
		return nil
	}
	if !hs.server.StatusRequest {
		return fmt.Errorf("CertificateStatus without status_request in the ServerHello: %w", alert.ErrUnexpectedMessage)
	}
	cs, err := wire.ParseCertificateStatus(msg)
	if err != nil {
		return fmt.Errorf("parsing CertificateStatus: %w", err)
	}
	hs.transcript.add(cs.Raw)
	hs.state.OCSPResponse = cs.Response
	return nil
}

// pushedBack is a Transport whose next ReadHandshake returns a message
// already read.
type pushedBack struct {
	Transport
	msg []byte
}

func (p *pushedBack) ReadHandshake(ctx context.Context) ([]byte, error) {
	if msg := p.msg; msg != nil {
		p.msg = nil
		return msg, nil
	}
	return p.Transport.ReadHandshake(ctx)
}

// ReadChangeCipherSpec refuses to skip a message handed back and never
// read: it would be lost.
func (p *pushedBack) ReadChangeCipherSpec(ctx context.Context) error {
	if p.msg != nil {
		return fmt.Errorf("handshake message before change_cipher_spec: %w", alert.ErrUnexpectedMessage)
	}
	return p.Transport.ReadChangeCipherSpec(ctx)
}

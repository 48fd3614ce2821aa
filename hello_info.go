package holdfast

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/tls13"
	"github.com/holdfast-tls/holdfast/internal/wire"
	"github.com/holdfast-tls/holdfast/tls12"
)

// ClientHelloInfo describes a client's first ClientHello to
// Config.GetConfigForClient and Config.GetCertificate, with the fields
// crypto/tls gives them. Its slices belong to the handshake: read them
// during the call, copy what must outlive it.
type ClientHelloInfo struct {
	// CipherSuites are the suites the client offers, in its order.
	CipherSuites []uint16
	// ServerName is the requested host name (SNI), empty if none.
	ServerName string
	// SupportedCurves are the key-exchange groups the client supports.
	SupportedCurves []CurveID
	// SupportedPoints are the EC point formats a TLS 1.2 client lists.
	SupportedPoints []uint8
	// SignatureSchemes are the signature schemes the client accepts in
	// CertificateVerify and ServerKeyExchange (constants in package
	// signer).
	SignatureSchemes []uint16
	// SupportedProtos are the ALPN protocols the client offers.
	SupportedProtos []string
	// SupportedVersions are the versions the client offers: its
	// supported_versions list, or, from a client without one, its
	// legacy_version and those below it down to TLS 1.0.
	SupportedVersions []uint16
	// Extensions are the extension types in the ClientHello, in order.
	Extensions []uint16
	// Conn is the underlying connection. Reading from or writing to it
	// breaks the handshake.
	Conn net.Conn

	ctx    context.Context
	config *Config
	params *params.Params
	hello  *wire.ClientHello
}

func newClientHelloInfo(ctx context.Context, conn net.Conn, config *Config, p *params.Params, hello *wire.ClientHello) *ClientHelloInfo {
	info := &ClientHelloInfo{
		CipherSuites:     hello.CipherSuites,
		ServerName:       hello.ServerName,
		SupportedPoints:  hello.ECPointFormats,
		SignatureSchemes: hello.SignatureAlgorithms,
		SupportedProtos:  hello.ALPN,
		Extensions:       hello.ExtensionOrder,
		Conn:             conn,
		ctx:              ctx,
		config:           config,
		params:           p,
		hello:            hello,
	}
	for _, g := range hello.SupportedGroups {
		info.SupportedCurves = append(info.SupportedCurves, CurveID(g))
	}
	info.SupportedVersions = hello.SupportedVersions
	if len(info.SupportedVersions) == 0 {
		for v := hello.Vers; v >= 0x0301 && v <= VersionTLS12; v-- {
			info.SupportedVersions = append(info.SupportedVersions, v)
		}
	}
	return info
}

// Context returns the handshake's context: cancelled when the handshake
// is abandoned, with its deadline.
func (info *ClientHelloInfo) Context() context.Context { return info.ctx }

// ErrCertificateUnsupported reports, from SupportsCertificate, a
// certificate this client could not be served with.
var ErrCertificateUnsupported = errors.New("holdfast: the client cannot be served with this certificate")

// SupportsCertificate returns nil if the server could serve c to this
// client under its Config: in some version both allow, with a signature
// scheme (and, in TLS 1.2, a cipher suite and group) that suits both c's
// key and the client. Otherwise it returns an error that wraps
// ErrCertificateUnsupported and says why. It lets GetCertificate choose
// between, say, an ECDSA and an RSA chain. It does not check the server
// name: GetCertificate chooses by name itself.
func (info *ClientHelloInfo) SupportsCertificate(c *Certificate) error {
	cert, err := info.config.prepared.get(c, "the certificate given to SupportsCertificate")
	if err != nil {
		return err
	}
	p := info.params
	var why []error
	if p.MaxVersion >= VersionTLS13 && slices.Contains(info.hello.SupportedVersions, VersionTLS13) {
		if err := tls13.CertificateFits(p, info.hello, cert); err != nil {
			why = append(why, fmt.Errorf("TLS 1.3: %w", err))
		} else {
			return nil
		}
	}
	if p.MinVersion <= VersionTLS12 && offers12(info.hello) {
		if err := tls12.CertificateFits(p, info.hello, cert); err != nil {
			why = append(why, fmt.Errorf("TLS 1.2: %w", err))
		} else {
			return nil
		}
	}
	if len(why) == 0 {
		why = append(why, errors.New("no protocol version in common"))
	}
	return fmt.Errorf("%w (%s): %w", ErrCertificateUnsupported, cert.Leaf.Subject, errors.Join(why...))
}

// CertificateRequestInfo describes a server's CertificateRequest to
// Config.GetClientCertificate, with the fields crypto/tls gives it.
type CertificateRequestInfo struct {
	// AcceptableCAs are the DER-encoded names of the CAs the server
	// trusts; empty means the server named none.
	AcceptableCAs [][]byte
	// SignatureSchemes are the schemes the server accepts in the
	// client's CertificateVerify.
	SignatureSchemes []uint16
	// Version is the negotiated protocol version.
	Version uint16

	ctx context.Context
}

// Context returns the handshake's context.
func (cri *CertificateRequestInfo) Context() context.Context { return cri.ctx }

// clientCertificateHook adapts Config.GetClientCertificate to the
// engines: the Certificate it returns is prepared (once per value) and
// checked like a configured one.
func (c *Config) clientCertificateHook(ctx context.Context, req params.ClientCertificateRequest) (*params.Certificate, error) {
	info := &CertificateRequestInfo{AcceptableCAs: req.CANames, Version: req.Version, ctx: ctx}
	for _, s := range req.Schemes {
		info.SignatureSchemes = append(info.SignatureSchemes, uint16(s))
	}
	cert, err := c.GetClientCertificate(info)
	if err != nil {
		return nil, fmt.Errorf("holdfast: Config.GetClientCertificate: %w", err)
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, nil // no certificate: an empty Certificate message
	}
	return c.prepared.get(cert, "the certificate from Config.GetClientCertificate")
}

// forClient applies the server's per-client hooks to the first
// ClientHello: GetConfigForClient may swap the Config, and GetCertificate
// may choose the certificate. It returns the Config and parameters the
// handshake goes on with.
func (c *Config) forClient(ctx context.Context, conn net.Conn, p *params.Params, hello *wire.ClientHello) (*Config, *params.Params, error) {
	cfg := c
	if c.GetConfigForClient != nil {
		swap, err := c.GetConfigForClient(newClientHelloInfo(ctx, conn, c, p, hello))
		if err != nil {
			return nil, nil, fmt.Errorf("holdfast: Config.GetConfigForClient for %q: %w", hello.ServerName, err)
		}
		if swap != nil {
			if p, err = swap.resolve(); err != nil {
				return nil, nil, fmt.Errorf("holdfast: the Config from GetConfigForClient for %q: %w", hello.ServerName, err)
			}
			cfg = swap
		}
	}
	if cfg.GetCertificate == nil {
		return cfg, p, nil
	}
	cert, err := cfg.GetCertificate(newClientHelloInfo(ctx, conn, cfg, p, hello))
	if err != nil {
		return nil, nil, fmt.Errorf("holdfast: Config.GetCertificate for %q: %w", hello.ServerName, err)
	}
	if cert == nil {
		return cfg, p, nil // Certificates serve this one
	}
	prepared, err := cfg.prepared.get(cert, "the certificate from Config.GetCertificate")
	if err != nil {
		return nil, nil, err
	}
	// This connection's parameters: the one certificate (for the
	// handshake and for resumption, which needs the session's own
	// certificate), and the version range its key allows.
	q := *p
	q.Certificates = []*params.Certificate{prepared}
	q.MaxVersion, q.VersionCapped = cfg.maxVersion(), ""
	if _, err := capVersionToKeys(&q); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", err, alert.ErrHandshakeFailure)
	}
	return cfg, &q, nil
}

// maxVersion is MaxVersion with its default.
func (c *Config) maxVersion() uint16 {
	if c.MaxVersion == 0 {
		return VersionTLS13
	}
	return c.MaxVersion
}

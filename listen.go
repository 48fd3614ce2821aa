package holdfast

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

type listener struct {
	net.Listener
	config *Config
}

// Accept waits for the next connection and returns it as a server-side
// *Conn; the handshake runs on first Read, Write or Handshake.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Server(c, l.config), nil
}

// NewListener wraps inner so that accepted connections are TLS servers.
// The Config is validated here, so a bad Config fails before any client
// connects.
func NewListener(inner net.Listener, config *Config) (net.Listener, error) {
	if _, err := config.resolve(); err != nil {
		return nil, err
	}
	if len(config.Certificates) == 0 && config.GetCertificate == nil && config.GetConfigForClient == nil {
		return nil, errors.New("holdfast: Config.Certificates is empty and neither GetCertificate nor GetConfigForClient is set: a server needs a certificate")
	}
	return &listener{Listener: inner, config: config}, nil
}

// Listen announces on the local address and returns a listener of TLS
// server connections.
func Listen(network, addr string, config *Config) (net.Listener, error) {
	if config == nil {
		return nil, errors.New("holdfast: Listen needs a Config")
	}
	if _, err := config.resolve(); err != nil {
		return nil, err
	}
	inner, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	l, err := NewListener(inner, config)
	if err != nil {
		inner.Close()
		return nil, err
	}
	return l, nil
}

// Dial connects to addr and runs a TLS handshake.
func Dial(network, addr string, config *Config) (*Conn, error) {
	return DialContext(context.Background(), network, addr, config)
}

// DialContext connects to addr and runs a TLS handshake bounded by ctx. If
// config has no ServerName, the host part of addr is used.
func DialContext(ctx context.Context, network, addr string, config *Config) (*Conn, error) {
	if config == nil {
		config = &Config{}
	}
	if config.ServerName == "" && !config.InsecureSkipVerify {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		host = strings.TrimSuffix(host, ".")
		c := config.Clone()
		c.ServerName = host
		config = c
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := Client(raw, config)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("holdfast: handshake with %s: %w", addr, err)
	}
	return conn, nil
}

// Clone returns a copy of the Config's settings (not its resolved state),
// safe to modify: every exported field is copied (TestConfigCloneCopiesEverySetting
// sets each one), slices into new backing arrays. Pools, the ticket key ring,
// the session cache, writers, readers and functions are shared, as in
// crypto/tls.
func (c *Config) Clone() *Config {
	return &Config{
		Certificates:                  slices.Clone(c.Certificates),
		GetCertificate:                c.GetCertificate,
		GetConfigForClient:            c.GetConfigForClient,
		GetClientCertificate:          c.GetClientCertificate,
		RootCAs:                       c.RootCAs,
		ServerName:                    c.ServerName,
		InsecureSkipVerify:            c.InsecureSkipVerify,
		ClientAuth:                    c.ClientAuth,
		ClientCAs:                     c.ClientCAs,
		NextProtos:                    slices.Clone(c.NextProtos),
		MinVersion:                    c.MinVersion,
		MaxVersion:                    c.MaxVersion,
		CipherSuites:                  slices.Clone(c.CipherSuites),
		CurvePreferences:              slices.Clone(c.CurvePreferences),
		VerifySignatureSchemes:        slices.Clone(c.VerifySignatureSchemes),
		VerifyPeerCertificate:         c.VerifyPeerCertificate,
		VerifyConnection:              c.VerifyConnection,
		KeyLogWriter:                  c.KeyLogWriter,
		HandshakeTrace:                c.HandshakeTrace,
		Time:                          c.Time,
		Rand:                          c.Rand,
		HandshakeTimeout:              c.HandshakeTimeout,
		AnnounceCAs:                   c.AnnounceCAs,
		AnnouncedRoots:                slices.Clone(c.AnnouncedRoots),
		CertificateCompressors:        slices.Clone(c.CertificateCompressors),
		VerifiedChainCacheSize:        c.VerifiedChainCacheSize,
		CachedCertificates:            c.CachedCertificates,
		DisableTLS12CachedInfo:        c.DisableTLS12CachedInfo,
		CachedInfoCodePoint:           c.CachedInfoCodePoint,
		ProfferClientCertificate:      c.ProfferClientCertificate,
		ProfferedCertCodePoint:        c.ProfferedCertCodePoint,
		CertificateURLPrefixes:        slices.Clone(c.CertificateURLPrefixes),
		ServerGeneratedPremaster:      c.ServerGeneratedPremaster,
		ServerPremasterCodePoint:      c.ServerPremasterCodePoint,
		RandomPremaster:               c.RandomPremaster,
		RandomPremasterCodePoint:      c.RandomPremasterCodePoint,
		DisableCertificateCompression: c.DisableCertificateCompression,
		DisableOCSPStapling:           c.DisableOCSPStapling,
		VerifyOCSPResponse:            c.VerifyOCSPResponse,
		SessionTicketsDisabled:        c.SessionTicketsDisabled,
		TicketKeys:                    c.TicketKeys,
		TicketLifetime:                c.TicketLifetime,
		TicketsPerHandshake:           c.TicketsPerHandshake,
		SingleUseTickets:              c.SingleUseTickets,
		AllowPSKOnlyResumption:        c.AllowPSKOnlyResumption,
		ClientSessionCache:            c.ClientSessionCache,
		SessionCacheSize:              c.SessionCacheSize,
		SessionIDLifetime:             c.SessionIDLifetime,
		Logger:                        c.Logger,
	}
}

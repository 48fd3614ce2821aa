package params

import (
	"context"
	"crypto"
	"crypto/x509"
	"io"
	"time"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/session"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
)

// Certificate is a certificate chain and the signer for its leaf's key.
type Certificate struct {
	Chain  [][]byte          // DER, leaf first
	Leaf   *x509.Certificate // parsed Chain[0]
	Signer crypto.Signer     // the leaf's private key, in a backend
	// OCSPStaple is the DER OCSP response for the leaf that a server
	// staples when the client asks (RFC 6066 §8, RFC 8446 §4.4.2.1);
	// nil for none.
	OCSPStaple []byte
	// URLs, when set, holds where each certificate of Chain can be
	// fetched (leaf first): a TLS 1.2 client that agreed to
	// client_certificate_url (RFC 6066 §5) sends them instead of the
	// chain.
	URLs []string
	// CANames are the DER subjects and issuers of every certificate in
	// the chain: the CAs a client may name (certificate_authorities,
	// RFC 8446 §4.2.4) to get this chain rather than another.
	CANames [][]byte
	// CAKeySHA1 and CACertSHA1 are the SHA-1 hashes of the key (RFC 6066
	// key_sha1_hash) and of the DER certificate of every CA certificate
	// in the chain: what a TLS 1.2 client may name in trusted_ca_keys.
	// NewCertificate fills them and CANames.
	CAKeySHA1  [][20]byte
	CACertSHA1 [][20]byte
}

// IssuedUnder reports whether the chain runs through a CA whose DER name
// is in names.
func (c *Certificate) IssuedUnder(names [][]byte) bool {
	for _, n := range names {
		for _, m := range c.CANames {
			if string(n) == string(m) {
				return true
			}
		}
	}
	return false
}

// ClientAuth is the server's policy for client certificates.
type ClientAuth int

const (
	NoClientCert ClientAuth = iota
	RequestClientCert
	RequireAnyClientCert
	VerifyClientCertIfGiven
	RequireAndVerifyClientCert
)

// Verifies reports whether the policy verifies the chain a client sends.
func (a ClientAuth) Verifies() bool {
	return a == VerifyClientCertIfGiven || a == RequireAndVerifyClientCert
}

// Params is the immutable configuration of one handshake, resolved by the
// public API from its Config and shared by both engines. Nothing in it is
// modified by an engine.
type Params struct {
	Rand io.Reader
	Time func() time.Time

	// MinVersion and MaxVersion bound the protocol version (0x0303 or
	// 0x0304).
	MinVersion, MaxVersion uint16
	// VersionCapped, when set, says why MaxVersion was lowered to TLS 1.2
	// (the keys cannot sign for TLS 1.3); it explains the protocol_version
	// alert a TLS 1.3-only peer gets.
	VersionCapped string

	Suites   []uint16    // TLS 1.3 suites, in preference order
	Suites12 []uint16    // TLS 1.2 suites, in preference order
	Groups   []kex.Group // in preference order
	// KeyShares is how many of the first Groups a client sends shares
	// for in its first ClientHello (at least 1).
	KeyShares  int
	NextProtos []string // ALPN, in preference order

	// Server side.
	Certificates []*Certificate
	ClientAuth   ClientAuth
	ClientCAs    *x509.CertPool

	// Client side.
	ServerName         string
	Roots              *x509.CertPool
	InsecureSkipVerify bool
	ClientCertificates []*Certificate
	// ClientCertificateFor, when set, chooses the chain a client answers
	// a CertificateRequest with, in place of ClientCertificates
	// (Config.GetClientCertificate); nil with no error sends none.
	ClientCertificateFor func(ctx context.Context, req ClientCertificateRequest) (*Certificate, error)

	// VerifyPeer, if set, runs after the chain is verified (or instead of
	// it with InsecureSkipVerify) with the peer's chain and the verified
	// chains; an error aborts the handshake with bad_certificate.
	VerifyPeer func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error

	// KeyLog receives the traffic secrets in the NSS key log format, for
	// debugging with Wireshark. It defeats the memory promise by design.
	KeyLog io.Writer

	// Tickets seals and opens session tickets; nil means a server issues
	// and accepts none.
	Tickets session.Sealer
	// TicketLifetime bounds how long a ticket is offered and accepted
	// (at most 7 days, RFC 8446 §4.6.1).
	TicketLifetime time.Duration
	// TicketCount is how many TLS 1.3 tickets a server sends after a full
	// handshake.
	TicketCount int
	// AllowPSKOnly accepts TLS 1.3 resumption without a fresh (EC)DHE
	// exchange (psk_ke), which gives up forward secrecy for the resumed
	// connection: opt-in only.
	AllowPSKOnly bool
	// Used, when set, makes tickets single-use: a server remembers the
	// tickets it accepted until they expire and refuses them again.
	Used *session.ReplayFilter
	// ClientSessions keeps the tickets a client receives; nil disables
	// resumption on a client.
	ClientSessions session.ClientStore
	// SessionIDs is a TLS 1.2 server's session-ID cache; nil disables it.
	SessionIDs *session.IDCache
	// AnnounceCAs makes a client name the CAs it trusts (the subjects of
	// Roots) in certificate_authorities, so that a server with several
	// chains sends one this client can verify.
	AnnounceCAs bool
	// AnnouncedCAs are the CAs a TLS 1.2-capable client with AnnounceCAs
	// names in trusted_ca_keys (RFC 6066 §6).
	AnnouncedCAs []CAVersion
	// OCSPStaplingOff stops a client asking for, and a server sending, a
	// stapled OCSP response (status_request, RFC 6066 §8).
	OCSPStaplingOff bool
	// VerifyPrefs are the signature schemes accepted from the peer, in
	// preference order; nil means all Holdfast verifies (see Verifiable).
	VerifyPrefs []sigscheme.Scheme
	// VerifyOCSP, if set, judges the server's stapled OCSP response on a
	// client that asked for one (see CheckOCSP).
	VerifyOCSP func(response []byte, peerCertificates []*x509.Certificate) error
	// CertCompressors are the certificate compression algorithms (RFC
	// 8879) offered and used, in preference order; empty turns
	// compression off.
	CertCompressors []certcompress.Compressor
	// Compressed remembers compressed chains, so that a server (or a
	// client answering a CertificateRequest) compresses each once.
	Compressed *CompressedCache
	// Chains remembers verified peer chains (nil: verify every time).
	Chains *ChainCache

	// CachedInfo13 is the private-use extension code point under which
	// TLS 1.3 peers exchange cached_info (RFC 7924's structures; no RFC
	// defines it for TLS 1.3); zero turns it off. A client offers the
	// digests of the Certificate messages in KnownChains for its server
	// name; a server replaces its Certificate with the digest when the
	// client already holds it. Non-zero also means CachedCertificates is
	// on for type 224, the certificates named one by one, in both
	// versions (a renewed leaf: the client names each certificate it
	// holds, a server sends those as digests; cachedinfo_certs.go in
	// each engine).
	CachedInfo13 uint16
	// KnownChains is a client's store of server Certificate (and TLS 1.2
	// CertificateRequest) messages.
	KnownChains *KnownChains
	// OfferCachedInfo12 makes a client offer RFC 7924 cached_info for TLS
	// 1.2 (the digests in KnownChains); ServeCachedInfo12 makes a TLS 1.2
	// server honour it.
	OfferCachedInfo12, ServeCachedInfo12 bool

	// ProfferedCert is the private-use code point of the proffered
	// client certificate (TLS 1.3, a Holdfast extension); zero turns it
	// off. A client names the digests of its Certificate messages in its
	// ClientHello; a server lists in its CertificateRequest those it holds
	// in HeldChains, and the client sends the digest of one of those
	// instead of its chain.
	ProfferedCert uint16
	// HeldChains is a server's store of client Certificate messages.
	HeldChains *HeldChains

	// FetchCertificate, when set, lets a TLS 1.2 server accept
	// client_certificate_url (RFC 6066 §5): it fetches one DER
	// certificate by URL, within the server's allow-list, limits and
	// timeouts.
	FetchCertificate func(ctx context.Context, url string) ([]byte, error)

	// ServerPremaster is the private-use code point of the
	// server-generated premaster (TLS 1.2 RSA key transport with the
	// proffered client certificate, a Holdfast extension); zero turns it
	// off.
	ServerPremaster uint16

	// RandomPremaster is the private-use code point of the fully random
	// premaster (TLS 1.2 RSA key transport, a Holdfast extension); zero
	// turns it off.
	RandomPremaster uint16
}

// ClientCANames returns the DER subjects of ClientCAs, which a server sends
// in its CertificateRequest so a client with several certificates can pick
// one the server will verify (RFC 5246 §7.4.4, RFC 8446 §4.2.4). Nil when
// no pool is set.
func (p *Params) ClientCANames() [][]byte {
	if p.ClientCAs == nil {
		return nil
	}
	//lint:ignore SA1019 Subjects is only unreliable for the system pool; ClientCAs is the caller's own pool.
	return p.ClientCAs.Subjects()
}

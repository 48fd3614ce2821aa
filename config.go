package holdfast

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/internal/kex"
	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
	"github.com/holdfast-tls/holdfast/internal/tls13"
	"github.com/holdfast-tls/holdfast/tickets"
	"github.com/holdfast-tls/holdfast/tls12"
)

// DefaultCachedInfoCodePoint is the private-use extension type Holdfast
// peers use for cached information in TLS 1.3 (Config.CachedCertificates)
// unless Config.CachedInfoCodePoint names another.
const DefaultCachedInfoCodePoint uint16 = 0xFFC1

// DefaultProfferedCertCodePoint is the private-use extension type Holdfast
// peers use for the proffered client certificate in TLS 1.3
// (Config.ProfferClientCertificate) unless
// Config.ProfferedCertCodePoint names another.
const DefaultProfferedCertCodePoint uint16 = 0xFFC2

// DefaultRandomPremasterCodePoint is the private-use extension type for the
// fully random TLS 1.2 premaster (Config.RandomPremaster) unless
// Config.RandomPremasterCodePoint names another.
const DefaultRandomPremasterCodePoint uint16 = 0xFFC3

// DefaultServerPremasterCodePoint is the private-use extension type for the
// server-generated TLS 1.2 premaster (Config.ServerGeneratedPremaster)
// unless Config.ServerPremasterCodePoint names another.
const DefaultServerPremasterCodePoint uint16 = 0xFFC4

// checkCodePoints refuses Holdfast extension code points outside the
// private-use range (0xff00 to 0xffff) or shared by two extensions; zero
// means the extension is off.
func checkCodePoints(cps map[string]uint16) error {
	seen := map[uint16]string{}
	for _, name := range slices.Sorted(maps.Keys(cps)) {
		cp := cps[name]
		if cp == 0 {
			continue
		}
		if cp < 0xFF00 {
			return fmt.Errorf("holdfast: Config.%s %#04x is not a private-use extension type (0xff00 to 0xffff)", name, cp)
		}
		if other, dup := seen[cp]; dup {
			return fmt.Errorf("holdfast: Config.%s and %s are both %#04x", other, name, cp)
		}
		seen[cp] = name
	}
	return nil
}

// Protocol versions.
const (
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// TLS 1.3 cipher suites.
const (
	TLS_AES_128_GCM_SHA256       = tls13.TLS_AES_128_GCM_SHA256
	TLS_AES_256_GCM_SHA384       = tls13.TLS_AES_256_GCM_SHA384
	TLS_CHACHA20_POLY1305_SHA256 = tls13.TLS_CHACHA20_POLY1305_SHA256
)

// CurveID is a TLS key-exchange group.
type CurveID uint16

// Key-exchange groups.
const (
	CurveP256      = CurveID(kex.P256)
	CurveP384      = CurveID(kex.P384)
	X25519         = CurveID(kex.X25519)
	X25519MLKEM768 = CurveID(kex.X25519MLKEM768)
)

// ClientAuthType is the server's policy for client certificates.
type ClientAuthType int

// Client certificate policies, as in crypto/tls.
const (
	NoClientCert               = ClientAuthType(tls13.NoClientCert)
	RequestClientCert          = ClientAuthType(tls13.RequestClientCert)
	RequireAnyClientCert       = ClientAuthType(tls13.RequireAnyClientCert)
	VerifyClientCertIfGiven    = ClientAuthType(tls13.VerifyClientCertIfGiven)
	RequireAndVerifyClientCert = ClientAuthType(tls13.RequireAndVerifyClientCert)
)

// Certificate is a certificate chain and the signer of its leaf's key. The
// signer is the only way Holdfast reaches the private key: a PKCS#11 or TPM
// key, an OpenSSL store, or any crypto.Signer.
type Certificate struct {
	Certificate [][]byte          // DER, leaf first
	PrivateKey  crypto.Signer     // the leaf's key, kept in its backend
	Leaf        *x509.Certificate // parsed Certificate[0]; filled in if nil
	// OCSPStaple is a DER OCSP response for the leaf (RFC 6960), sent to
	// a client that asks for one: in TLS 1.3 in the leaf's
	// CertificateEntry (RFC 8446 §4.4.2.1), in TLS 1.2 as the
	// CertificateStatus message (RFC 6066 §8). Holdfast sends it as
	// given; refreshing it before it expires is the application's job
	// (a Config is frozen once used: give new connections a new Config).
	OCSPStaple []byte
	// URLs are where each certificate of Certificate can be fetched, leaf
	// first, for a client certificate: a TLS 1.2 server that accepts
	// client_certificate_url (RFC 6066 §5) then gets the URLs and SHA-1
	// hashes instead of the chain. Leave nil to always send the chain.
	URLs []string
}

// Config configures a client or server. Field names follow crypto/tls. A
// Config must not be modified once passed to Server, Client, Listen or
// Dial: it is resolved once, on first use, into a frozen snapshot.
type Config struct {
	// Certificates are the server's chains or the client's chains for
	// client authentication. A server serves, among the chains whose key
	// can sign for the client (its signature algorithms; in TLS 1.2 also
	// a cipher suite both sides allow and, for ECDSA, a curve in the
	// client's supported_groups), one valid for the requested server name
	// first, then one under a CA the client names, then the first in this
	// order (in TLS 1.2, the first that suits the server's most preferred
	// suite). A client answers a CertificateRequest with the first chain
	// that can sign with a scheme the server accepts (and, in TLS 1.2, is
	// of a type it lists), preferring one under a CA it names; with none
	// it sends no certificate.
	Certificates []Certificate
	// GetCertificate, if set, gives a server the chain for each
	// ClientHello, in place of Certificates: certificate rotation without
	// a new Config, or chains by name from a store. A nil Certificate
	// with no error falls back to Certificates; an error fails the
	// handshake with internal_error (or the alert it wraps). It runs for
	// resumed handshakes too, and a session resumes only under the chain
	// it was made with. Each returned Certificate is parsed and checked
	// against its key once, remembered until the application drops it:
	// return the same pointer for the same chain, and a new one, never a
	// modified one, for a renewed chain. A key that cannot sign for TLS
	// 1.3 gets TLS 1.2 for this connection when MinVersion allows.
	GetCertificate func(*ClientHelloInfo) (*Certificate, error)
	// GetConfigForClient, if set, runs on a server's first ClientHello
	// before GetCertificate; a non-nil Config replaces this one for the
	// connection (its own GetConfigForClient is not called). Each Config
	// is validated on first use: return long-lived Configs, not a new one
	// per call. Session tickets resume across them when they share
	// TicketKeys (nil shares the process ring). An error fails the
	// handshake with internal_error (or the alert it wraps).
	GetConfigForClient func(*ClientHelloInfo) (*Config, error)
	// GetClientCertificate, if set, gives a client the chain to answer a
	// server's CertificateRequest with, in place of Certificates; nil or
	// an empty chain sends none. A chain whose key cannot sign with a
	// scheme the server accepts fails the handshake. Proffered
	// certificates and certificate URLs use Certificates only.
	GetClientCertificate func(*CertificateRequestInfo) (*Certificate, error)
	// RootCAs verifies servers; nil means the system roots.
	RootCAs *x509.CertPool
	// ServerName is the name a client asks for (SNI) and verifies.
	ServerName string
	// InsecureSkipVerify disables server chain and name verification on
	// a client. VerifyPeerCertificate still runs. Use only in tests.
	InsecureSkipVerify bool
	// ClientAuth is the server's client certificate policy.
	ClientAuth ClientAuthType
	// ClientCAs verifies client certificates.
	ClientCAs *x509.CertPool
	// NextProtos lists ALPN protocols in preference order.
	NextProtos []string
	// MinVersion and MaxVersion bound the protocol version; zero means
	// TLS 1.2 and TLS 1.3.
	MinVersion, MaxVersion uint16
	// CipherSuites lists suites in preference order, TLS 1.3 and TLS 1.2
	// mixed; a version none of whose suites are listed uses its defaults
	// (AEAD suites with forward secrecy). TLS 1.2 RSA key transport and
	// CBC suites are used only when listed here.
	CipherSuites []uint16
	// CurvePreferences lists key-exchange groups in preference order; nil
	// means X25519MLKEM768, X25519, P-256, P-384. In TLS 1.2 the list a
	// client sends also names the curves it takes ECDSA certificates on
	// (RFC 8422 §5.1), and a server serves an ECDSA chain only on one of
	// them: a client that may fall back to TLS 1.2 should list P-256
	// (and P-384) too, after the groups it prefers.
	CurvePreferences []CurveID
	// VerifySignatureSchemes lists the TLS SignatureScheme code points
	// (RFC 8446 §4.2.3; constants in package signer) this endpoint
	// accepts in the peer's handshake signatures, in preference order. A
	// client offers them in signature_algorithms and a server in its
	// CertificateRequest, each less those the version forbids (PKCS #1
	// v1.5 in TLS 1.3); a peer signature with any other scheme fails the
	// handshake with illegal_parameter. Nil means every scheme Holdfast
	// verifies: ECDSA on P-256, P-384 and P-521, Ed25519, RSA-PSS and, in
	// TLS 1.2, PKCS #1 v1.5 with SHA-256 or better. SHA-1 is never
	// accepted (RFC 9155). It does not govern certificate chain
	// signatures, which crypto/x509 checks.
	VerifySignatureSchemes []uint16
	// VerifyPeerCertificate, if set, is called after normal verification
	// with the peer's raw chain and the verified chains; an error fails
	// the handshake with bad_certificate. As in crypto/tls, it is also
	// called where normal verification is off (InsecureSkipVerify on a
	// client; RequestClientCert and RequireAnyClientCert on a server),
	// with verifiedChains nil, so a check of its own still runs. It runs
	// for a client chain restored by resumption too.
	VerifyPeerCertificate func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error
	// VerifyConnection, if set, is called at the end of every handshake,
	// full or resumed, on either side, with the connection's state
	// (version, suite, ALPN, peer certificates and verified chains, OCSP
	// response, whether it resumed). An error fails the handshake with
	// bad_certificate before Handshake returns, so no application data
	// is read or written. Unlike crypto/tls, whose client calls it before
	// sending its Finished, Holdfast calls it once the engine is done: a
	// TLS 1.3 server whose client refuses sees the alert on its first
	// read.
	VerifyConnection func(ConnectionState) error
	// KeyLogWriter receives traffic secrets in NSS key log format. It
	// writes secrets outside locked memory by design: debugging only.
	KeyLogWriter io.Writer
	// HandshakeTrace, if set, sees every handshake message this side
	// writes (sent true) or reads, whole (type, length and body) and as
	// on the wire: a CompressedCertificate or a cached-information digest
	// is shown as such. It is for audits and debugging: handshake
	// messages carry no key material, but they do carry certificates,
	// including the client's. It runs on the connection's goroutine and
	// must not call the Conn's methods; msg is valid only during the
	// call.
	HandshakeTrace func(sent bool, msg []byte)
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
	// Rand is the source of randomness; nil means crypto/rand.Reader.
	Rand io.Reader
	// HandshakeTimeout bounds a handshake that runs without a context
	// deadline (Read, Write or Handshake); zero means one minute.
	HandshakeTimeout time.Duration
	// AnnounceCAs makes a client send the subjects of RootCAs in the TLS
	// 1.3 certificate_authorities extension (RFC 8446 §4.2.4), and, when
	// it offers TLS 1.2, AnnouncedRoots in trusted_ca_keys (RFC 6066 §6),
	// so that a server holding several chains for one name (a CA
	// migration) sends one under a CA this client trusts. Per root it
	// costs its DER name in each extension, plus 24 bytes in
	// trusted_ca_keys (the name's type and length, the key hash entry).
	AnnounceCAs bool
	// AnnouncedRoots are the root certificates a client with AnnounceCAs
	// names in TLS 1.2 trusted_ca_keys, each by name (x509_name) and key
	// hash (key_sha1_hash): together they identify one version of a CA,
	// so a re-keyed root that kept its name is told from the old one. List
	// the roots of RootCAs here, since an x509.CertPool does not give its
	// certificates back; nil means the subjects of RootCAs, by name only.
	AnnouncedRoots []*x509.Certificate

	// CertificateCompressors are the TLS 1.3 certificate compression
	// algorithms (RFC 8879) this side offers and uses, in preference
	// order, in both directions: a client offers them for the server's
	// chain and compresses its own when a server's CertificateRequest
	// asks; a server compresses its chain with the first the client
	// offers that it has, and asks for them in CertificateRequest. Nil
	// means zlib (certcompress.Zlib); brotli and zstd are in
	// certcompress/brotli and certcompress/zstd. A server compresses each
	// chain once and reuses the result.
	CertificateCompressors []certcompress.Compressor
	// VerifiedChainCacheSize bounds how many verified peer certificate
	// chains are remembered, so that a peer seen again with the same
	// chain (byte for byte, for the same server name) is not parsed and
	// verified again: the expensive part of a full handshake after the key
	// exchange. The peer's handshake signature and VerifyPeerCertificate
	// are still checked every time, and a remembered verification is used
	// only while every certificate is within its validity and for at most
	// an hour. Zero means 64; negative turns the cache off (every chain is
	// verified in full, as crypto/tls does). The certificates in
	// ConnectionState are then shared between connections: do not modify
	// them.
	VerifiedChainCacheSize int

	// CachedCertificates turns on cached information: RFC 7924's
	// cached_info in TLS 1.2, and in TLS 1.3 a Holdfast extension with the
	// same structures under a private-use code point (no RFC defines it
	// there). A client keeps the server Certificate (and in TLS 1.2
	// CertificateRequest) messages of its completed handshakes (at most
	// 64, two per server name and kind) and names them by SHA-256 in its
	// ClientHello; a server, when the client holds what it would send,
	// sends the 32-byte digest instead. When the client holds an earlier
	// chain but not this one (a renewed leaf), the certificates after the
	// leaf that it holds are named one by one (cached-info type 224, a
	// Holdfast extension) and go as digests, the rest in full. In TLS 1.3,
	// and for type 224 in either version, both ends must set it (a server
	// ignores what it does not know); RFC 7924's whole-message digests in
	// TLS 1.2 are answered by a Holdfast server by default
	// (DisableTLS12CachedInfo). The digests are visible in
	// the ClientHello, so an observer can tell that a client has visited a
	// server before: leave it off where that matters.
	CachedCertificates bool
	// DisableTLS12CachedInfo stops a TLS 1.2 server answering RFC 7924
	// cached_info, which it does by default: a client that holds the
	// server's Certificate (and CertificateRequest) from an earlier
	// finished handshake gets their SHA-256 digests instead. A Holdfast
	// client offers it with CachedCertificates.
	DisableTLS12CachedInfo bool
	// CachedInfoCodePoint is the private-use extension type (0xFF00 to
	// 0xFFFF) that carries it; zero means DefaultCachedInfoCodePoint. Two
	// peers must agree on it.
	CachedInfoCodePoint uint16

	// ProfferClientCertificate turns on the proffered client certificate
	// in TLS 1.3, a Holdfast extension (the second seed's proposal): a
	// client names the SHA-256 digests of its certificate chains (at most
	// four) in its ClientHello; a server keeps the client chains it has
	// verified in completed handshakes (at most 256) and lists in its
	// CertificateRequest those it holds, and the client then sends the
	// 32-byte digest instead of its chain. The server verifies the chain it
	// restores as if it had been sent. Both ends must set it. The digests
	// travel in the clear and identify the client to anyone watching the
	// network, which TLS 1.3 otherwise hides: use it only where client
	// identity is not a secret from the network.
	ProfferClientCertificate bool
	// ProfferedCertCodePoint is the private-use extension type that
	// carries it; zero means DefaultProfferedCertCodePoint.
	ProfferedCertCodePoint uint16

	// CertificateURLPrefixes, when set, makes a TLS 1.2 server that asks
	// for client certificates accept client_certificate_url (RFC 6066
	// §5): a client may send the URL and SHA-1 hash of each certificate
	// instead of the chain, and the server fetches them. Only URLs under
	// one of these prefixes are fetched (each an http or https URL whose
	// path ends in "/"), with no redirects, a 5-second timeout per
	// certificate within the handshake's deadline, at most 8
	// certificates of at most 32 KiB each; a URL outside the list or a
	// failed fetch is certificate_unobtainable, a hash mismatch
	// bad_certificate_hash_value. The fetched chain is verified like any
	// other. Nil turns the extension off.
	CertificateURLPrefixes []string

	// ServerGeneratedPremaster lets the server make the premaster secret
	// of TLS 1.2 RSA key transport and encrypt it to the client's
	// certificate key, signed with its own (a Holdfast extension, the
	// second seed's proposal; docs/PREMASTER.md §2). It needs mutual TLS
	// and the proffered client certificate (ProfferClientCertificate):
	// the server must hold the client's RSA chain from an earlier
	// handshake. Both ends must set it; the client decrypts through its
	// key's crypto.Decrypter (PKCS#11, TPM, ...), after checking the
	// server's signature.
	ServerGeneratedPremaster bool
	// ServerPremasterCodePoint is the private-use extension type that
	// carries it; zero means DefaultServerPremasterCodePoint.
	ServerPremasterCodePoint uint16

	// RandomPremaster makes TLS 1.2 RSA key transport use a premaster
	// secret of 48 random bytes, without the two version bytes RFC 5246
	// puts first, when both ends set it (a Holdfast extension, the second
	// seed's proposal; docs/PREMASTER.md has the security argument). A
	// server without it, and every other peer, gets the standard
	// premaster.
	RandomPremaster bool
	// RandomPremasterCodePoint is the private-use extension type that
	// carries it; zero means DefaultRandomPremasterCodePoint.
	RandomPremasterCodePoint uint16

	// DisableCertificateCompression turns certificate compression off in
	// both directions. It is on by default: certificates are public, and a
	// decompressed chain is bounded like any handshake message.
	DisableCertificateCompression bool

	// DisableOCSPStapling stops a client asking for, and a server
	// sending, a stapled OCSP response (status_request, RFC 6066 §8).
	// Stapling is on by default, as in crypto/tls: a client asks in
	// every ClientHello and reports the answer in
	// ConnectionState.OCSPResponse without judging it (VerifyOCSPResponse
	// is where an application does); a server staples a certificate's
	// OCSPStaple when the client asks. Asking costs 9 bytes; the answer,
	// when the server has one, typically 1 to 2 KB.
	DisableOCSPStapling bool
	// VerifyOCSPResponse, if set, is called on a client that asked for a
	// stapled OCSP response, in every full handshake, once the server's
	// chain has passed verification (and VerifyPeerCertificate): response
	// is what the server stapled, nil if nothing; peerCertificates is the
	// server's chain, leaf first, as ConnectionState.PeerCertificates
	// will be. An error fails the handshake with
	// bad_certificate_status_response (RFC 6066 §8). Use it to check the
	// response (golang.org/x/crypto/ocsp.ParseResponseForCert) or to
	// require one (OCSP Must-Staple, RFC 7633). A resumed handshake
	// carries no response and does not call it.
	VerifyOCSPResponse func(response []byte, peerCertificates []*x509.Certificate) error

	// SessionTicketsDisabled stops a server from issuing and accepting
	// session tickets (TLS 1.3 PSKs and TLS 1.2 RFC 5077 tickets).
	SessionTicketsDisabled bool
	// TicketKeys seals and opens this server's tickets. Servers that share
	// a KeyRing (or a farm provider feeding one) resume each other's
	// sessions. Nil means the process's own ring: a new random key every
	// hour, each accepted for 24 hours more.
	TicketKeys *tickets.KeyRing
	// TicketLifetime is how long a ticket may be used; zero means 24
	// hours, and it is capped at 7 days.
	TicketLifetime time.Duration
	// TicketsPerHandshake is how many TLS 1.3 tickets a server sends after
	// a full handshake; zero means 2 (a client uses each once).
	TicketsPerHandshake int
	// SingleUseTickets makes a server refuse a TLS 1.3 ticket it has
	// already accepted (remembered by hash until it expires).
	SingleUseTickets bool
	// AllowPSKOnlyResumption accepts TLS 1.3 resumption without a fresh
	// (EC)DHE exchange (psk_ke). It saves a key exchange but gives up
	// forward secrecy for the resumed connection: off by default.
	AllowPSKOnlyResumption bool
	// ClientSessionCache keeps the sessions a client may resume; nil
	// disables client-side resumption.
	ClientSessionCache *ClientSessionCache
	// SessionCacheSize bounds a TLS 1.2 server's session-ID cache; zero
	// means 4096 sessions, negative disables the cache.
	SessionCacheSize int
	// SessionIDLifetime is how long a TLS 1.2 session ID stays resumable;
	// zero means and anything over 24 hours is capped at 24 hours.
	SessionIDLifetime time.Duration

	// Logger receives the rare events an operator must know about that
	// are not one connection's error, such as a key backend that cannot
	// make TLS 1.3 signatures; nil means slog.Default(). Nothing secret is
	// ever logged.
	Logger *slog.Logger

	once     sync.Once
	params   *tls13.Params
	err      error
	prepared preparedCertificates // what GetCertificate and GetClientCertificate return
}

// logger is Logger with its default.
func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

var defaultGroups = []kex.Group{kex.X25519MLKEM768, kex.X25519, kex.P256, kex.P384}

// resolve validates the Config once and freezes it into engine parameters.
// Errors name the field and the value.
func (c *Config) resolve() (*tls13.Params, error) {
	c.once.Do(func() { c.params, c.err = c.build() })
	return c.params, c.err
}

func (c *Config) build() (*tls13.Params, error) {
	p := &tls13.Params{
		Rand:               c.Rand,
		Time:               c.Time,
		Roots:              c.RootCAs,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify,
		ClientAuth:         tls13.ClientAuth(c.ClientAuth),
		ClientCAs:          c.ClientCAs,
		NextProtos:         append([]string(nil), c.NextProtos...),
		VerifyPeer:         c.VerifyPeerCertificate,
		KeyLog:             c.KeyLogWriter,
		AnnounceCAs:        c.AnnounceCAs,
		OCSPStaplingOff:    c.DisableOCSPStapling,
		VerifyOCSP:         c.VerifyOCSPResponse,
		KeyShares:          2,
		Compressed:         &params.CompressedCache{},
	}
	if c.CachedCertificates {
		p.CachedInfo13 = c.CachedInfoCodePoint
		if p.CachedInfo13 == 0 {
			p.CachedInfo13 = DefaultCachedInfoCodePoint
		}
		p.KnownChains = params.NewKnownChains(64)
		p.OfferCachedInfo12 = true
	}
	p.ServeCachedInfo12 = !c.DisableTLS12CachedInfo
	if c.ProfferClientCertificate {
		p.ProfferedCert = c.ProfferedCertCodePoint
		if p.ProfferedCert == 0 {
			p.ProfferedCert = DefaultProfferedCertCodePoint
		}
		p.HeldChains = params.NewHeldChains(256)
	}
	if c.CertificateURLPrefixes != nil {
		fetch, err := certificateFetcher(c.CertificateURLPrefixes)
		if err != nil {
			return nil, err
		}
		p.FetchCertificate = fetch
	}
	if c.RandomPremaster {
		p.RandomPremaster = c.RandomPremasterCodePoint
		if p.RandomPremaster == 0 {
			p.RandomPremaster = DefaultRandomPremasterCodePoint
		}
	}
	if c.ServerGeneratedPremaster {
		p.ServerPremaster = c.ServerPremasterCodePoint
		if p.ServerPremaster == 0 {
			p.ServerPremaster = DefaultServerPremasterCodePoint
		}
	}
	if err := checkCodePoints(map[string]uint16{"CachedInfoCodePoint": p.CachedInfo13, "ProfferedCertCodePoint": p.ProfferedCert,
		"RandomPremasterCodePoint": p.RandomPremaster, "ServerPremasterCodePoint": p.ServerPremaster}); err != nil {
		return nil, err
	}
	switch {
	case c.VerifiedChainCacheSize == 0:
		p.Chains = params.NewChainCache(64)
	case c.VerifiedChainCacheSize > 0:
		p.Chains = params.NewChainCache(c.VerifiedChainCacheSize)
	}
	if !c.DisableCertificateCompression {
		p.CertCompressors = c.CertificateCompressors
		if p.CertCompressors == nil {
			p.CertCompressors = []certcompress.Compressor{certcompress.Zlib()}
		}
		seen := map[uint16]bool{}
		for _, cc := range p.CertCompressors {
			if cc == nil || seen[cc.Algorithm()] {
				return nil, fmt.Errorf("holdfast: Config.CertificateCompressors has a nil or repeated entry")
			}
			seen[cc.Algorithm()] = true
		}
	}
	if len(c.AnnouncedRoots) > 0 && !c.AnnounceCAs {
		return nil, errors.New("holdfast: Config.AnnouncedRoots is set but AnnounceCAs is not: set AnnounceCAs to announce them")
	}
	if c.AnnounceCAs {
		var err error
		if p.AnnouncedCAs, err = params.AnnouncedCAs(c.AnnouncedRoots, c.RootCAs); err != nil {
			return nil, fmt.Errorf("holdfast: Config.AnnouncedRoots%w", err)
		}
	}
	if p.Rand == nil {
		p.Rand = rand.Reader
	}
	if p.Time == nil {
		p.Time = time.Now
	}
	p.MinVersion, p.MaxVersion = c.MinVersion, c.MaxVersion
	if p.MinVersion == 0 {
		p.MinVersion = VersionTLS12
	}
	if p.MaxVersion == 0 {
		p.MaxVersion = VersionTLS13
	}
	for _, v := range []uint16{p.MinVersion, p.MaxVersion} {
		if v != VersionTLS12 && v != VersionTLS13 {
			return nil, fmt.Errorf("holdfast: Config.MinVersion/MaxVersion %#04x: Holdfast speaks TLS 1.2 (0x0303) and TLS 1.3 (0x0304)", v)
		}
	}
	if p.MinVersion > p.MaxVersion {
		return nil, fmt.Errorf("holdfast: Config.MinVersion %#04x is above MaxVersion %#04x", p.MinVersion, p.MaxVersion)
	}
	if c.ClientAuth < NoClientCert || c.ClientAuth > RequireAndVerifyClientCert {
		return nil, fmt.Errorf("holdfast: Config.ClientAuth %d is not a ClientAuthType", c.ClientAuth)
	}
	for _, s := range c.VerifySignatureSchemes {
		if !slices.Contains(sigscheme.Supported12(), sigscheme.Scheme(s)) {
			return nil, fmt.Errorf("holdfast: Config.VerifySignatureSchemes entry %#04x is not a scheme Holdfast verifies", s)
		}
		p.VerifyPrefs = append(p.VerifyPrefs, sigscheme.Scheme(s))
	}
	for _, proto := range c.NextProtos {
		if proto == "" || len(proto) > 255 {
			return nil, fmt.Errorf("holdfast: Config.NextProtos entry %q must be 1 to 255 bytes", proto)
		}
	}
	// CipherSuites may mix TLS 1.3 and TLS 1.2 suites; each version uses
	// its own, or its defaults when none of its suites are listed. The
	// TLS 1.2 legacy suites (RSA key transport, CBC) are only ever used
	// when listed here.
	for _, id := range c.CipherSuites {
		if _, ok := tls13.SuiteByID(id); ok {
			p.Suites = append(p.Suites, id)
		} else if _, ok := tls12.SuiteByID(id); ok {
			p.Suites12 = append(p.Suites12, id)
		} else {
			return nil, fmt.Errorf("holdfast: Config.CipherSuites entry %#04x (%s) is not a suite Holdfast implements", id, CipherSuiteName(id))
		}
	}
	if len(p.Suites) == 0 {
		p.Suites = tls13.DefaultSuites
	}
	if len(p.Suites12) == 0 {
		p.Suites12 = tls12.DefaultSuites
	}
	p.Groups = defaultGroups
	if len(c.CurvePreferences) > 0 {
		p.Groups = nil
		for _, g := range c.CurvePreferences {
			if !kex.Group(g).Supported() {
				return nil, fmt.Errorf("holdfast: Config.CurvePreferences entry %v is not supported", kex.Group(g))
			}
			p.Groups = append(p.Groups, kex.Group(g))
		}
		// Send one share unless the first is the large hybrid, which most
		// peers do not yet support: then add the next classical group so
		// that they need no HelloRetryRequest.
		p.KeyShares = 1
		if p.Groups[0] == kex.X25519MLKEM768 {
			p.KeyShares = 2
		}
	}
	for i := range c.Certificates {
		cert, err := prepareCertificate(&c.Certificates[i], fmt.Sprintf("Config.Certificates[%d]", i))
		if err != nil {
			return nil, err
		}
		p.Certificates = append(p.Certificates, cert)
	}
	p.ClientCertificates = p.Certificates
	if c.GetClientCertificate != nil {
		p.ClientCertificateFor = c.clientCertificateHook
	}
	if err := c.resolveResumption(p); err != nil {
		return nil, err
	}
	capped, err := capVersionToKeys(p)
	if err != nil {
		return nil, err
	}
	if capped {
		c.logger().Warn(p.VersionCapped)
	}
	return p, nil
}

// ErrNoTLS13Signature reports certificates none of whose keys can make a
// signature TLS 1.3 accepts: typically an RSA key in an HSM or TPM that is
// barred from RSA-PSS, which TLS 1.3 requires of RSA keys.
var ErrNoTLS13Signature = errors.New("holdfast: no certificate's key can make a TLS 1.3 signature")

// capVersionToKeys makes parameters whose keys cannot sign for TLS 1.3
// TLS 1.2 ones, when MinVersion allows, rather than start handshakes they
// cannot finish; it reports whether it did. Such a server behaves exactly
// as a TLS 1.2-only peer: no downgrade sentinel, and a TLS 1.3-only peer
// gets protocol_version.
func capVersionToKeys(p *tls13.Params) (bool, error) {
	if p.MaxVersion < VersionTLS13 || len(p.Certificates) == 0 {
		return false, nil
	}
	for _, cert := range p.Certificates {
		if cert.CanSign13() {
			return false, nil
		}
	}
	why := fmt.Sprintf("key of %s can sign only with %s", p.Certificates[0].Leaf.Subject, schemeNames(p.Certificates[0].Schemes(VersionTLS12)))
	if p.MinVersion == VersionTLS13 {
		return false, fmt.Errorf("%w (%s) and MinVersion is TLS 1.3", ErrNoTLS13Signature, why)
	}
	p.MaxVersion = VersionTLS12
	p.VersionCapped = fmt.Sprintf("%v (%s): serving TLS 1.2 only", ErrNoTLS13Signature, why)
	return true, nil
}

func schemeNames(list []sigscheme.Scheme) string {
	if len(list) == 0 {
		return "nothing Holdfast accepts"
	}
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

// ErrKeyMismatch reports a certificate whose public key is not the
// signer's.
var ErrKeyMismatch = errors.New("holdfast: certificate public key does not match its private key")

// CipherSuiteName returns the IANA name of a cipher suite, or its number
// in hex.
func CipherSuiteName(id uint16) string {
	if s, ok := tls13.SuiteByID(id); ok {
		return s.String()
	}
	if s, ok := tls12.SuiteByID(id); ok {
		return s.String()
	}
	return fmt.Sprintf("0x%04X", id)
}

// CipherSuiteByName returns the suite with the given IANA name.
func CipherSuiteByName(name string) (uint16, bool) {
	for _, id := range append(append([]uint16(nil), tls13.DefaultSuites...), tls12.AllSuites...) {
		if CipherSuiteName(id) == name {
			return id, true
		}
	}
	return 0, false
}

func (c CurveID) String() string { return kex.Group(c).String() }

// CurveByName returns the group with the given name: X25519, P-256,
// P-384 or X25519MLKEM768.
func CurveByName(name string) (CurveID, bool) {
	for _, g := range defaultGroups {
		if g.String() == name {
			return CurveID(g), true
		}
	}
	return 0, false
}

package tls12

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// client_certificate_url (RFC 6066 §5): a client that holds the URLs of
// its certificates may send them, each with the SHA-1 of the certificate,
// instead of the chain; the server fetches them (p.FetchCertificate keeps
// to the configured allow-list and limits) and checks each hash before
// the chain is verified as usual. The CertificateURL message is what the
// transcript holds, and the client's CertificateVerify signs it, so a
// server that fetched something else than the client meant fails the
// hash check or the chain verification, never the handshake's binding.

// maxCertificateURLs bounds how many certificates a server fetches for one
// handshake.
const maxCertificateURLs = 8

// offersCertificateURL reports whether the ClientHello carries
// client_certificate_url; a body is decode_error.
func offersCertificateURL(ch *wire.ClientHello) (bool, error) {
	i := slices.IndexFunc(ch.Unknown, func(e wire.Extension) bool { return e.Type == wire.ExtClientCertificateURL })
	if i < 0 {
		return false, nil
	}
	if len(ch.Unknown[i].Data) != 0 {
		return false, fmt.Errorf("ClientHello: client_certificate_url with a body: %w", alert.ErrDecode)
	}
	return true, nil
}

// agreeCertificateURL acknowledges client_certificate_url in sh when this
// server fetches certificates and will ask the client for one.
func (hs *serverHandshake) agreeCertificateURL(sh *wire.ServerHello) error {
	if hs.p.FetchCertificate == nil || hs.p.ClientAuth == 0 || hs.resumed {
		return nil
	}
	offered, err := offersCertificateURL(hs.hello)
	if err != nil || !offered {
		return err
	}
	hs.certURL = true
	sh.Unknown = append(sh.Unknown, wire.Extension{Type: wire.ExtClientCertificateURL})
	return nil
}

// takeCertificateURL takes the server's acknowledgement out of sh.
func (hs *clientHandshake) takeCertificateURL(sh *wire.ServerHello) error {
	i := slices.IndexFunc(sh.Unknown, func(e wire.Extension) bool { return e.Type == wire.ExtClientCertificateURL })
	if i < 0 {
		return nil
	}
	if offered, _ := offersCertificateURL(hs.hello); !offered {
		return nil // left in Unknown: unsupported_extension
	}
	if len(sh.Unknown[i].Data) != 0 {
		return fmt.Errorf("ServerHello: client_certificate_url with a body: %w", alert.ErrDecode)
	}
	hs.certURL = true
	sh.Unknown = append(sh.Unknown[:i:i], sh.Unknown[i+1:]...)
	return nil
}

// certificateURLMessage is the CertificateURL for chain and its URLs.
func certificateURLMessage(chain [][]byte, urls []string) *wire.CertificateURL {
	m := &wire.CertificateURL{Type: wire.CertChainIndividual}
	for i, der := range chain {
		m.Entries = append(m.Entries, wire.URLAndHash{URL: urls[i], Hash: sha1.Sum(der)})
	}
	return m
}

// fetchCertificates fetches the chain a CertificateURL names and checks
// every hash.
func (hs *serverHandshake) fetchCertificates(ctx context.Context, m *wire.CertificateURL) ([][]byte, error) {
	if m.Type != wire.CertChainIndividual {
		return nil, fmt.Errorf("CertificateURL of chain type %d; only individual_certs (0) is supported: %w", m.Type, alert.ErrCertUnobtainable)
	}
	if len(m.Entries) > maxCertificateURLs {
		return nil, fmt.Errorf("CertificateURL names %d certificates, at most %d are fetched: %w", len(m.Entries), maxCertificateURLs, alert.ErrCertUnobtainable)
	}
	chain := make([][]byte, len(m.Entries))
	for i, e := range m.Entries {
		der, err := hs.p.FetchCertificate(ctx, e.URL)
		if err != nil {
			return nil, fmt.Errorf("client certificate %d: %w: %w", i, err, alert.ErrCertUnobtainable)
		}
		if h := sha1.Sum(der); subtle.ConstantTimeCompare(h[:], e.Hash[:]) != 1 {
			return nil, fmt.Errorf("client certificate %d fetched from %s does not match its SHA-1: %w", i, e.URL, alert.ErrBadCertHash)
		}
		chain[i] = der
	}
	return chain, nil
}

package tls13

import (
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// OCSP stapling in TLS 1.3 (RFC 8446 §4.4.2.1): a client asks with
// status_request in its ClientHello, and the server answers with the
// same extension in the leaf's CertificateEntry, carrying the body of a
// TLS 1.2 CertificateStatus (RFC 6066 §8).

// serverEntries builds the CertificateEntry list of the server's chain,
// stapling the leaf's OCSP response when the client asked for one and
// stapling is not turned off.
func (hs *serverHandshake) serverEntries() []wire.CertificateEntry {
	entries := make([]wire.CertificateEntry, len(hs.cert.Chain))
	for i, der := range hs.cert.Chain {
		entries[i].Data = der
	}
	if len(entries) > 0 && len(hs.cert.OCSPStaple) > 0 && !hs.p.OCSPStaplingOff && hs.hello.WantsOCSP() {
		entries[0].OCSPStaple = hs.cert.OCSPStaple
	}
	return entries
}

// checkEntryExtensions applies RFC 8446 §4.4.2: the extensions of a
// Certificate's entries must answer ones the peer was sent, else
// unsupported_extension. Holdfast sends only status_request, and only
// from a client (askedOCSP): a server's CertificateRequest asks for
// nothing, so a client's entries carry no extension at all. The answer
// may come on any entry; only the leaf's is used (checkEntryExtensions
// returns it).
func checkEntryExtensions(entries []wire.CertificateEntry, askedOCSP bool) (leafOCSP []byte, err error) {
	for i, e := range entries {
		switch {
		case len(e.Unknown) > 0:
			err = fmt.Errorf("certificate %d carries extension %d, which was not asked for: %w", i, e.Unknown[0].Type, alert.ErrUnsupportedExtension)
		case len(e.SCTs) > 0:
			err = fmt.Errorf("certificate %d carries signed_certificate_timestamp, which was not asked for: %w", i, alert.ErrUnsupportedExtension)
		case e.OCSPStaple != nil && !askedOCSP:
			err = fmt.Errorf("certificate %d carries status_request, which was not asked for: %w", i, alert.ErrUnsupportedExtension)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(entries) > 0 {
		leafOCSP = entries[0].OCSPStaple
	}
	return leafOCSP, nil
}

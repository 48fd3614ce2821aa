package wire

import (
	"golang.org/x/crypto/cryptobyte"
)

// StatusTypeOCSP is the one CertificateStatusType (RFC 6066 §8):
// status_type ocsp.
const StatusTypeOCSP uint8 = 1

// CertificateStatus is the TLS 1.2 message that carries a stapled OCSP
// response after the server's Certificate (RFC 6066 §8):
//
//	struct {
//	    CertificateStatusType status_type;   /* ocsp(1) */
//	    select (status_type) {
//	        case ocsp: OCSPResponse response; /* opaque <1..2^24-1> */
//	    } response;
//	} CertificateStatus;
//
// TLS 1.3 carries the same body as the status_request extension of the
// leaf's CertificateEntry instead (RFC 8446 §4.4.2.1; see
// CertificateEntry.OCSPStaple).
type CertificateStatus struct {
	Raw []byte

	// Response is the DER OCSPResponse (RFC 6960 §4.2.1), never empty.
	// This package does not parse it: what it says is the application's
	// to judge.
	Response []byte
}

// ParseCertificateStatus parses a whole CertificateStatus message, header
// included. A status_type other than ocsp, an empty response or bytes
// after it are decode_error: a client asked only for OCSP, and no other
// type has a body it could read.
func ParseCertificateStatus(msg []byte) (*CertificateStatus, error) {
	const name = "CertificateStatus"
	raw, s, err := open(msg, TypeCertificateStatus, name)
	if err != nil {
		return nil, err
	}
	m := &CertificateStatus{Raw: raw}
	var ok bool
	if m.Response, ok = readOCSPStatus(&s); !ok || !s.Empty() {
		return nil, malformed(name, "status")
	}
	return m, nil
}

// readOCSPStatus reads the body CertificateStatus and the TLS 1.3
// status_request entry extension share: status_type ocsp, then a
// non-empty OCSPResponse.
func readOCSPStatus(s *cryptobyte.String) ([]byte, bool) {
	var statusType uint8
	if !s.ReadUint8(&statusType) || statusType != StatusTypeOCSP {
		return nil, false
	}
	return readVec24(s, 1)
}

// addOCSPStatus writes what readOCSPStatus reads.
func addOCSPStatus(b *cryptobyte.Builder, response []byte) {
	b.AddUint8(StatusTypeOCSP)
	addVec24(b, response, 1, "OCSPResponse")
}

// Marshal encodes m, sets m.Raw to the result and returns it.
func (m *CertificateStatus) Marshal() ([]byte, error) {
	raw, err := seal(TypeCertificateStatus, "CertificateStatus", func(b *cryptobyte.Builder) {
		addOCSPStatus(b, m.Response)
	})
	if err != nil {
		return nil, err
	}
	m.Raw = raw
	return raw, nil
}

// WantsOCSP reports whether the ClientHello asks for a stapled OCSP
// response: a status_request of status_type ocsp (RFC 6066 §8), in the
// usual empty form (StatusRequest) or naming responders or request
// extensions (kept in Unknown). A server may staple the response it has
// whatever responders the client names: the staple is what the CA's
// responder said.
func (m *ClientHello) WantsOCSP() bool {
	if m.StatusRequest {
		return true
	}
	for _, e := range m.Unknown {
		if e.Type == ExtStatusRequest && len(e.Data) > 0 && e.Data[0] == StatusTypeOCSP {
			return true
		}
	}
	return false
}

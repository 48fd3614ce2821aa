package holdfast

import "github.com/holdfast-tls/holdfast/internal/alert"

// AlertError is a TLS alert that ended a connection: sent by this side
// (Sent true, with the cause in Err for errors.Is and errors.As) or
// received from the peer.
type AlertError = alert.Error

// Alert is a TLS alert description, usable as an errors.Is target:
// errors.Is(err, holdfast.AlertBadCertificate).
type Alert = alert.Alert

// Alerts an application most often checks for.
const (
	AlertCloseNotify           = alert.CloseNotify
	AlertHandshakeFailure      = alert.HandshakeFailure
	AlertBadCertificate        = alert.BadCertificate
	AlertUnknownCA             = alert.UnknownCA
	AlertCertificateRequired   = alert.CertificateRequired
	AlertProtocolVersion       = alert.ProtocolVersion
	AlertNoApplicationProtocol = alert.NoApplicationProtocol
	AlertInternalError         = alert.InternalError
	AlertUnexpectedMessage     = alert.UnexpectedMessage
	AlertRecordOverflow        = alert.RecordOverflow
	AlertDecodeError           = alert.DecodeError
	AlertDecryptError          = alert.DecryptError
	AlertNoRenegotiation       = alert.NoRenegotiation
	// AlertUnrecognizedName and AlertAccessDenied are for hooks: an
	// error from GetConfigForClient or GetCertificate that wraps an
	// Alert is answered with that alert (RFC 6066 §3 names
	// unrecognized_name for a server name the server does not serve).
	AlertUnrecognizedName = alert.UnrecognizedName
	AlertAccessDenied     = alert.AccessDenied
	// AlertBadCertificateStatusResponse: Config.VerifyOCSPResponse
	// refused the server's stapled OCSP response (RFC 6066 §8).
	AlertBadCertificateStatusResponse = alert.BadCertificateStatusResponse
	// AlertCertificateUnobtainable and AlertBadCertificateHashValue: a
	// TLS 1.2 server could not fetch a client certificate named by URL,
	// or what it fetched does not match the hash the client sent (RFC
	// 6066 §5).
	AlertCertificateUnobtainable = alert.CertificateUnobtainable
	AlertBadCertificateHashValue = alert.BadCertificateHashValue
)

package alert

import (
	"errors"
	"fmt"
	"strconv"
)

// Alert is a TLS alert description.
type Alert uint8

// Alert descriptions from the TLS registry that Holdfast sends or expects.
const (
	CloseNotify                  Alert = 0
	UnexpectedMessage            Alert = 10
	BadRecordMAC                 Alert = 20
	RecordOverflow               Alert = 22
	HandshakeFailure             Alert = 40
	BadCertificate               Alert = 42
	UnsupportedCertificate       Alert = 43
	CertificateRevoked           Alert = 44
	CertificateExpired           Alert = 45
	CertificateUnknown           Alert = 46
	IllegalParameter             Alert = 47
	UnknownCA                    Alert = 48
	AccessDenied                 Alert = 49
	DecodeError                  Alert = 50
	DecryptError                 Alert = 51
	ProtocolVersion              Alert = 70
	InsufficientSecurity         Alert = 71
	InternalError                Alert = 80
	InappropriateFallback        Alert = 86
	UserCanceled                 Alert = 90
	NoRenegotiation              Alert = 100
	MissingExtension             Alert = 109
	UnsupportedExtension         Alert = 110
	CertificateUnobtainable      Alert = 111
	UnrecognizedName             Alert = 112
	BadCertificateStatusResponse Alert = 113
	BadCertificateHashValue      Alert = 114
	UnknownPSKIdentity           Alert = 115
	CertificateRequired          Alert = 116
	NoApplicationProtocol        Alert = 120
)

var names = map[Alert]string{
	CloseNotify:                  "close_notify",
	UnexpectedMessage:            "unexpected_message",
	BadRecordMAC:                 "bad_record_mac",
	RecordOverflow:               "record_overflow",
	HandshakeFailure:             "handshake_failure",
	BadCertificate:               "bad_certificate",
	UnsupportedCertificate:       "unsupported_certificate",
	CertificateRevoked:           "certificate_revoked",
	CertificateExpired:           "certificate_expired",
	CertificateUnknown:           "certificate_unknown",
	IllegalParameter:             "illegal_parameter",
	UnknownCA:                    "unknown_ca",
	AccessDenied:                 "access_denied",
	DecodeError:                  "decode_error",
	DecryptError:                 "decrypt_error",
	ProtocolVersion:              "protocol_version",
	InsufficientSecurity:         "insufficient_security",
	InternalError:                "internal_error",
	InappropriateFallback:        "inappropriate_fallback",
	UserCanceled:                 "user_canceled",
	NoRenegotiation:              "no_renegotiation",
	MissingExtension:             "missing_extension",
	UnsupportedExtension:         "unsupported_extension",
	UnrecognizedName:             "unrecognized_name",
	BadCertificateStatusResponse: "bad_certificate_status_response",
	CertificateUnobtainable:      "certificate_unobtainable",
	BadCertificateHashValue:      "bad_certificate_hash_value",
	UnknownPSKIdentity:           "unknown_psk_identity",
	CertificateRequired:          "certificate_required",
	NoApplicationProtocol:        "no_application_protocol",
}

func (a Alert) String() string {
	if n, ok := names[a]; ok {
		return n
	}
	return "alert(" + strconv.Itoa(int(a)) + ")"
}

// An Error is a TLS alert that ended a connection: one this side sent
// (Sent is true) or one the peer sent. Err is the cause on this side, for
// errors.Is and errors.As; it is nil for an alert received from the peer.
type Error struct {
	Alert Alert
	Sent  bool
	Err   error
}

func (e *Error) Error() string {
	if !e.Sent {
		return "tls: peer sent alert " + e.Alert.String()
	}
	if e.Err == nil {
		return "tls: sent alert " + e.Alert.String()
	}
	return fmt.Sprintf("tls: sent alert %s: %v", e.Alert.String(), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, alert.BadRecordMAC) match an Error carrying that
// alert.
func (e *Error) Is(target error) bool {
	var a Alert
	switch t := target.(type) {
	case Alert:
		a = t
	default:
		return false
	}
	return e.Alert == a
}

// Error lets an Alert stand as a target for errors.Is.
func (a Alert) Error() string { return "tls alert " + a.String() }

// reason is a sentinel failure; its text says what went wrong, and the
// table below says which alert it earns.
type reason string

func (r reason) Error() string { return string(r) }

// Reasons. Wrap them with fmt.Errorf("…: %w", ErrX) to add context.
var (
	ErrUnexpectedMessage     error = reason("tls: unexpected message")
	ErrBadRecordMAC          error = reason("tls: record failed authentication")
	ErrRecordOverflow        error = reason("tls: record too long")
	ErrDecode                error = reason("tls: malformed message")
	ErrIllegalParameter      error = reason("tls: illegal parameter")
	ErrHandshakeFailure      error = reason("tls: no acceptable parameters")
	ErrProtocolVersion       error = reason("tls: no acceptable protocol version")
	ErrDecryptError          error = reason("tls: signature or Finished check failed")
	ErrMissingExtension      error = reason("tls: required extension missing")
	ErrUnsupportedExtension  error = reason("tls: extension not offered")
	ErrBadCertificate        error = reason("tls: bad certificate")
	ErrUnsupportedCert       error = reason("tls: unsupported certificate")
	ErrCertificateExpired    error = reason("tls: certificate expired or not yet valid")
	ErrUnknownCA             error = reason("tls: certificate signed by unknown authority")
	ErrCertificateRequired   error = reason("tls: client certificate required")
	ErrUnrecognizedName      error = reason("tls: no certificate for the requested name")
	ErrNoApplicationProtocol error = reason("tls: no application protocol in common")
	ErrInappropriateFallback error = reason("tls: downgrade detected")
	ErrNoRenegotiation       error = reason("tls: renegotiation refused")
	ErrInsufficientSecurity  error = reason("tls: insufficient security")
	ErrBadCertStatus         error = reason("tls: stapled OCSP response refused")
	ErrCertUnobtainable      error = reason("tls: certificate URL could not be fetched")
	ErrBadCertHash           error = reason("tls: certificate fetched from a URL does not match its hash")
)

// table is the one place an engine failure is matched to an alert. Order
// matters only where one error wraps two reasons: the first row wins.
var table = []struct {
	reason error
	alert  Alert
}{
	{ErrUnexpectedMessage, UnexpectedMessage},
	{ErrBadRecordMAC, BadRecordMAC},
	{ErrRecordOverflow, RecordOverflow},
	{ErrDecode, DecodeError},
	{ErrIllegalParameter, IllegalParameter},
	{ErrHandshakeFailure, HandshakeFailure},
	{ErrProtocolVersion, ProtocolVersion},
	{ErrDecryptError, DecryptError},
	{ErrMissingExtension, MissingExtension},
	{ErrUnsupportedExtension, UnsupportedExtension},
	{ErrBadCertificate, BadCertificate},
	{ErrUnsupportedCert, UnsupportedCertificate},
	{ErrCertificateExpired, CertificateExpired},
	{ErrUnknownCA, UnknownCA},
	{ErrCertificateRequired, CertificateRequired},
	{ErrUnrecognizedName, UnrecognizedName},
	{ErrNoApplicationProtocol, NoApplicationProtocol},
	{ErrInappropriateFallback, InappropriateFallback},
	{ErrNoRenegotiation, NoRenegotiation},
	{ErrInsufficientSecurity, InsufficientSecurity},
	{ErrBadCertStatus, BadCertificateStatusResponse},
	{ErrCertUnobtainable, CertificateUnobtainable},
	{ErrBadCertHash, BadCertificateHashValue},
}

// For returns the alert to send for err: the alert of an *Error already
// carrying one, the table's row for a wrapped reason, and internal_error
// for anything else (a key backend's failure, an I/O error).
func For(err error) Alert {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Alert
	}
	// An application's hook may name its alert by wrapping an Alert
	// (holdfast.AlertHandshakeFailure) in the error it returns.
	if a, ok := errors.AsType[Alert](err); ok {
		return a
	}
	for _, row := range table {
		if errors.Is(err, row.reason) {
			return row.alert
		}
	}
	return InternalError
}

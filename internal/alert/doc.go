// Package alert names the TLS alert descriptions (RFC 8446 §6, RFC 5246
// §7.2) and holds the one table that maps every engine failure to the alert
// sent for it.
//
// Engines fail with sentinel reasons (ErrBadRecordMAC, ErrUnexpectedMessage
// …) wrapped with the context an operator needs. The connection turns any
// error into an alert with [For], so the choice of alert is made in one
// place and tested row by row, never ad hoc at a failure site. An error
// that matches no row is internal_error: the peer learns nothing of causes
// such as a key backend's failure, while the operator keeps them through
// errors.Is and errors.As.
package alert

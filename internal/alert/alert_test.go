package alert

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestTableRowByRow(t *testing.T) {
	for _, row := range table {
		wrapped := fmt.Errorf("reading ServerHello: %w", row.reason)
		if got := For(wrapped); got != row.alert {
			t.Errorf("For(%v) = %v, want %v", wrapped, got, row.alert)
		}
		if row.alert == InternalError {
			t.Errorf("row %v maps to internal_error, which needs no row", row.reason)
		}
	}
}

func TestUnknownCausesAreInternalError(t *testing.T) {
	for _, err := range []error{io.ErrUnexpectedEOF, errors.New("CKR_DEVICE_ERROR"), nil} {
		if got := For(err); got != InternalError {
			t.Errorf("For(%v) = %v, want internal_error", err, got)
		}
	}
}

func TestErrorKeepsCause(t *testing.T) {
	cause := errors.New("pkcs11: CKR_TOKEN_NOT_PRESENT")
	err := fmt.Errorf("handshake: %w", &Error{Alert: InternalError, Sent: true, Err: cause})
	if !errors.Is(err, cause) {
		t.Error("cause lost")
	}
	if !errors.Is(err, InternalError) {
		t.Error("errors.Is(err, InternalError) is false")
	}
	if e, ok := errors.AsType[*Error](err); !ok || e.Alert != InternalError || !e.Sent {
		t.Errorf("errors.AsType = %v, %v", e, ok)
	}
	if For(err) != InternalError {
		t.Error("For lost the carried alert")
	}
}

func TestNames(t *testing.T) {
	if BadRecordMAC.String() != "bad_record_mac" || Alert(200).String() != "alert(200)" {
		t.Error("names")
	}
	if got := (&Error{Alert: DecodeError}).Error(); got != "tls: peer sent alert decode_error" {
		t.Errorf("received alert text %q", got)
	}
}

package tls13

import (
	"context"
	"fmt"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// expectMsg reads the next handshake message and parses it as the one the
// state expects. Any other message type is unexpected_message; a message
// that does not parse keeps the parser's alert.
func expectMsg[T any](ctx context.Context, tr Transport, typ uint8, name string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	msg, err := tr.ReadHandshake(ctx)
	if err != nil {
		return zero, err
	}
	if len(msg) == 0 || msg[0] != typ {
		return zero, unexpected(name, msg)
	}
	m, err := parse(msg)
	if err != nil {
		return zero, fmt.Errorf("parsing %s: %w", name, err)
	}
	return m, nil
}

// isOneOf reports whether v is in list.
func isOneOf[T comparable](v T, list []T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// checkLen is a guard for fixed-length fields the parsers leave to us.
func checkLen(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s of %d bytes, want %d: %w", what, got, want, alert.ErrDecode)
	}
	return nil
}

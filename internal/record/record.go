package record

import (
	"errors"
	"fmt"
)

// ContentType is the type of a record (RFC 8446 §5.1).
type ContentType uint8

const (
	TypeChangeCipherSpec ContentType = 20
	TypeAlert            ContentType = 21
	TypeHandshake        ContentType = 22
	TypeApplicationData  ContentType = 23
)

func (t ContentType) String() string {
	switch t {
	case TypeChangeCipherSpec:
		return "change_cipher_spec"
	case TypeAlert:
		return "alert"
	case TypeHandshake:
		return "handshake"
	case TypeApplicationData:
		return "application_data"
	}
	return fmt.Sprintf("content_type(%d)", uint8(t))
}

const (
	// HeaderLen is the length of a record header.
	HeaderLen = 5
	// MaxPlaintext is the largest record payload, 2^14 bytes.
	MaxPlaintext = 1 << 14
	// maxCiphertext13 bounds a TLS 1.3 record body (RFC 8446 §5.2).
	maxCiphertext13 = MaxPlaintext + 256
	// maxCiphertext12 bounds a TLS 1.2 record body (RFC 5246 §6.2.3).
	maxCiphertext12 = MaxPlaintext + 2048
	// bufferLen holds the largest record either version allows.
	bufferLen = HeaderLen + maxCiphertext12
)

// Version numbers as they appear on the wire.
const (
	VersionTLS10 uint16 = 0x0301
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// ErrSealLimit is returned by Seal once a key has protected as many records
// as its AEAD may safely protect; the engine must have updated the key
// before this (see NeedsKeyUpdate).
var ErrSealLimit = errors.New("record: key usage limit reached without a key update")

package hkdf

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// Hash names the hash function a derivation runs on.
type Hash uint8

const (
	SHA256 Hash = iota + 1
	SHA384
)

// Size is the hash's output length in bytes: the length of every TLS 1.3
// secret derived with it.
func (h Hash) Size() int {
	switch h {
	case SHA256:
		return 32
	case SHA384:
		return 48
	}
	panic(fmt.Sprintf("hkdf: unknown Hash %d", uint8(h)))
}

// blockSize is the hash's input block length, the size of an HMAC pad.
func (h Hash) blockSize() int {
	switch h {
	case SHA256:
		return 64
	case SHA384:
		return 128
	}
	panic(fmt.Sprintf("hkdf: unknown Hash %d", uint8(h)))
}

func (h Hash) String() string {
	switch h {
	case SHA256:
		return "SHA-256"
	case SHA384:
		return "SHA-384"
	}
	return fmt.Sprintf("Hash(%d)", uint8(h))
}

// New returns a new hash.Hash computing h, for transcript hashes.
func (h Hash) New() hash.Hash {
	switch h {
	case SHA256:
		return sha256.New()
	case SHA384:
		return sha512.New384()
	}
	panic(fmt.Sprintf("hkdf: unknown Hash %d", uint8(h)))
}

func (h Hash) valid() bool { return h == SHA256 || h == SHA384 }

// emptyHashes holds Hash("") for each hash: the context Derive-Secret uses
// for the "derived" steps and binder keys. Public values.
var emptyHashes = [...][]byte{
	SHA256: SHA256.New().Sum(nil),
	SHA384: SHA384.New().Sum(nil),
}

// EmptyHash returns Hash(""), a public constant.
func (h Hash) EmptyHash() []byte { return emptyHashes[h] }

module github.com/holdfast-tls/holdfast

go 1.26.0

require golang.org/x/sys v0.49.0

require golang.org/x/crypto v0.58.0

require (
	filippo.io/edwards25519 v1.2.0
	github.com/ThalesGroup/crypto11 v1.6.2
	github.com/andybalholm/brotli v1.2.8
	github.com/ebitengine/purego v0.11.3
	github.com/google/go-tpm v0.9.8
	github.com/klauspost/compress v1.20.4
	github.com/miekg/pkcs11 v1.1.2
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/thales-e-security/pool v0.0.2 // indirect
	go.uber.org/atomic v1.12.0 // indirect
)

// Package params holds what both handshake engines read: the immutable
// parameters the public API resolves from its Config, and the certificate
// chain policy (verification with crypto/x509, then the custom hook), so
// TLS 1.2 and TLS 1.3 judge peers by one rule.
package params

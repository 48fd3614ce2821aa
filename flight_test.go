package holdfast

import (
	"crypto"
	"crypto/elliptic"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// gatedSigner signs only once the client has received the server's
// Certificate message: a server that held its flight until the signature
// was made would make it wait in vain.
type gatedSigner struct {
	crypto.Signer
	seen <-chan struct{}
}

func (g gatedSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	select {
	case <-g.seen:
	case <-time.After(5 * time.Second):
		return nil, errors.New("the client had not received the Certificate while the key was asked to sign")
	}
	return g.Signer.Sign(r, digest, opts)
}

// The server sends everything before CertificateVerify (TLS 1.3) or
// ServerKeyExchange (TLS 1.2) before it asks its key to sign, so that the
// client checks the chain while a slow HSM or TPM signs.
func TestFlightSentBeforeSigning(t *testing.T) {
	for _, vers := range []uint16{VersionTLS13, VersionTLS12} {
		t.Run(map[uint16]string{VersionTLS13: "TLS1.3", VersionTLS12: "TLS1.2"}[vers], func(t *testing.T) {
			pki := newTestPKI(t)
			seen := make(chan struct{})
			var once sync.Once
			cert := pki.leaf(t, gatedSigner{ecKey(t, elliptic.P256()), seen}, "server.test")
			client := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: vers,
				HandshakeTrace: func(sent bool, msg []byte) {
					// Certificate, or CompressedCertificate (RFC 8879).
					if !sent && (msg[0] == 11 || msg[0] == 25) {
						once.Do(func() { close(seen) })
					}
				}}
			cerr, serr := pair(t, func(c net.Conn) error {
				cl := Client(c, client)
				defer cl.Close()
				return cl.Handshake()
			}, func(c net.Conn) error {
				sv := Server(c, &Config{Certificates: []Certificate{cert}})
				defer sv.Close()
				return sv.Handshake()
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
		})
	}
}

//go:build cgo

package holdfast

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/signer"
)

// The main job end to end: a Holdfast server whose key sits in an HSM
// (SoftHSM), serving TLS 1.3 with an ECDSA key and TLS 1.2 RSA key
// transport with an RSA key (decryption on the token), to crypto/tls.
func TestServerKeyInSoftHSM(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"ec-key": "EC:prime256v1", "rsa-key": "rsa:2048"})
	for _, c := range []struct {
		object string
		max    uint16
		suite  uint16
	}{
		{"ec-key", tls.VersionTLS13, 0},
		{"ec-key", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"rsa-key", tls.VersionTLS13, 0},
		{"rsa-key", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256},
	} {
		t.Run(c.object+"/"+tls.VersionName(c.max), func(t *testing.T) {
			key, err := signer.Open(context.Background(), tk.URI(c.object))
			if err != nil {
				t.Fatal(err)
			}
			defer key.Close()
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "hsm.test"}, DNSNames: []string{"hsm.test"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
				KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key) // signed on the token
			if err != nil {
				t.Fatal(err)
			}
			leaf, _ := x509.ParseCertificate(der)
			pool := x509.NewCertPool()
			pool.AddCert(leaf)
			cfg := &Config{Certificates: []Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
			if c.suite != 0 {
				cfg.CipherSuites = []uint16{c.suite}
			}
			cerr, serr := pair(t, func(conn net.Conn) error {
				cc := &tls.Config{RootCAs: pool, ServerName: "hsm.test", MaxVersion: c.max}
				if c.suite != 0 {
					cc.CipherSuites = []uint16{c.suite}
				}
				cl := tls.Client(conn, cc)
				defer cl.Close()
				return sendAndCheck(cl, []byte("key in the HSM"))
			}, func(conn net.Conn) error {
				sv := Server(conn, cfg)
				defer sv.Close()
				return echoOnce(sv)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
		})
	}
}

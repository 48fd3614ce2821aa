package holdfast_test

import (
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/holdfast-tls/holdfast"
	"github.com/holdfast-tls/holdfast/signer"
)

// Certificate rotation without a new Config: GetCertificate hands out
// whatever chain is current, and renewing it is one atomic store. The key
// stays where it is (here in locked memory; a pkcs11: or tpm2: key the
// same way), and so do connections already made.
func ExampleConfig_GetCertificate() {
	key, err := signer.GenerateECDSA(elliptic.P256())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer key.Close()
	issue := func(serial int64) *holdfast.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "example.test"}, DNSNames: []string{"example.test"},
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		return &holdfast.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	var current atomic.Pointer[holdfast.Certificate]
	current.Store(issue(1))

	ln, err := holdfast.Listen("tcp", "127.0.0.1:0", &holdfast.Config{
		GetCertificate: func(*holdfast.ClientHelloInfo) (*holdfast.Certificate, error) { return current.Load(), nil },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "hello")
			c.Close()
		}
	}()

	servedSerial := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// The example's chains are self-signed: trust the current one.
		roots := x509.NewCertPool()
		leaf, _ := x509.ParseCertificate(current.Load().Certificate[0])
		roots.AddCert(leaf)
		conn, err := holdfast.DialContext(ctx, "tcp", ln.Addr().String(), &holdfast.Config{RootCAs: roots, ServerName: "example.test"})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer conn.Close()
		io.ReadAll(conn)
		fmt.Println("served serial", conn.ConnectionState().PeerCertificates[0].SerialNumber)
	}
	servedSerial()
	current.Store(issue(2)) // the renewal
	servedSerial()
	// Output:
	// served serial 1
	// served serial 2
}

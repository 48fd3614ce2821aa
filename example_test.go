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
	"time"

	"github.com/holdfast-tls/holdfast"
	"github.com/holdfast-tls/holdfast/signer"
)

// A server whose key never leaves its backend (here an ephemeral key in
// locked memory; in production a pkcs11: or tpm2: URI through signer.Open),
// and a client that verifies it, over loopback.
func ExampleListen() {
	key, err := signer.GenerateECDSA(elliptic.P256())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer key.Close()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example.test"}, DNSNames: []string{"example.test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)

	ln, err := holdfast.Listen("tcp", "127.0.0.1:0", &holdfast.Config{
		Certificates: []holdfast.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "hello from Holdfast")
	}()

	roots := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(der)
	roots.AddCert(leaf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := holdfast.DialContext(ctx, "tcp", ln.Addr().String(), &holdfast.Config{RootCAs: roots, ServerName: "example.test"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	msg, _ := io.ReadAll(conn)
	st := conn.ConnectionState()
	fmt.Printf("%s over %s\n", msg, holdfast.CipherSuiteName(st.CipherSuite))
	// Output: hello from Holdfast over TLS_AES_128_GCM_SHA256
}

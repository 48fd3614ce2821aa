package sigscheme_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/internal/sigscheme"
)

// A TLS 1.3 server picks a scheme from the client's signature_algorithms,
// signs its CertificateVerify content through the key's crypto.Signer
// under the handshake's deadline, and the client checks it against the
// list it offered.
func Example() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	offered := sigscheme.Supported12() // a ClientHello offering 1.2 and 1.3

	scheme, err := sigscheme.Choose(sigscheme.VersionTLS13, key.Public(), offered, sigscheme.Supported13())
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	content := []byte("the CertificateVerify content of RFC 8446 §4.4.3")
	sig, err := sigscheme.Sign(ctx, key, scheme, content)
	if err != nil {
		panic(err)
	}

	err = sigscheme.Verify(sigscheme.VersionTLS13, offered, key.Public(), scheme, content, sig)
	fmt.Println(scheme, err)

	content[0] ^= 1
	err = sigscheme.Verify(sigscheme.VersionTLS13, offered, key.Public(), scheme, content, sig)
	fmt.Println(alert.For(err).String())
	// Output:
	// ecdsa_secp256r1_sha256 <nil>
	// decrypt_error
}

// With no scheme in common the error carries handshake_failure and says
// why.
func ExampleChoose() {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		panic(err)
	}
	peer := []sigscheme.Scheme{sigscheme.ECDSAWithP256AndSHA256, sigscheme.PSSWithSHA256}
	_, err = sigscheme.Choose(sigscheme.VersionTLS13, key.Public(), peer, sigscheme.Supported13())
	fmt.Println(alert.For(err).String())
	fmt.Println(err)
	// Output:
	// handshake_failure
	// sigscheme: no signature scheme in common for our ECDSA P-384 key in TLS 1.3; peer offered [ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256]: tls: no acceptable parameters
}

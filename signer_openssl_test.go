//go:build cgo && unix && !darwin

//lint:file-ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.

package holdfast

// The openssl: backend (signer_openssl.go) with keys made by the openssl
// command in a temporary directory: signatures and decryption checked in
// Go, bad input, TLS 1.3 and 1.2 handshakes served with the keys to
// openssl s_client, gnutls-cli and crypto/tls, memory after long loops,
// and the signing cost beside Go's. The TPM case is in
// signer_openssl_tpm_test.go.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/holdfast-tls/holdfast/signer"
)

// opensslTestKey is a key type and how openssl genpkey makes it.
type opensslTestKey struct {
	name string
	args []string
}

var opensslTestKeys = []opensslTestKey{
	{"P256", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}},
	{"RSA2048", []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}},
	{"Ed25519", []string{"-algorithm", "ED25519"}},
}

// testPassphrase protects the encrypted test key; errors must never show it.
const testPassphrase = "holdfast-test-passphrase-7f3a"

// opensslCmd runs the openssl command and returns its standard output.
func opensslCmd(tb testing.TB, args ...string) []byte {
	tb.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		tb.Fatalf("the openssl command is not installed (%v): apt-get install openssl, or run bash ci/test.sh", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// genKey makes a PEM private key file with openssl genpkey.
func genKey(tb testing.TB, dir string, k opensslTestKey, extra ...string) string {
	tb.Helper()
	path := filepath.Join(dir, k.name+".pem")
	if len(extra) > 0 {
		path = filepath.Join(dir, k.name+"-encrypted.pem")
	}
	opensslCmd(tb, append(append([]string{"genpkey", "-out", path}, k.args...), extra...)...)
	return path
}

// openKey opens a key URI and closes it when the test ends.
func openKey(tb testing.TB, uri string) signer.Key {
	tb.Helper()
	k, err := signer.Open(context.Background(), uri)
	if err != nil {
		tb.Fatalf("signer.Open(%q): %v", uri, err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

// signVerify signs a fresh message under every hash the key type takes
// and verifies each signature in Go.
func signVerify(t *testing.T, key signer.Key) {
	t.Helper()
	msg := make([]byte, 100)
	rand.Read(msg)
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			d := hashOf(h, msg)
			sig, err := key.Sign(rand.Reader, d, h)
			if err != nil {
				t.Fatalf("ECDSA with %v: %v", h, err)
			}
			if !ecdsa.VerifyASN1(pub, d, sig) {
				t.Errorf("ECDSA with %v: signature does not verify", h)
			}
		}
	case *rsa.PublicKey:
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			d := hashOf(h, msg)
			sig, err := key.Sign(rand.Reader, d, h)
			if err != nil {
				t.Fatalf("RSA PKCS #1 v1.5 with %v: %v", h, err)
			}
			if err := rsa.VerifyPKCS1v15(pub, h, d, sig); err != nil {
				t.Errorf("RSA PKCS #1 v1.5 with %v: %v", h, err)
			}
			// TLS wants the salt as long as the hash: verify exactly that.
			pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
			if sig, err = key.Sign(rand.Reader, d, pss); err != nil {
				t.Fatalf("RSA-PSS with %v: %v", h, err)
			}
			if err := rsa.VerifyPSS(pub, h, d, sig, pss); err != nil {
				t.Errorf("RSA-PSS with %v, salt = hash length: %v", h, err)
			}
		}
	case ed25519.PublicKey:
		for _, m := range [][]byte{msg, nil} {
			sig, err := key.Sign(rand.Reader, m, crypto.Hash(0))
			if err != nil {
				t.Fatalf("Ed25519 over %d bytes: %v", len(m), err)
			}
			if !ed25519.Verify(pub, m, sig) {
				t.Errorf("Ed25519 over %d bytes: signature does not verify", len(m))
			}
		}
	default:
		t.Fatalf("public key %T", pub)
	}
}

func hashOf(h crypto.Hash, msg []byte) []byte {
	d := h.New()
	d.Write(msg)
	return d.Sum(nil)
}

// Each key type signs and verifies, and its public half is the one openssl
// itself derives from the key file.
func TestOpenSSLSignVerify(t *testing.T) {
	dir := t.TempDir()
	for _, kt := range opensslTestKeys {
		t.Run(kt.name, func(t *testing.T) {
			path := genKey(t, dir, kt)
			key := openKey(t, "openssl:file:"+path)
			want := opensslCmd(t, "pkey", "-in", path, "-pubout", "-outform", "DER")
			got, err := x509.MarshalPKIXPublicKey(key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Public() differs from openssl pkey -pubout")
			}
			signVerify(t, key)
			_, isRSA := key.Public().(*rsa.PublicKey)
			if _, dec := key.(crypto.Decrypter); dec != isRSA {
				t.Errorf("crypto.Decrypter %v for a %T key; want it for RSA keys only", dec, key.Public())
			}
			lim, ok := key.(signer.SchemeLimiter)
			if !ok {
				t.Fatal("the key is not a signer.SchemeLimiter")
			}
			want13 := map[string][]uint16{
				"P256":    {signer.ECDSAP256SHA256},
				"Ed25519": {signer.Ed25519},
				"RSA2048": {signer.RSAPSSRSAESHA256, signer.RSAPKCS1SHA256, signer.RSAPSSRSAESHA384, signer.RSAPKCS1SHA384, signer.RSAPSSRSAESHA512, signer.RSAPKCS1SHA512},
			}[kt.name]
			if got := lim.SignatureSchemes(); !equalSchemes(got, want13) {
				t.Errorf("SignatureSchemes %#04x, want %#04x", got, want13)
			}
		})
	}
}

func equalSchemes(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// RSA PKCS #1 v1.5 decryption in OpenSSL, with and without crypto/rsa's
// session-key mode, and its answers to bad ciphertexts.
func TestOpenSSLDecrypt(t *testing.T) {
	path := genKey(t, t.TempDir(), opensslTestKeys[1])
	uri := "openssl:file:" + path
	key := openKey(t, uri)
	dec := key.(crypto.Decrypter)
	pub := key.Public().(*rsa.PublicKey)
	secret := make([]byte, 48)
	rand.Read(secret)
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []crypto.DecrypterOpts{nil, (*rsa.PKCS1v15DecryptOptions)(nil), &rsa.PKCS1v15DecryptOptions{}, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48}} {
		got, err := dec.Decrypt(rand.Reader, ct, opts)
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("Decrypt with %#v: %x, %v; want the secret", opts, got, err)
		}
	}
	// The same ciphertext, then one of the wrong length, then garbage of
	// the right length.
	bad := append([]byte(nil), ct...)
	bad[len(bad)-1] ^= 1
	for name, c := range map[string][]byte{"spoiled": bad, "short": ct[:100], "empty": nil} {
		if got, err := dec.Decrypt(rand.Reader, c, nil); err == nil {
			t.Errorf("%s ciphertext decrypted to %x", name, got)
		} else if !strings.Contains(err.Error(), uri) {
			t.Errorf("%s ciphertext: error %q does not name the key", name, err)
		}
	}
	// Session-key mode: a spoiled ciphertext gives random bytes, no error.
	a, errA := dec.Decrypt(rand.Reader, bad, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48})
	b, errB := dec.Decrypt(rand.Reader, bad, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48})
	if errA != nil || errB != nil || len(a) != 48 || len(b) != 48 || bytes.Equal(a, b) || bytes.Equal(a, secret) {
		t.Errorf("session-key mode on a bad ciphertext: %x (%v), %x (%v); want two different random 48-byte keys", a, errA, b, errB)
	}
	if _, err := dec.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: crypto.SHA256}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("OAEP: %v; want not supported", err)
	}
}

// Bad input gets a clear error naming the URI, never a panic, and never
// the passphrase.
func TestOpenSSLBadInput(t *testing.T) {
	dir := t.TempDir()
	ec := "openssl:file:" + genKey(t, dir, opensslTestKeys[0])
	ed := "openssl:file:" + genKey(t, dir, opensslTestKeys[2])
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(testPassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongPass := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongPass, []byte(testPassphrase+"-wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	enc := genKey(t, dir, opensslTestKeys[0], "-aes-256-cbc", "-pass", "file:"+passFile)
	certOnly := writePEMFile(t, dir, "cert.pem", "CERTIFICATE", newTestPKI(t).caCert.Raw)

	t.Run("open", func(t *testing.T) {
		for _, c := range []struct{ uri, want string }{
			{"openssl:file:" + filepath.Join(dir, "missing.pem"), "OSSL_STORE"},
			{"openssl:", "names no key"},
			{"openssl:#provider=default", "names no key"},
			{"openssl:nosuchscheme:thing", "OSSL_STORE"},
			{ec + "#colour=blue", `unknown parameter "colour"`},
			{ec + "#propq=a&propq=b", "given 2 times"},
			{ec + "#provider=", "empty value"},
			{ec + "#pass-source=" + passFile, "pass-source must be file:PATH"},
			{ec + "#provider=no-such-provider", `provider "no-such-provider"`},
			{"openssl:file:" + certOnly, "no private key"},
			{"openssl:file:" + enc, "pass-source=file:PATH"},
			{"openssl:file:" + enc + "#pass-source=file:" + wrongPass, "wrong passphrase"},
			{"openssl:file:" + enc + "#pass-source=file:" + filepath.Join(dir, "nopass"), "pass-source"},
		} {
			k, err := signer.Open(context.Background(), c.uri)
			if err == nil {
				k.Close()
				t.Errorf("signer.Open(%q) succeeded", c.uri)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, c.uri) || !strings.Contains(msg, c.want) {
				t.Errorf("signer.Open(%q): %q; want the URI and %q", c.uri, msg, c.want)
			}
			if strings.Contains(msg, testPassphrase) {
				t.Errorf("signer.Open(%q): the error shows the passphrase", c.uri)
			}
			t.Logf("%s", msg)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := signer.Open(ctx, ec); !errors.Is(err, context.Canceled) {
			t.Errorf("Open with a cancelled context: %v", err)
		}
	})

	t.Run("sign", func(t *testing.T) {
		k := openKey(t, ec)
		rk := openKey(t, "openssl:file:"+genKey(t, dir, opensslTestKeys[1]))
		ek := openKey(t, ed)
		d := sha256.Sum256([]byte("x"))
		d384 := sha512.Sum384([]byte("x"))
		for _, c := range []struct {
			name   string
			key    signer.Key
			digest []byte
			opts   crypto.SignerOpts
			want   string
		}{
			{"short digest", k, d[:31], crypto.SHA256, "digest is 31 bytes"},
			{"empty digest", k, nil, crypto.SHA256, "digest is 0 bytes"},
			{"digest of another hash", k, d384[:], crypto.SHA256, "digest is 48 bytes"},
			{"unsupported hash", k, d[:16], crypto.MD5, "not supported"},
			{"no hash", k, d[:], crypto.Hash(0), "not supported"},
			{"nil options", k, d[:], nil, "no signer options"},
			{"nil PSS options", rk, d[:], (*rsa.PSSOptions)(nil), "no signer options"},
			{"nil Ed25519 options", ek, d[:], (*ed25519.Options)(nil), "no signer options"},
			{"PSS on ECDSA", k, d[:], &rsa.PSSOptions{Hash: crypto.SHA256}, "RSA-PSS options for an ECDSA key"},
			{"bad salt", rk, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: -7}, "invalid PSS salt length"},
			{"salt too long", rk, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 1000}, "signing:"},
			{"Ed25519 with a hash", ek, d[:], crypto.SHA256, "Ed25519 signs the message"},
			{"Ed25519ph", ek, d384[:], &ed25519.Options{Hash: crypto.SHA512}, "Ed25519ph"},
			{"Ed25519ctx", ek, d[:], &ed25519.Options{Context: "c"}, "Ed25519ph"},
		} {
			sig, err := c.key.Sign(rand.Reader, c.digest, c.opts)
			if err == nil {
				t.Errorf("%s: signed (%x)", c.name, sig)
				continue
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "openssl:file:") {
				t.Errorf("%s: %q; want the URI and %q", c.name, err, c.want)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := k.SignContext(ctx, rand.Reader, d[:], crypto.SHA256); !errors.Is(err, context.Canceled) {
			t.Errorf("SignContext with a cancelled context: %v", err)
		}
		ek.Close()
		if err := ek.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := ek.Sign(rand.Reader, []byte("m"), crypto.Hash(0)); !errors.Is(err, signer.ErrClosed) {
			t.Errorf("Sign after Close: %v; want ErrClosed", err)
		}
	})
}

// An encrypted PEM key opens with its passphrase from pass-source.
func TestOpenSSLEncryptedKey(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(testPassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kt := range opensslTestKeys {
		t.Run(kt.name, func(t *testing.T) {
			path := genKey(t, dir, kt, "-aes-256-cbc", "-pass", "file:"+passFile)
			if b, _ := os.ReadFile(path); !bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")) {
				t.Fatalf("%s is not an encrypted key", path)
			}
			signVerify(t, openKey(t, "openssl:file:"+path+"#pass-source=file:"+passFile))
		})
	}
}

// Providers and a property query from the URI: the key is opened in a
// private library context with only the default provider, and the
// implementations are fetched from it by name.
func TestOpenSSLProviderParameters(t *testing.T) {
	path := genKey(t, t.TempDir(), opensslTestKeys[0])
	for _, suffix := range []string{"#provider=default", "#provider=default&propq=provider%3Ddefault", "#provider=base&provider=default&propq=?provider=default"} {
		signVerify(t, openKey(t, "openssl:file:"+path+suffix))
	}
	// The private context has no provider but the one listed, so a query
	// for another finds nothing.
	uri := "openssl:file:" + path + "#provider=default&propq=provider=tpm2"
	if k, err := signer.Open(context.Background(), uri); err == nil {
		k.Close()
		t.Errorf("%s opened, though no provider matches the query", uri)
	}
}

// Many goroutines sign with one key while it is finally closed: every
// signature verifies, and a sign that loses the race gets ErrClosed.
func TestOpenSSLConcurrentSigning(t *testing.T) {
	key := openKey(t, "openssl:file:"+genKey(t, t.TempDir(), opensslTestKeys[0]))
	pub := key.Public().(*ecdsa.PublicKey)
	d := sha256.Sum256([]byte("concurrent"))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 100 {
				sig, err := key.Sign(nil, d[:], crypto.SHA256)
				if err != nil {
					errs <- err
					return
				}
				if !ecdsa.VerifyASN1(pub, d[:], sig) {
					errs <- errors.New("signature does not verify")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	done := make(chan error, 4)
	for range 4 {
		go func() {
			var err error
			for err == nil {
				_, err = key.Sign(nil, d[:], crypto.SHA256)
			}
			done <- err
		}()
	}
	key.Close()
	for range 4 {
		if err := <-done; !errors.Is(err, signer.ErrClosed) {
			t.Errorf("sign racing Close: %v; want ErrClosed", err)
		}
	}
}

// The keys serve TLS 1.3 and 1.2 handshakes to openssl s_client,
// gnutls-cli and crypto/tls; Ed25519 only in TLS 1.3. With RSA, TLS 1.2
// runs both ECDHE_RSA and RSA key transport, whose premaster OpenSSL
// decrypts.
func TestOpenSSLKeysServeTLS(t *testing.T) {
	dir := t.TempDir()
	peers := newOpenSSLTLSPeers(t)
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(testPassphrase), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		name       string
		uri        string
		suites12   []uint16 // none: TLS 1.3 only
		opensslSig string   // s_client's "Peer signature type" in TLS 1.3
	}{
		{"P256", "openssl:file:" + genKey(t, dir, opensslTestKeys[0]), []uint16{0xc02b}, "ECDSA"},
		{"RSA2048", "openssl:file:" + genKey(t, dir, opensslTestKeys[1]), []uint16{0xc02f, 0x009c}, "RSA-PSS"},
		{"Ed25519", "openssl:file:" + genKey(t, dir, opensslTestKeys[2]), nil, "ed25519"},
		{"P256-encrypted", "openssl:file:" + genKey(t, dir, opensslTestKeys[0], "-aes-256-cbc", "-pass", "file:"+passFile) +
			"#pass-source=file:" + passFile, []uint16{0xc02b}, "ECDSA"},
	} {
		peers.serve(t, k.name, openKey(t, k.uri), k.suites12, k.opensslSig)
	}
}

// opensslTLSPeers are the clients that Holdfast servers with openssl: keys
// serve: openssl s_client, gnutls-cli and crypto/tls, all trusting one
// test CA.
type opensslTLSPeers struct {
	pki *testPKI
	o   *opensslPeer
	g   *gnutlsPeer
}

func newOpenSSLTLSPeers(t *testing.T) *opensslTLSPeers {
	t.Helper()
	pki := newTestPKI(t)
	caFile := writePEMFile(t, t.TempDir(), "ca.pem", "CERTIFICATE", pki.caCert.Raw)
	return &opensslTLSPeers{
		pki: pki,
		o:   &opensslPeer{bin: interopTool(t, "openssl", "openssl"), fx: &interopFixture{pki: pki, caFile: caFile}},
		g:   &gnutlsPeer{cli: interopTool(t, "gnutls-cli", "gnutls-bin")},
	}
}

// serve runs a Holdfast server with key (and a server.test certificate for
// it) against each client: TLS 1.3, then TLS 1.2 with each of suites12.
// opensslSig is what s_client reports as the TLS 1.3 signature type.
func (p *opensslTLSPeers) serve(t *testing.T, name string, key signer.Key, suites12 []uint16, opensslSig string) {
	t.Helper()
	cert := p.pki.leaf(t, key, "server.test")
	caFile := p.o.fx.caFile
	for _, suite := range append([]uint16{0}, suites12...) { // 0: TLS 1.3
		cfg := &Config{Certificates: []Certificate{cert}, MinVersion: VersionTLS13}
		var row interop12Suite
		version := "TLS1.3"
		if suite != 0 {
			row = interop12SuiteByID(t, suite)
			cfg = &Config{Certificates: []Certificate{cert}, MaxVersion: VersionTLS12, CipherSuites: []uint16{suite}}
			version = "TLS1.2/" + row.name
		}
		t.Run(name+"/"+version+"/openssl", func(t *testing.T) {
			ln := interopListen(t)
			var peer *peerProc
			if suite == 0 {
				peer = p.o.client(t, ln.Addr().String(), caFile)
			} else {
				peer = p.o.client12(t, nil, ln.Addr().String(), "-cipher", row.openssl)
			}
			conn, err := interopAccept(t, ln, cfg, peer)
			if err != nil {
				t.Fatalf("Holdfast server handshake with the %s key: %v", name, err)
			}
			pingClient(t, conn, peer, "ping to a server whose key is in OpenSSL: "+name)
			if suite == 0 {
				peer.requireOutput(t, "Verification: OK", "Peer signature type: "+opensslSig)
			} else {
				peer.requireOutput(t, "Verification: OK", "Protocol  : TLSv1.2", "Cipher    : "+row.openssl)
			}
		})
		t.Run(name+"/"+version+"/gnutls", func(t *testing.T) {
			ln := interopListen(t)
			prio := gnutlsTLS13
			if suite != 0 {
				prio = row.gnutlsPriority12()
			}
			peer := p.g.client(t, ln.Addr().String(), caFile, prio)
			conn, err := interopAccept(t, ln, cfg, peer)
			if err != nil {
				t.Fatalf("Holdfast server handshake with the %s key: %v", name, err)
			}
			pingGnuTLSClient(t, conn, peer, "ping to a server whose key is in OpenSSL: "+name)
			peer.requireOutput(t, "- Status: The certificate is trusted.")
		})
		t.Run(name+"/"+version+"/crypto-tls", func(t *testing.T) {
			cerr, serr := pair(t, func(conn net.Conn) error {
				cc := &tls.Config{RootCAs: p.pki.pool, ServerName: "server.test"}
				if suite != 0 {
					cc.MaxVersion, cc.CipherSuites = tls.VersionTLS12, []uint16{suite}
				}
				cl := tls.Client(conn, cc)
				defer cl.Close()
				if err := sendAndCheck(cl, []byte("key in OpenSSL")); err != nil {
					return err
				}
				if st := cl.ConnectionState(); suite != 0 && st.CipherSuite != suite {
					return errors.New("crypto/tls negotiated " + tls.CipherSuiteName(st.CipherSuite))
				}
				return nil
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

// Command server is an HTTPS server on Holdfast whose private key stays in
// a key backend named by the -key URI: an HSM (pkcs11:), a key file read
// into locked memory (file:), or any other scheme the build registers.
//
//	go run ./examples/server                      # self-signed, ephemeral key in locked memory
//	go run ./examples/server -cert chain.pem -key file:/etc/holdfast/key.pem
//	go run ./examples/server -key 'pkcs11:token=holdfast;object=web?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:pin' -write-cert hsm.pem
//	curl -k https://127.0.0.1:8443/               # or curl --http2 for h2
//
// Without -cert the server makes a self-signed certificate for its key,
// signed by the key's backend; -write-cert saves it for clients to trust.
// With -cert, SIGHUP reads the chain again: a renewed certificate for the
// same key is served from the next handshake on, without a restart (a
// chain that cannot be read or is not the key's is refused with a log
// line, and the old one stays).
//
// GET / answers with the negotiated version, cipher suite and group.
package main

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/holdfast-tls/holdfast"
	"github.com/holdfast-tls/holdfast/signer"
)

func main() {
	var (
		listen   = flag.String("listen", "127.0.0.1:8443", "address to listen on")
		certFile = flag.String("cert", "", "PEM certificate chain, leaf first (default: a self-signed certificate)")
		keyURI   = flag.String("key", "", "key URI, e.g. file:/path/key.pem (default: an ephemeral P-256 key in locked memory)")
		clientCA = flag.String("client-ca", "", "PEM CA bundle; when set, clients must present a certificate it verifies")
		keylog   = flag.String("keylog", "", "append TLS secrets to this file in NSS key log format (debugging only)")
		minV     = flag.String("min", "1.2", "minimum TLS version: 1.2 or 1.3")
		maxV     = flag.String("max", "1.3", "maximum TLS version: 1.2 or 1.3")
		ciphers  = flag.String("ciphers", "", "comma-separated IANA cipher suite names")
		groups   = flag.String("groups", "", "comma-separated key-exchange groups: X25519MLKEM768, X25519, P-256, P-384")
		write    = flag.String("write-cert", "", "write the self-signed certificate (made when -cert is empty) to this PEM file")
	)
	flag.Parse()
	cfg, closeKey, reload, err := configure(options{*certFile, *keyURI, *clientCA, *keylog, *minV, *maxV, *ciphers, *groups, *write})
	if err != nil {
		log.Fatal(err)
	}
	defer closeKey()
	if err := serve(*listen, cfg, reload); err != nil {
		log.Fatal(err)
	}
}

// options are the command's flags.
type options struct {
	certFile, keyURI, clientCA, keylog, minV, maxV, ciphers, groups, writeCert string
}

// configure builds the server's Config from the flags. It returns the key's
// Close and, with -cert, the chain's reload for SIGHUP (nil without).
func configure(o options) (cfg *holdfast.Config, closeKey func(), reload func() error, err error) {
	certFile, keyURI, clientCA, keylog, minV, maxV, ciphers, groups := o.certFile, o.keyURI, o.clientCA, o.keylog, o.minV, o.maxV, o.ciphers, o.groups
	ctx := context.Background()
	var key signer.Key
	if keyURI == "" {
		key, err = signer.GenerateECDSA(elliptic.P256())
	} else {
		key, err = signer.Open(ctx, keyURI)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	closeKey = func() { key.Close() }
	var chain [][]byte
	if certFile == "" {
		der, err := selfSigned(key)
		if err != nil {
			closeKey()
			return nil, nil, nil, fmt.Errorf("making a self-signed certificate with the key: %w", err)
		}
		chain = [][]byte{der}
		if o.writeCert != "" {
			if err := os.WriteFile(o.writeCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
				closeKey()
				return nil, nil, nil, err
			}
		}
	}
	cfg = &holdfast.Config{NextProtos: []string{"h2", "http/1.1"}}
	if certFile == "" {
		cfg.Certificates = []holdfast.Certificate{{Certificate: chain, PrivateKey: key}}
	} else {
		chains := &chainFile{path: certFile, key: key}
		if err := chains.load(); err != nil {
			closeKey()
			return nil, nil, nil, err
		}
		cfg.GetCertificate = chains.current
		reload = chains.load
	}
	if cfg.MinVersion, err = version(minV); err != nil {
		closeKey()
		return nil, nil, nil, err
	}
	if cfg.MaxVersion, err = version(maxV); err != nil {
		closeKey()
		return nil, nil, nil, err
	}
	for _, name := range split(ciphers) {
		id, ok := holdfast.CipherSuiteByName(name)
		if !ok {
			closeKey()
			return nil, nil, nil, fmt.Errorf("-ciphers: unknown suite %q", name)
		}
		cfg.CipherSuites = append(cfg.CipherSuites, id)
	}
	for _, name := range split(groups) {
		g, ok := holdfast.CurveByName(name)
		if !ok {
			closeKey()
			return nil, nil, nil, fmt.Errorf("-groups: unknown group %q", name)
		}
		cfg.CurvePreferences = append(cfg.CurvePreferences, g)
	}
	if clientCA != "" {
		pool := x509.NewCertPool()
		pemData, err := os.ReadFile(clientCA)
		if err != nil || !pool.AppendCertsFromPEM(pemData) {
			closeKey()
			return nil, nil, nil, fmt.Errorf("-client-ca %s: no certificates (%v)", clientCA, err)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, holdfast.RequireAndVerifyClientCert
	}
	if keylog != "" {
		f, err := os.OpenFile(keylog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			closeKey()
			return nil, nil, nil, err
		}
		log.Printf("WARNING: writing TLS secrets to %s", keylog)
		cfg.KeyLogWriter = f
	}
	return cfg, closeKey, reload, nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func version(s string) (uint16, error) {
	switch s {
	case "1.3":
		return holdfast.VersionTLS13, nil
	case "1.2":
		return holdfast.VersionTLS12, nil
	}
	return 0, fmt.Errorf("TLS version %q: want 1.2 or 1.3", s)
}

func readChain(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var chain [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("-cert %s: no CERTIFICATE blocks", path)
	}
	return chain, nil
}

func selfSigned(key crypto.Signer) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, ok := key.Public().(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment // TLS 1.2 RSA key transport, when listed
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

type connKey struct{}

// chainFile serves the certificate chain in a PEM file for a key that
// stays open, and reads the file again on demand (SIGHUP), so that a
// renewed certificate needs no restart.
type chainFile struct {
	path string
	key  crypto.Signer
	cur  atomic.Pointer[holdfast.Certificate]
}

// load reads the chain and serves it from the next handshake on, if its
// leaf is the key's; otherwise the chain served so far stays.
func (c *chainFile) load() error {
	chain, err := readChain(c.path)
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return fmt.Errorf("%s: leaf: %w", c.path, err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := c.key.Public().(equaler); !ok || !pub.Equal(leaf.PublicKey) {
		return fmt.Errorf("%s: the leaf (%s) is not the key's certificate: %w", c.path, leaf.Subject, holdfast.ErrKeyMismatch)
	}
	c.cur.Store(&holdfast.Certificate{Certificate: chain, PrivateKey: c.key, Leaf: leaf})
	return nil
}

func (c *chainFile) current(*holdfast.ClientHelloInfo) (*holdfast.Certificate, error) {
	return c.cur.Load(), nil
}

// serve accepts TLS connections and serves HTTP on them: HTTP/2 when ALPN
// chose h2 (net/http's HTTP/2 server, which sees the decrypted stream as
// HTTP/2 with prior knowledge), HTTP/1.1 otherwise. The handshake runs on
// net/http's first read, bounded by Config.HandshakeTimeout.
func serve(addr string, cfg *holdfast.Config, reload func() error) error {
	ln, err := holdfast.Listen("tcp", addr, cfg)
	if err != nil {
		return err
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           http.HandlerFunc(status),
		ReadHeaderTimeout: 10 * time.Second,
		Protocols:         &protocols,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	go func() {
		<-stop
		srv.Close()
	}()
	if reload != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			for range hup {
				if err := reload(); err != nil {
					log.Printf("SIGHUP: keeping the chain served so far: %v", err)
				} else {
					log.Printf("SIGHUP: serving the renewed chain from now on")
				}
			}
		}()
	}
	fmt.Printf("serving https://%s/ on Holdfast\n  try: curl -k https://%s/   (or curl -k --http2)\n", ln.Addr(), ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func status(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Context().Value(connKey{}).(*holdfast.Conn)
	if c == nil {
		http.Error(w, "not a Holdfast connection", http.StatusInternalServerError)
		return
	}
	// What an auditor's scanner (testssl.sh) expects of an HTTPS server:
	// HSTS, and no framing, sniffing or third-party content.
	h := w.Header()
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	st := c.ConnectionState()
	version := "TLS 1.3"
	if st.Version == holdfast.VersionTLS12 {
		version = "TLS 1.2"
	}
	fmt.Fprintf(w, "Holdfast: %s, %s, %s, %s\n", version, holdfast.CipherSuiteName(st.CipherSuite), st.CurveID, r.Proto)
}

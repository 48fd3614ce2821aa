// Command https-server is the program Holdfast exists to run: an HTTPS
// server whose private key never enters the process.
//
// Today it is a stand-in. Holdfast's TLS engine (issue "TLS 1.3 client and
// server") and key backends (issue "signer/: key URIs and the PKCS#11
// backend") have not landed, so this server terminates TLS with Go's
// crypto/tls and holds a freshly generated P-256 key only as a
// crypto.Signer, the one interface the real engine will use. What already
// runs is the secret memory underneath: each request derives a TLS 1.3 key
// schedule in locked memory and the page reports the pool's figures. When
// the engine and the backends land, -key takes a key URI (pkcs11:, tpm2:,
// openssl:) and the handshake runs on Holdfast.
//
//	go run ./examples/https-server -addr 127.0.0.1:8443
//	curl -k https://127.0.0.1:8443/
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "address to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

func run(addr string) error {
	signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	cert, err := selfSigned(signer)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", status)
	srv := &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
		},
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("serving https://%s/ (stand-in: crypto/tls until Holdfast's engine lands)", ln.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	go func() {
		<-stop
		srv.Close()
	}()
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// selfSigned makes a certificate for localhost whose key is reached only
// through crypto.Signer.
func selfSigned(signer crypto.Signer) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: signer}, nil
}

// status derives a full TLS 1.3 key schedule in locked memory, frees it,
// and reports the pool.
func status(w http.ResponseWriter, r *http.Request) {
	if err := deriveSchedule(); err != nil {
		http.Error(w, "key schedule: "+err.Error(), http.StatusInternalServerError)
		return
	}
	st := mem.Default().Stats()
	fmt.Fprintf(w, "Holdfast stand-in server, %s over %s\n", tls.VersionName(r.TLS.Version), tls.CipherSuiteName(r.TLS.CipherSuite))
	fmt.Fprintf(w, "secret memory: %d arenas, %d bytes locked, %d unlocked, %d live secrets\n",
		st.Arenas, st.LockedBytes, st.UnlockedBytes, st.LiveSecrets)
}

func deriveSchedule() error {
	shared, err := mem.New(32)
	if err != nil {
		return err
	}
	defer shared.Free()
	if _, err := rand.Read(shared.Bytes()); err != nil {
		return err
	}
	early, err := hkdf.NewEarlySecret(hkdf.SHA256, nil)
	if err != nil {
		return err
	}
	defer early.Free()
	hs, err := early.Handshake(shared)
	if err != nil {
		return err
	}
	defer hs.Free()
	th := sha256.Sum256([]byte("transcript"))
	ms, err := hs.Master()
	if err != nil {
		return err
	}
	defer ms.Free()
	app, err := ms.ServerTrafficSecret(th[:])
	if err != nil {
		return err
	}
	app.Free()
	return nil
}

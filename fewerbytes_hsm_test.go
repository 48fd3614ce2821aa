package holdfast

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/signer"
)

// traced is a handshake trace: one line per message, "> " sent or "< "
// received, the message type and its length.
type traced struct {
	mu    sync.Mutex
	lines []string
}

func (tr *traced) hook(sent bool, msg []byte) {
	dir := "<"
	if sent {
		dir = ">"
	}
	tr.mu.Lock()
	tr.lines = append(tr.lines, fmt.Sprintf("%s %d/%d", dir, msg[0], len(msg)-4))
	tr.mu.Unlock()
}

func (tr *traced) take() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := tr.lines
	tr.lines = nil
	return out
}

// has reports whether the trace holds a message of type typ in direction
// dir ("<" or ">") whose body is want bytes long (any length when want is
// negative).
func has(lines []string, dir string, typ, want int) bool {
	for _, l := range lines {
		var d string
		var ty, n int
		fmt.Sscanf(l, "%s %d/%d", &d, &ty, &n)
		if d == dir && ty == typ && (want < 0 || n == want) {
			return true
		}
	}
	return false
}

// Holdfast client against Holdfast server, TLS 1.3 and 1.2, mutual TLS,
// RSA and ECDSA keys in SoftHSM on both sides, with every fewer-bytes
// extension Holdfast has turned on: the handshakes complete, and the
// client's handshake trace shows the shortened messages — compressed
// certificates on first contact, then 32-byte digests for the server's
// Certificate (and in TLS 1.2 its CertificateRequest) and the client's
// own chain (TLS 1.3: proffered; TLS 1.2: by URL), and with RSA keys in
// TLS 1.2 a server-generated premaster the client decrypts in SoftHSM.
func TestFewerBytesWithKeysInSoftHSM(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"server-ec": "EC:prime256v1", "client-ec": "EC:prime256v1"})
	tk = softhsm.AddKey(t, tk, "server-rsa", "rsa:2048", "11")
	tk = softhsm.AddKey(t, tk, "client-rsa", "rsa:2048", "12")
	open := func(object string) signer.Key {
		k, err := signer.Open(context.Background(), tk.URI(object))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { k.Close() })
		return k
	}
	root := newNamedPKI(t, "Holdfast HSM Bytes Root")
	inter := root.intermediate(t, "Holdfast HSM Bytes Intermediate")
	chain := func(key signer.Key, name string) Certificate {
		c := inter.leaf(t, key, name)
		c.Certificate = append(c.Certificate, inter.caCert.Raw, root.caCert.Raw)
		return c
	}
	var mu sync.Mutex
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range urlCerts {
			for i, u := range c.URLs {
				if strings.HasSuffix(u, r.URL.Path) {
					w.Write(c.Certificate[i])
					return
				}
			}
		}
		http.NotFound(w, r)
	}))
	defer web.Close()

	for _, kt := range []string{"ec", "rsa"} {
		serverKey := open("server-" + kt)
		serverCert := chain(serverKey, "server.test")
		renewedCert := chain(serverKey, "server.test") // same key, new leaf, same intermediates
		clientCert := chain(open("client-"+kt), "client.test")
		clientCert.URLs = []string{web.URL + "/certs/" + kt + "-leaf.der", web.URL + "/certs/" + kt + "-inter.der", web.URL + "/certs/" + kt + "-root.der"}
		mu.Lock()
		urlCerts = append(urlCerts, clientCert)
		mu.Unlock()
		for _, vers := range []uint16{VersionTLS13, VersionTLS12} {
			t.Run(kt+"/"+tls.VersionName(vers), func(t *testing.T) {
				suites := []uint16{TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
				if kt == "rsa" {
					// RSA key transport, for the random premaster.
					suites = []uint16{TLS_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
				}
				var trace traced
				server := &Config{Certificates: []Certificate{serverCert}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: root.pool,
					CipherSuites: suites, CachedCertificates: true, ProfferClientCertificate: true, RandomPremaster: true,
					ServerGeneratedPremaster: true, CertificateURLPrefixes: []string{web.URL + "/certs/"}, SessionTicketsDisabled: true}
				client := &Config{RootCAs: root.pool, ServerName: "server.test", MaxVersion: vers, CipherSuites: suites,
					Certificates: []Certificate{clientCert}, AnnounceCAs: true, AnnouncedRoots: []*x509.Certificate{root.caCert},
					CachedCertificates: true, ProfferClientCertificate: true, RandomPremaster: true,
					ServerGeneratedPremaster: true, HandshakeTrace: trace.hook}
				renewed := &Config{Certificates: []Certificate{renewedCert}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: root.pool,
					CipherSuites: suites, CachedCertificates: true, ProfferClientCertificate: true, RandomPremaster: true,
					ServerGeneratedPremaster: true, CertificateURLPrefixes: []string{web.URL + "/certs/"}, SessionTicketsDisabled: true}
				var rounds [][]string
				for _, server := range []*Config{server, server, renewed} {
					cerr, serr := pair(t, func(c net.Conn) error {
						cl := Client(c, client)
						defer cl.Close()
						if err := sendAndCheck(cl, []byte("fewer bytes, keys in the HSM")); err != nil {
							return err
						}
						if st := cl.ConnectionState(); st.Version != vers || len(st.PeerCertificates) != 3 {
							return fmt.Errorf("version %#x, %d server certificates", st.Version, len(st.PeerCertificates))
						}
						return nil
					}, func(c net.Conn) error {
						sv := Server(c, server)
						defer sv.Close()
						if err := echoOnce(sv); err != nil {
							return err
						}
						if n := len(sv.ConnectionState().PeerCertificates); n != 3 {
							return fmt.Errorf("server ended with %d client certificates", n)
						}
						return nil
					})
					if cerr != nil || serr != nil {
						t.Fatalf("client %v, server %v", cerr, serr)
					}
					rounds = append(rounds, trace.take())
				}
				t.Logf("first handshake:  %v", rounds[0])
				t.Logf("second handshake: %v", rounds[1])
				t.Logf("renewed leaf:     %v", rounds[2])
				// The renewed leaf goes in full, the rest as digests
				// (cached-info type 224): the server's certificate message
				// is smaller than on first contact.
				if a, b := serverCertSize(rounds[0]), serverCertSize(rounds[2]); b <= 0 || b >= a {
					t.Errorf("renewed leaf: server certificate message %d bytes, first contact %d", b, a)
				}
				const digestBody = 33 // hash_value<1..255> holding a SHA-256
				if vers == VersionTLS13 {
					// First contact: the server's chain compressed; then its
					// digest, and the client's proffered chain as a digest.
					if !has(rounds[0], "<", 25, -1) {
						t.Error("first TLS 1.3 handshake: no CompressedCertificate from the server")
					}
					if !has(rounds[1], "<", 11, digestBody) || !has(rounds[1], ">", 11, digestBody) {
						t.Error("second TLS 1.3 handshake: a Certificate was not sent as its digest")
					}
				} else {
					// The client's chain goes by URL (CertificateURL, 21) in
					// both; the server's Certificate and CertificateRequest
					// are digests the second time.
					if !has(rounds[0], ">", 21, -1) || !has(rounds[1], ">", 21, -1) {
						t.Error("TLS 1.2: the client did not send CertificateURL")
					}
					if !has(rounds[1], "<", 11, digestBody) || !has(rounds[1], "<", 13, digestBody) {
						t.Error("second TLS 1.2 handshake: Certificate or CertificateRequest was not a digest")
					}
					// With RSA keys the server makes the premaster in the
					// second handshake (it holds the client's chain), and
					// the client decrypts it with its key in SoftHSM.
					if kt == "rsa" && (!has(rounds[1], "<", 12, -1) || !has(rounds[1], ">", 16, 2)) {
						t.Error("second TLS 1.2 RSA handshake: no server-generated premaster")
					}
				}
			})
		}
	}
}

// serverCertSize is the body length of the first Certificate or
// CompressedCertificate the client received in a trace, or -1.
func serverCertSize(lines []string) int {
	for _, l := range lines {
		var d string
		var ty, n int
		fmt.Sscanf(l, "%s %d/%d", &d, &ty, &n)
		if d == "<" && (ty == 11 || ty == 25) {
			return n
		}
	}
	return -1
}

// urlCerts are the client chains the test's web server hands out by URL.
var urlCerts []Certificate

package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// client_certificate_url (RFC 6066 §5) between Holdfast peers in TLS 1.2:
// the client sends URLs and hashes instead of its chain, the server
// fetches them from its allow-list and verifies the chain; a URL outside
// the list, a missing certificate or a changed one ends the handshake with
// the RFC's alert.
func TestClientCertificateURL(t *testing.T) {
	root := newNamedPKI(t, "Holdfast CertURL Root")
	inter := root.intermediate(t, "Holdfast CertURL Intermediate")
	clientCert := inter.leaf(t, ecKey(t, elliptic.P256()), "client.test")
	clientCert.Certificate = append(clientCert.Certificate, inter.caCert.Raw)
	other := inter.leaf(t, ecKey(t, elliptic.P256()), "other.test")

	var fetches atomic.Int64
	mux := http.NewServeMux()
	serve := func(path string, der []byte) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { fetches.Add(1); w.Write(der) })
	}
	serve("/certs/leaf.der", clientCert.Certificate[0])
	serve("/certs/inter.der", clientCert.Certificate[1])
	serve("/certs/changed.der", other.Certificate[0])
	serve("/elsewhere/leaf.der", clientCert.Certificate[0])
	web := httptest.NewServer(mux)
	defer web.Close()
	base := web.URL + "/certs/"

	serverCert := root.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	server := &Config{Certificates: []Certificate{serverCert}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: root.pool,
		MaxVersion: VersionTLS12, CertificateURLPrefixes: []string{base}}
	connect := func(t *testing.T, server *Config, urls []string) (sent int64, peers int, serverErr error) {
		t.Helper()
		cert := clientCert
		cert.URLs = urls
		client := &Config{RootCAs: root.pool, ServerName: "server.test", MaxVersion: VersionTLS12, Certificates: []Certificate{cert}}
		var n atomic.Int64
		_, serverErr = pair(t, func(c net.Conn) error {
			cl := Client(c, client)
			defer cl.Close()
			return sendAndCheck(cl, []byte("certificate by url"))
		}, func(c net.Conn) error {
			sv := Server(countingConn{c, &n}, server)
			defer sv.Close()
			if err := echoOnce(sv); err != nil {
				return err
			}
			peers = len(sv.ConnectionState().PeerCertificates)
			return nil
		})
		return n.Load(), peers, serverErr
	}

	full, peers, err := connect(t, server, nil)
	if err != nil || peers != 2 {
		t.Fatalf("without URLs: %v, %d certificates", err, peers)
	}
	byURL, peers, err := connect(t, server, []string{base + "leaf.der", base + "inter.der"})
	if err != nil || peers != 2 || fetches.Load() != 2 {
		t.Fatalf("by URL: %v, %d certificates, %d fetches", err, peers, fetches.Load())
	}
	t.Logf("client flight: %d bytes with the chain, %d with URLs", full, byURL)
	if byURL >= full {
		t.Fatalf("URLs did not shrink the client's flight (%d vs %d)", byURL, full)
	}
	for name, tc := range map[string]struct {
		urls []string
		want error
	}{
		"outside the allow-list": {[]string{web.URL + "/elsewhere/leaf.der", base + "inter.der"}, AlertCertificateUnobtainable},
		"not found":              {[]string{base + "missing.der", base + "inter.der"}, AlertCertificateUnobtainable},
		"climbing out":           {[]string{base + "../elsewhere/leaf.der", base + "inter.der"}, AlertCertificateUnobtainable},
		"changed certificate":    {[]string{base + "changed.der", base + "inter.der"}, AlertBadCertificateHashValue},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := connect(t, server, tc.urls)
			if !errors.Is(err, tc.want) {
				t.Fatalf("server: %v, want %v", err, tc.want)
			}
		})
	}
	// A server without the option, and crypto/tls, get the chain.
	plain := &Config{Certificates: []Certificate{serverCert}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: root.pool, MaxVersion: VersionTLS12}
	if n, peers, err := connect(t, plain, []string{base + "leaf.der", base + "inter.der"}); err != nil || peers != 2 || n < full-64 {
		t.Fatalf("server without CertificateURLPrefixes: %v, %d certificates, %d bytes", err, peers, n)
	}
	cert := clientCert
	cert.URLs = []string{base + "leaf.der", base + "inter.der"}
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := Client(c, &Config{RootCAs: root.pool, ServerName: "server.test", MaxVersion: VersionTLS12, Certificates: []Certificate{cert}})
		defer cl.Close()
		return sendAndCheck(cl, []byte("to crypto/tls"))
	}, func(c net.Conn) error {
		sv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(serverCert)}, ClientAuth: tls.RequireAndVerifyClientCert,
			ClientCAs: root.pool, MaxVersion: tls.VersionTLS12})
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("against crypto/tls: %v, %v", cerr, serr)
	}
}

func TestCertificateURLConfigValidated(t *testing.T) {
	for _, prefixes := range [][]string{{}, {"http://a.test"}, {"ftp://a.test/"}, {"http://user@a.test/"}} {
		if _, err := (&Config{CertificateURLPrefixes: prefixes}).resolve(); err == nil {
			t.Errorf("prefixes %q accepted", prefixes)
		}
	}
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "client.test")
	cert.URLs = []string{"http://a.test/leaf.der", "http://a.test/extra.der"}
	if _, err := (&Config{Certificates: []Certificate{cert}}).resolve(); err == nil {
		t.Error("two URLs for one certificate accepted")
	}
}

package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"sync/atomic"
	"testing"
)

// Cached information in TLS 1.3 (Config.CachedCertificates) between
// Holdfast peers with mutual TLS: the second connection's server flight
// carries a digest instead of the 3-certificate chain, and the client
// still ends with the verified chain. A renewed leaf goes alone in full
// (cachedcerts_test.go); a server without the option, or crypto/tls on
// either side, is unaffected.
func TestCachedCertificates13(t *testing.T) {
	root, chain := serverChains(t, "Holdfast Cached-Info")
	first, second := chain(), chain()
	client := &Config{RootCAs: root.pool, ServerName: "server.test", CachedCertificates: true, Certificates: []Certificate{chain()},
		DisableCertificateCompression: true}
	serverFor := func(cert Certificate, cached bool) *Config {
		return &Config{Certificates: []Certificate{cert}, CachedCertificates: cached, ClientAuth: RequireAndVerifyClientCert,
			ClientCAs: root.pool, DisableCertificateCompression: true}
	}
	connect := func(t *testing.T, server *Config) int64 {
		t.Helper()
		return connectCounted(t, client, server, func(st ConnectionState) {
			if got := len(st.PeerCertificates); got != 3 {
				t.Errorf("client ended with %d server certificates, want 3", got)
			}
		})
	}
	srv1 := serverFor(first, true)
	full := connect(t, srv1)
	cached := connect(t, srv1)
	t.Logf("server flight: %d bytes in full, %d with cached info (%d saved)", full, cached, full-cached)
	if full-cached < int64(len(first.Certificate[0])+len(first.Certificate[1])) {
		t.Fatalf("cached info saved only %d bytes (%d vs %d)", full-cached, full, cached)
	}
	// The server's leaf changed: the leaf goes in full, the intermediate
	// and root as digests (type 224, cachedcerts_test.go), and the new
	// chain is remembered too.
	if n := connect(t, serverFor(second, true)); n > full-int64(len(second.Certificate[1])+len(second.Certificate[2]))+2*64 || n < cached {
		t.Fatalf("a renewed leaf went out in %d bytes; full is %d, whole-message digest %d", n, full, cached)
	}
	// The first chain is still known (two per name): digest again.
	if n := connect(t, srv1); n > cached+64 {
		t.Fatalf("the first chain after a rollover: %d bytes, want about %d", n, cached)
	}
	// A server without the option sends its chain in full.
	if n := connect(t, serverFor(first, false)); n < full-64 {
		t.Fatalf("a server without cached info sent %d bytes, full is %d", n, full)
	}
	// crypto/tls ignores the offered digests, and its client is served as
	// before.
	againstStd(t, client, &tls.Config{Certificates: []tls.Certificate{toStd(first)}},
		&tls.Config{RootCAs: root.pool, ServerName: "server.test", Certificates: []tls.Certificate{toStd(first)}}, srv1)
}

func TestCachedInfoCodePointValidated(t *testing.T) {
	c := &Config{CachedCertificates: true, CachedInfoCodePoint: 25}
	if _, err := c.resolve(); err == nil {
		t.Fatal("a non-private code point was accepted")
	}
}

// The proffered client certificate (Config.ProfferClientCertificate) in
// TLS 1.3 with mutual TLS: the first connection sends the client's chain,
// the second only its digest, and the server still ends with the
// verified chain. A server that does not hold the chain, or has the option
// off, gets the chain in full.
func TestProfferedClientCertificate(t *testing.T) {
	root := newNamedPKI(t, "Holdfast Proffer Root")
	inter := root.intermediate(t, "Holdfast Proffer Intermediate")
	clientCert := inter.leaf(t, ecKey(t, elliptic.P256()), "client.test")
	clientCert.Certificate = append(clientCert.Certificate, inter.caCert.Raw, root.caCert.Raw)
	serverCert := root.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	client := &Config{RootCAs: root.pool, ServerName: "server.test", Certificates: []Certificate{clientCert},
		ProfferClientCertificate: true, DisableCertificateCompression: true}
	serverWith := func(on bool) *Config {
		return &Config{Certificates: []Certificate{serverCert}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: root.pool,
			ProfferClientCertificate: on, DisableCertificateCompression: true}
	}
	connect := func(t *testing.T, server *Config) int64 {
		t.Helper()
		var n atomic.Int64
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(c, client)
			defer cl.Close()
			return sendAndCheck(cl, []byte("proffered"))
		}, func(c net.Conn) error {
			sv := Server(countingConn{c, &n}, server)
			defer sv.Close()
			if err := echoOnce(sv); err != nil {
				return err
			}
			st := sv.ConnectionState()
			if len(st.PeerCertificates) != 3 || len(st.VerifiedChains) == 0 {
				t.Errorf("server ended with %d client certificates, %d verified chains", len(st.PeerCertificates), len(st.VerifiedChains))
			}
			return nil
		})
		if cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
		return n.Load()
	}
	server := serverWith(true)
	full := connect(t, server)
	short := connect(t, server)
	t.Logf("client flight: %d bytes in full, %d proffered (%d saved)", full, short, full-short)
	if full-short < int64(len(clientCert.Certificate[0])+len(clientCert.Certificate[1])) {
		t.Fatalf("the proffered certificate saved only %d bytes (%d vs %d)", full-short, full, short)
	}
	if n := connect(t, serverWith(true)); n < full-64 {
		t.Fatalf("a server that does not hold the chain got %d bytes, full is %d", n, full)
	}
	if n := connect(t, serverWith(false)); n < full-64 {
		t.Fatalf("a server with the option off got %d bytes, full is %d", n, full)
	}
	// crypto/tls as the server ignores the proffer.
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := Client(c, client)
		defer cl.Close()
		return sendAndCheck(cl, []byte("to crypto/tls"))
	}, func(c net.Conn) error {
		sv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(serverCert)}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: root.pool})
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("against crypto/tls: client %v, server %v", cerr, serr)
	}
}

// RFC 7924 in TLS 1.2 between Holdfast peers with mutual TLS: on the
// second connection the server's Certificate and CertificateRequest both
// go as digests. A server with DisableTLS12CachedInfo, and crypto/tls,
// send them in full.
func TestCachedInfo12(t *testing.T) {
	root := newNamedPKI(t, "Holdfast RFC 7924 Root")
	inter := root.intermediate(t, "Holdfast RFC 7924 Intermediate")
	leaf := inter.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	leaf.Certificate = append(leaf.Certificate, inter.caCert.Raw, root.caCert.Raw)
	clientCert := inter.leaf(t, ecKey(t, elliptic.P256()), "client.test")
	clientCert.Certificate = append(clientCert.Certificate, inter.caCert.Raw)
	client := &Config{RootCAs: root.pool, ServerName: "server.test", MaxVersion: VersionTLS12, CachedCertificates: true,
		Certificates: []Certificate{clientCert}}
	serverWith := func(off bool) *Config {
		return &Config{Certificates: []Certificate{leaf}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: root.pool,
			SessionTicketsDisabled: true, DisableTLS12CachedInfo: off}
	}
	connect := func(t *testing.T, server *Config) int64 {
		t.Helper()
		var n atomic.Int64
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(countingConn{c, &n}, client)
			defer cl.Close()
			if err := sendAndCheck(cl, []byte("rfc 7924")); err != nil {
				return err
			}
			if st := cl.ConnectionState(); st.Version != VersionTLS12 || len(st.PeerCertificates) != 3 {
				t.Errorf("version %#x, %d server certificates", st.Version, len(st.PeerCertificates))
			}
			return nil
		}, func(c net.Conn) error {
			sv := Server(c, server)
			defer sv.Close()
			return echoOnce(sv)
		})
		if cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
		return n.Load()
	}
	server := serverWith(false)
	full := connect(t, server)
	cached := connect(t, server)
	t.Logf("TLS 1.2 server flight: %d bytes in full, %d with cached_info (%d saved)", full, cached, full-cached)
	if full-cached < int64(len(leaf.Certificate[0])+len(leaf.Certificate[1])) {
		t.Fatalf("cached_info saved only %d bytes", full-cached)
	}
	if n := connect(t, serverWith(true)); n < full-64 {
		t.Fatalf("a server with DisableTLS12CachedInfo sent %d bytes, full is %d", n, full)
	}
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := Client(c, client)
		defer cl.Close()
		return sendAndCheck(cl, []byte("to crypto/tls"))
	}, func(c net.Conn) error {
		sv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(leaf)}, MaxVersion: tls.VersionTLS12})
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("against crypto/tls: client %v, server %v", cerr, serr)
	}
}

package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"sync/atomic"
	"testing"
)

// BenchmarkFewerBytes measures the second seed's proposals on a full
// handshake (TLS 1.3, and TLS 1.2 for what it has) with mutual TLS and 3-certificate chains on both sides
// (leaf, intermediate, root; ECDSA P-256), the same keys in every case:
// bytes on the wire in each direction and handshakes per second, for the
// baseline (every option off), each option alone, and all together. The
// caches are warmed by one handshake before timing, as they are for any
// peer that has been seen before. The renewed-leaf rows have the server
// meet the client with a leaf it has not seen under the intermediate it
// has (three leaves in turn, while a client keeps two chains per name),
// so that every timed handshake sends the leaf in full and the other two
// certificates as digests.
func BenchmarkFewerBytes(b *testing.B) {
	root := newNamedPKI(b, "Holdfast Bytes Root")
	inter := root.intermediate(b, "Holdfast Bytes Intermediate")
	chain := func(name string) Certificate {
		c := inter.leaf(b, ecKey(b, elliptic.P256()), name)
		c.Certificate = append(c.Certificate, inter.caCert.Raw, root.caCert.Raw)
		return c
	}
	serverCert, clientCert := chain("server.test"), chain("client.test")
	type options struct {
		compress, cached, proffer bool
		vers                      uint16
		renewed                   bool
	}
	for _, tc := range []struct {
		name string
		opt  options
	}{
		{"TLS1.3/baseline", options{vers: VersionTLS13}},
		{"TLS1.3/compression", options{compress: true, vers: VersionTLS13}},
		{"TLS1.3/cached-info", options{cached: true, vers: VersionTLS13}},
		{"TLS1.3/proffered-client-cert", options{proffer: true, vers: VersionTLS13}},
		{"TLS1.3/cached-info-renewed-leaf", options{cached: true, vers: VersionTLS13, renewed: true}},
		{"TLS1.3/all", options{compress: true, cached: true, proffer: true, vers: VersionTLS13}},
		{"TLS1.2/baseline", options{vers: VersionTLS12}},
		{"TLS1.2/cached-info", options{cached: true, vers: VersionTLS12}},
		{"TLS1.2/cached-info-renewed-leaf", options{cached: true, vers: VersionTLS12, renewed: true}},
	} {
		serverWith := func(cert Certificate) *Config {
			return &Config{Certificates: []Certificate{cert}, ClientAuth: RequireAndVerifyClientCert, ClientCAs: root.pool,
				SessionTicketsDisabled: true, CurvePreferences: []CurveID{X25519}, CipherSuites: []uint16{TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
				DisableTLS12CachedInfo:        !tc.opt.cached,
				DisableCertificateCompression: !tc.opt.compress, CachedCertificates: tc.opt.cached, ProfferClientCertificate: tc.opt.proffer}
		}
		servers := []*Config{serverWith(serverCert)}
		if tc.opt.renewed {
			servers = append(servers, serverWith(chain("server.test")), serverWith(chain("server.test")))
		}
		client := &Config{RootCAs: root.pool, ServerName: "server.test", Certificates: []Certificate{clientCert}, MaxVersion: tc.opt.vers,
			CurvePreferences: []CurveID{X25519}, CipherSuites: []uint16{TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			DisableCertificateCompression: !tc.opt.compress, CachedCertificates: tc.opt.cached, ProfferClientCertificate: tc.opt.proffer}
		b.Run(tc.name, func(b *testing.B) {
			var toServer, toClient atomic.Int64
			ln := benchListener(b)
			turn := 0
			run := func() {
				server := servers[turn%len(servers)]
				turn++
				handshakeOnce(b, ln, func(c net.Conn) handshaker { return Server(countingConn{c, &toServer}, server) },
					func(c net.Conn) handshaker { return Client(countingConn{c, &toClient}, client) })
			}
			run() // warm the caches
			toServer.Store(0)
			toClient.Store(0)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				run()
				n++
			}
			b.ReportMetric(float64(toServer.Load())/float64(n), "B-to-server/op")
			b.ReportMetric(float64(toClient.Load())/float64(n), "B-to-client/op")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

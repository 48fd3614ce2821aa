package holdfast

import (
	"bytes"
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"sync/atomic"
	"testing"
)

// A renewed leaf under the same intermediates (cached-information type
// 224, a Holdfast extension), TLS 1.3 and 1.2: the client met the server
// with (leaf1, inter, root); a new server Config with (leaf2, inter, root)
// sends leaf2 in full and the intermediate and root as 32-byte digests,
// the client ends with the verified 3-certificate chain, and the next
// connection gets the whole-message digest (type 1 wins). A server
// without CachedCertificates, and crypto/tls on either side, are
// unaffected.
func TestCachedCertificatesRenewedLeaf(t *testing.T) {
	root, chain := serverChains(t, "Holdfast Renewed-Leaf")
	first, second := chain(), chain()
	for _, tc := range []struct {
		vers uint16
		// The Certificate body with leaf2 in full and two digests: TLS
		// 1.3 has a context byte, and per entry a 3-byte length, 32
		// bytes of digest and 2+4 bytes of extensions (the mark); TLS
		// 1.2 has per element a 3-byte length and 33 bytes.
		partial int
	}{
		{VersionTLS13, 1 + 3 + (3 + len(second.Certificate[0]) + 2) + 2*(3+32+2+4)},
		{VersionTLS12, 3 + (3 + len(second.Certificate[0])) + 2*(3+33)},
	} {
		t.Run(tls.VersionName(tc.vers), func(t *testing.T) {
			var trace traced
			client := &Config{RootCAs: root.pool, ServerName: "server.test", CachedCertificates: true, MaxVersion: tc.vers,
				DisableCertificateCompression: true, HandshakeTrace: trace.hook}
			serverFor := func(cert Certificate, cached bool) *Config {
				return &Config{Certificates: []Certificate{cert}, CachedCertificates: cached, SessionTicketsDisabled: true,
					DisableCertificateCompression: true}
			}
			connect := func(t *testing.T, server *Config, want Certificate) int64 {
				t.Helper()
				return connectCounted(t, client, server, func(st ConnectionState) {
					if st.Version != tc.vers || len(st.PeerCertificates) != 3 || len(st.VerifiedChains) == 0 {
						t.Errorf("version %#x, %d server certificates, %d verified chains", st.Version, len(st.PeerCertificates), len(st.VerifiedChains))
						return
					}
					for i, c := range st.PeerCertificates {
						if !bytes.Equal(c.Raw, want.Certificate[i]) {
							t.Errorf("server certificate %d is not the one the server holds", i)
						}
					}
				})
			}
			full := connect(t, serverFor(first, true), first)
			trace.take()
			renewed := connect(t, serverFor(second, true), second)
			lines := trace.take()
			t.Logf("server flight: %d bytes with (leaf1, inter, root) in full, %d with leaf2 in full and two digests (%d saved)",
				full, renewed, full-renewed)
			t.Logf("client's trace of the renewed-leaf handshake: %v", lines)
			if !has(lines, "<", 11, tc.partial) {
				t.Fatalf("no Certificate of %d bytes (leaf2 of %d bytes and two digests) in the trace %v", tc.partial, len(second.Certificate[0]), lines)
			}
			saved := len(first.Certificate[1]) + len(first.Certificate[2]) - 2*64 // leaves differ by a few bytes
			if full-renewed < int64(saved) {
				t.Fatalf("the renewed leaf saved only %d bytes (%d vs %d), want at least %d", full-renewed, full, renewed, saved)
			}
			// The restored chain was stored: now the whole message's
			// digest stands in (type 1, a 33-byte body).
			whole := connect(t, serverFor(second, true), second)
			if lines := trace.take(); !has(lines, "<", 11, 1+32) {
				t.Fatalf("the third connection's trace %v has no whole-message digest", lines)
			}
			t.Logf("then with the whole-message digest: %d bytes", whole)
			// A server without CachedCertificates sends its chain in full
			// (in TLS 1.2 it still answers RFC 7924's type 1, not 224).
			third := chain()
			if n := connect(t, serverFor(third, false), third); n < full-64 {
				t.Fatalf("a server without CachedCertificates sent %d bytes, full is %d", n, full)
			}
			againstStd(t, client, &tls.Config{Certificates: []tls.Certificate{toStd(chain())}, MaxVersion: tc.vers},
				&tls.Config{RootCAs: root.pool, ServerName: "server.test", MaxVersion: tc.vers}, serverFor(second, true))
		})
	}
}

// The message with digests may still be compressed (RFC 8879): the
// client inflates it, then restores the certificates.
func TestCachedCertificatesRenewedLeafCompressed(t *testing.T) {
	root, chain := serverChains(t, "Holdfast Compressed Renewed-Leaf")
	var inflated atomic.Int64 // uncompressed_length of the last CompressedCertificate received
	client := &Config{RootCAs: root.pool, ServerName: "server.test", CachedCertificates: true, HandshakeTrace: func(sent bool, msg []byte) {
		if !sent && msg[0] == 25 && len(msg) >= 9 {
			inflated.Store(int64(msg[6])<<16 | int64(msg[7])<<8 | int64(msg[8]))
		}
	}}
	second := chain()
	for i, cert := range []Certificate{chain(), second} {
		connectCounted(t, client, &Config{Certificates: []Certificate{cert}, CachedCertificates: true, SessionTicketsDisabled: true},
			func(st ConnectionState) {
				if len(st.VerifiedChains) == 0 || !bytes.Equal(st.PeerCertificates[0].Raw, cert.Certificate[0]) {
					t.Errorf("connection %d: not the server's verified chain", i)
				}
			})
	}
	// The inflated body: context, list, leaf2 in full, two marked digests.
	if want := 1 + 3 + (3 + len(second.Certificate[0]) + 2) + 2*(3+32+2+4); inflated.Load() != int64(want) {
		t.Fatalf("the second CompressedCertificate inflates to %d bytes, want %d (leaf2 and two digests)", inflated.Load(), want)
	}
}

// serverChains returns a new root and a maker of (leaf, intermediate,
// root) chains for server.test under it, each leaf with a new key: the
// chains of a server that renews its leaf.
func serverChains(t testing.TB, name string) (*testPKI, func() Certificate) {
	root := newNamedPKI(t, name+" Root")
	inter := root.intermediate(t, name+" Intermediate")
	return root, func() Certificate {
		c := inter.leaf(t, ecKey(t, elliptic.P256()), "server.test")
		c.Certificate = append(c.Certificate, inter.caCert.Raw, root.caCert.Raw)
		return c
	}
}

// connectCounted runs one connection from client to server that echoes a
// message, calls check with the client's state, and returns the bytes
// the client read.
func connectCounted(t *testing.T, client, server *Config, check func(ConnectionState)) int64 {
	t.Helper()
	var n atomic.Int64
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := Client(countingConn{c, &n}, client)
		defer cl.Close()
		if err := sendAndCheck(cl, []byte("cached?")); err != nil {
			return err
		}
		check(cl.ConnectionState())
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

// againstStd checks that a Holdfast client completes with a crypto/tls
// server, and a crypto/tls client with a Holdfast server.
func againstStd(t *testing.T, client *Config, stdServer, stdClient *tls.Config, server *Config) {
	t.Helper()
	cerr, serr := pair(t, func(c net.Conn) error {
		cl := Client(c, client)
		defer cl.Close()
		return sendAndCheck(cl, []byte("to crypto/tls"))
	}, func(c net.Conn) error {
		sv := tls.Server(c, stdServer)
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("against a crypto/tls server: client %v, server %v", cerr, serr)
	}
	cerr, serr = pair(t, func(c net.Conn) error {
		cl := tls.Client(c, stdClient)
		defer cl.Close()
		return sendAndCheck(cl, []byte("from crypto/tls"))
	}, func(c net.Conn) error {
		sv := Server(c, server)
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("a crypto/tls client: client %v, server %v", cerr, serr)
	}
}

package holdfast

// Interop with GnuTLS's command-line tools (gnutls-cli and gnutls-serv)
// on loopback, Holdfast on either side. Helpers are in
// interop_helpers_test.go.

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// gnutlsTLS13 restricts GnuTLS to TLS 1.3 in a priority string.
const gnutlsTLS13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3"

// gnutlsPeer runs gnutls-serv and gnutls-cli for one test.
type gnutlsPeer struct {
	cli, serv string
	version   string // `gnutls-cli --version`, first line
	mlkem     bool   // the build has an ML-KEM hybrid group
	fx        *interopFixture
}

func newGnuTLSPeer(t *testing.T) *gnutlsPeer {
	t.Helper()
	g := &gnutlsPeer{cli: interopTool(t, "gnutls-cli", "gnutls-bin"), serv: interopTool(t, "gnutls-serv", "gnutls-bin")}
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, g.cli, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("gnutls-cli --version: %v\n%s", err, out)
	}
	g.version, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	out, err = exec.CommandContext(ctx, g.cli, "--list").CombinedOutput()
	if err != nil {
		t.Fatalf("gnutls-cli --list: %v\n%s", err, out)
	}
	g.mlkem = strings.Contains(string(out), "GROUP-X25519-MLKEM768")
	g.fx = newInteropFixture(t)
	return g
}

// skipUnsupported skips a case whose group this GnuTLS lacks, saying so.
func (g *gnutlsPeer) skipUnsupported(t *testing.T, grp interopGroup) {
	t.Helper()
	if grp.hybrid && !g.mlkem {
		t.Skipf("%s has no ML-KEM (GROUP-X25519-MLKEM768 is not in gnutls-cli --list): %v not tested against GnuTLS", g.version, grp.id)
	}
}

// gnutlsPriority is a TLS 1.3-only priority string limited to one suite
// and the groups given, in order; a zero suite or no groups keeps NORMAL's.
func gnutlsPriority(suite interopSuite, groups ...interopGroup) string {
	p := gnutlsTLS13
	if suite.gnutls != "" {
		p += ":-CIPHER-ALL:+" + suite.gnutls
	}
	if len(groups) > 0 {
		p += ":-GROUP-ALL"
		for _, grp := range groups {
			p += ":+" + grp.gnutls
		}
	}
	return p
}

// server starts gnutls-serv --echo on a free port and returns it with its
// address once it listens. gnutls-serv cannot be told to pick a port, so
// a port taken in the meantime is retried.
func (g *gnutlsPeer) server(t *testing.T, key *interopKey, priority string, args ...string) (*peerProc, string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		p := startPeer(t, g.serv, append([]string{"--echo", "-p", port, "--x509certfile", key.certFile, "--x509keyfile", key.keyFile,
			"--priority", priority}, args...)...)
		ready := "listening on IPv4 0.0.0.0 port " + port + "...done"
		p.waitFor(t, fmt.Sprintf("%q on stderr", ready), func(_, stderr string) bool {
			return strings.Contains(stderr, ready) || p.hasExited()
		})
		if strings.Contains(p.stderr.String(), ready) {
			return p, "127.0.0.1:" + port
		}
		if attempt == 3 {
			t.Fatalf("%s exited (%v) before listening, three times", p.cmdline(), p.waitErr)
		}
		t.Logf("%s exited (%v) before listening; trying another port", p.cmdline(), p.waitErr)
	}
}

// client starts gnutls-cli against addr, verifying server.test against
// caFile.
func (g *gnutlsPeer) client(t *testing.T, addr, caFile, priority string, args ...string) *peerProc {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	full := append([]string{"-p", port, "--x509cafile", caFile, "--verify-hostname", "server.test", "--sni-hostname", "server.test",
		"--priority", priority}, args...)
	return startPeer(t, g.cli, append(full, host)...)
}

func (g *gnutlsPeer) clientConfig() *Config {
	return &Config{RootCAs: g.fx.pki.pool, ServerName: "server.test"}
}

func (g *gnutlsPeer) serverConfig() *Config {
	return &Config{Certificates: []Certificate{g.fx.keys[0].cert}}
}

// pingEcho sends a line to gnutls-serv --echo and checks the echo.
func pingEcho(t *testing.T, c *Conn, line string) {
	t.Helper()
	l := newInteropLines(c)
	l.send(t, line)
	l.expect(t, line)
}

// pingGnuTLSClient has gnutls-cli send a line to the Holdfast server,
// which answers; then gnutls-cli's stdin is closed, it sends
// close_notify, and Holdfast's close_notify ends it.
func pingGnuTLSClient(t *testing.T, c *Conn, p *peerProc, line string) {
	t.Helper()
	p.waitStdout(t, "- Handshake was completed")
	l := newInteropLines(c)
	p.send(t, line)
	l.expect(t, line)
	l.send(t, "holdfast echoes: "+line)
	p.waitStdout(t, "holdfast echoes: "+line)
	p.closeStdin(t)
	l.expectEOF(t)
	if err := c.Close(); err != nil {
		t.Errorf("Holdfast Close: %v", err)
	}
	if err := p.waitExit(t); err != nil {
		t.Errorf("%s ended with %v after closing its stdin", p.cmdline(), err)
	}
}

// gnutlsKeyUpdates counts the KeyUpdates a GnuTLS tool running with -d 4
// has sent and received.
func gnutlsKeyUpdates(p *peerProc) (sent, received int) {
	stderr := p.stderr.String()
	return strings.Count(stderr, "KEY_UPDATE was queued"), strings.Count(stderr, "KEY_UPDATE (24) was received")
}

// waitKeyUpdates waits until GnuTLS has sent and received at least the
// KeyUpdates given.
func waitKeyUpdates(t *testing.T, p *peerProc, sent, received int) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("%d KeyUpdates sent and %d received in its debug log", sent, received), func(_, _ string) bool {
		s, r := gnutlsKeyUpdates(p)
		return s >= sent && r >= received
	})
}

func checkKeyUpdates(t *testing.T, p *peerProc, sent, received int) {
	t.Helper()
	if s, r := gnutlsKeyUpdates(p); s != sent || r != received {
		t.Errorf("GnuTLS sent %d and received %d KeyUpdates, want %d and %d", s, r, sent, received)
	}
}

func TestInteropGnuTLS(t *testing.T) {
	start := time.Now()
	g := newGnuTLSPeer(t)
	fx := g.fx
	t.Logf("peer: %s", g.version)

	// 1. Every suite × group (P-256 key), and every key type.
	t.Run("holdfast-client", func(t *testing.T) {
		for _, tc := range fx.matrix() {
			t.Run(tc.name, func(t *testing.T) {
				g.skipUnsupported(t, tc.group)
				p, addr := g.server(t, tc.key, gnutlsPriority(tc.suite, tc.group), "--disable-client-cert")
				cfg := g.clientConfig()
				cfg.CipherSuites = []uint16{tc.suite.id}
				cfg.CurvePreferences = []CurveID{tc.group.id}
				c, err := interopDial(t, addr, cfg)
				if err != nil {
					t.Fatalf("Holdfast client handshake: %v", err)
				}
				st := checkNegotiated(t, c, tc.suite.id, tc.group.id)
				if got := st.PeerCertificates[0].PublicKeyAlgorithm; got != tc.key.alg {
					t.Errorf("server certificate key %v, want %v", got, tc.key.alg)
				}
				pingEcho(t, c, "holdfast client to gnutls-serv over "+tc.name)
				c.Close()
				p.stop() // gnutls-serv flushes its stdout on SIGTERM
				p.requireOutput(t, "- Cipher: "+tc.suite.gnutls, "- Server Signature: "+tc.key.gnutlsSig)
			})
		}
	})
	t.Run("holdfast-server", func(t *testing.T) {
		for _, tc := range fx.matrix() {
			t.Run(tc.name, func(t *testing.T) {
				g.skipUnsupported(t, tc.group)
				ln := interopListen(t)
				p := g.client(t, ln.Addr().String(), fx.caFile, gnutlsPriority(tc.suite, tc.group))
				c, err := interopAccept(t, ln, &Config{Certificates: []Certificate{tc.key.cert},
					CipherSuites: []uint16{tc.suite.id}, CurvePreferences: []CurveID{tc.group.id}}, p)
				if err != nil {
					t.Fatalf("Holdfast server handshake: %v", err)
				}
				checkNegotiated(t, c, tc.suite.id, tc.group.id)
				pingGnuTLSClient(t, c, p, "ping from gnutls-cli over "+tc.name)
				p.requireOutput(t, "- Status: The certificate is trusted.",
					fmt.Sprintf("-(%s)-(%s)", tc.key.gnutlsSig, tc.suite.gnutls))
				if !tc.group.hybrid {
					p.requireOutput(t, "(ECDHE-"+strings.TrimPrefix(tc.group.gnutls, "GROUP-")+")")
				}
			})
		}
	})

	// 2. HelloRetryRequest: an X25519 share where only P-384 is accepted.
	x25519, p256, p384 := interopGroups[0], interopGroups[1], interopGroups[2]
	t.Run("hello-retry/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		// GnuTLS sends a share for the first group of each kind (X25519,
		// NIST curve): with P-256 listed before P-384 it offers X25519
		// and P-256 shares, neither of which the server accepts.
		p := g.client(t, ln.Addr().String(), fx.caFile, gnutlsPriority(interopSuite{}, x25519, p256, p384))
		cfg := g.serverConfig()
		cfg.CurvePreferences = []CurveID{CurveP384}
		c, err := interopAccept(t, ln, cfg, p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		if st := c.ConnectionState(); !st.DidHelloRetry || st.CurveID != CurveP384 {
			t.Fatalf("DidHelloRetry %v, group %v; want a HelloRetryRequest to P-384", st.DidHelloRetry, st.CurveID)
		}
		pingGnuTLSClient(t, c, p, "ping after a HelloRetryRequest")
	})
	t.Run("hello-retry/holdfast-client", func(t *testing.T) {
		_, addr := g.server(t, fx.keys[0], gnutlsPriority(interopSuite{}, p384), "--disable-client-cert")
		cfg := g.clientConfig()
		cfg.CurvePreferences = []CurveID{X25519, CurveP384} // one share: X25519
		c, err := interopDial(t, addr, cfg)
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		if st := c.ConnectionState(); !st.DidHelloRetry || st.CurveID != CurveP384 {
			t.Fatalf("DidHelloRetry %v, group %v; want a HelloRetryRequest to P-384", st.DidHelloRetry, st.CurveID)
		}
		pingEcho(t, c, "holdfast client after a HelloRetryRequest")
	})

	// 3. KeyUpdate both ways under traffic: gnutls-cli's ^rekey1^ (update
	// its own keys) and ^rekey^ (and request the peer's), Holdfast's
	// KeyUpdate(false) and KeyUpdate(true). GnuTLS's debug log (-d 4)
	// records every KeyUpdate it queues and receives.
	t.Run("key-update/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		p := g.client(t, ln.Addr().String(), fx.caFile, gnutlsTLS13, "--inline-commands", "-d", "4")
		c, err := interopAccept(t, ln, g.serverConfig(), p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		p.waitStdout(t, "- Handshake was completed")
		l := newInteropLines(c)
		toPeer := func(line string) { l.send(t, line); p.waitStdout(t, line+"\n") }
		fromPeer := func(line string) { p.send(t, line); l.expect(t, line) }

		fromPeer("ping 1")
		toPeer("pong 1")
		p.send(t, "^rekey1^")
		waitKeyUpdates(t, p, 1, 0)
		fromPeer("ping 2")
		toPeer("pong 2")
		p.send(t, "^rekey^")
		waitKeyUpdates(t, p, 2, 0)
		fromPeer("ping 3") // Holdfast answers the request with its own KeyUpdate
		toPeer("pong 3")
		waitKeyUpdates(t, p, 2, 1)
		if err := c.KeyUpdate(false); err != nil {
			t.Fatalf("KeyUpdate(false): %v", err)
		}
		toPeer("pong 4")
		waitKeyUpdates(t, p, 2, 2)
		fromPeer("ping 4")
		if err := c.KeyUpdate(true); err != nil {
			t.Fatalf("KeyUpdate(true): %v", err)
		}
		toPeer("pong 5")
		waitKeyUpdates(t, p, 2, 3)
		fromPeer("ping 5") // preceded by GnuTLS's answering KeyUpdate
		waitKeyUpdates(t, p, 3, 3)
		toPeer("pong 6")
		p.closeStdin(t)
		l.expectEOF(t)
		c.Close()
		if err := p.waitExit(t); err != nil {
			t.Errorf("%s ended with %v", p.cmdline(), err)
		}
		checkKeyUpdates(t, p, 3, 3)
	})
	t.Run("key-update/holdfast-client", func(t *testing.T) {
		p, addr := g.server(t, fx.keys[0], gnutlsTLS13, "--disable-client-cert", "-d", "4")
		c, err := interopDial(t, addr, g.clientConfig())
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		l := newInteropLines(c)
		l.send(t, "hello 1")
		l.expect(t, "hello 1")
		for i, requestPeer := range []bool{false, true, false, true} {
			if err := c.KeyUpdate(requestPeer); err != nil {
				t.Fatalf("KeyUpdate(%v): %v", requestPeer, err)
			}
			// A burst over several records, echoed under the new keys.
			line := fmt.Sprintf("hello %d after KeyUpdate(%v) %s", i+2, requestPeer, strings.Repeat("x", 3000))
			for range 8 {
				l.send(t, line)
			}
			for range 8 {
				l.expect(t, line)
			}
		}
		waitKeyUpdates(t, p, 2, 4)
		c.Close()
		checkKeyUpdates(t, p, 2, 4)
	})

	// 4. Mutual TLS, with RSA and ECDSA client certificates.
	for _, cc := range []struct {
		name string
		cert interopCert
	}{{"ECDSA", fx.clientEC}, {"RSA", fx.clientRSA}} {
		t.Run("mutual-tls/holdfast-client/"+cc.name, func(t *testing.T) {
			p, addr := g.server(t, fx.keys[0], gnutlsTLS13, "--require-client-cert", "--verify-client-cert", "--x509cafile", fx.caFile)
			cfg := g.clientConfig()
			cfg.Certificates = []Certificate{cc.cert.cert}
			c, err := interopDial(t, addr, cfg)
			if err != nil {
				t.Fatalf("Holdfast client handshake: %v", err)
			}
			pingEcho(t, c, "holdfast client with a certificate")
			c.Close()
			p.stop()
			p.requireOutput(t, "CN=client.test")
		})
		t.Run("mutual-tls/holdfast-server/"+cc.name, func(t *testing.T) {
			ln := interopListen(t)
			p := g.client(t, ln.Addr().String(), fx.caFile, gnutlsTLS13, "--x509certfile", cc.cert.certFile, "--x509keyfile", cc.cert.keyFile)
			cfg := g.serverConfig()
			cfg.ClientAuth = RequireAndVerifyClientCert
			cfg.ClientCAs = fx.pki.pool
			c, err := interopAccept(t, ln, cfg, p)
			if err != nil {
				t.Fatalf("Holdfast server handshake: %v", err)
			}
			st := c.ConnectionState()
			if len(st.VerifiedChains) == 0 || st.PeerCertificates[0].Subject.CommonName != "client.test" ||
				st.PeerCertificates[0].PublicKeyAlgorithm != cc.cert.cert.Leaf.PublicKeyAlgorithm {
				t.Fatalf("client certificate not verified: %d chains, peer %v", len(st.VerifiedChains), st.PeerCertificates)
			}
			pingGnuTLSClient(t, c, p, "ping with a client certificate")
		})
	}
	// gnutls-serv asks for a certificate by default without requiring
	// one: a Holdfast client with none answers with an empty Certificate.
	t.Run("mutual-tls/holdfast-client/requested-none-sent", func(t *testing.T) {
		_, addr := g.server(t, fx.keys[0], gnutlsTLS13)
		c, err := interopDial(t, addr, g.clientConfig())
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		pingEcho(t, c, "holdfast client without a certificate")
	})

	// 5. ALPN.
	t.Run("alpn/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		p := g.client(t, ln.Addr().String(), fx.caFile, gnutlsTLS13, "--alpn", "h2", "--alpn", "http/1.1")
		cfg := g.serverConfig()
		cfg.NextProtos = []string{"h2"}
		c, err := interopAccept(t, ln, cfg, p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
			t.Fatalf("NegotiatedProtocol %q, want h2", got)
		}
		pingGnuTLSClient(t, c, p, "ping over h2")
		p.requireOutput(t, "- Application protocol: h2")
	})
	t.Run("alpn/holdfast-client", func(t *testing.T) {
		_, addr := g.server(t, fx.keys[0], gnutlsTLS13, "--disable-client-cert", "--alpn", "h2")
		cfg := g.clientConfig()
		cfg.NextProtos = []string{"h2", "http/1.1"}
		c, err := interopDial(t, addr, cfg)
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
			t.Fatalf("NegotiatedProtocol %q, want h2", got)
		}
		pingEcho(t, c, "holdfast client over h2")
	})

	// 6. A server certificate from a CA the client does not trust.
	t.Run("wrong-ca/holdfast-client", func(t *testing.T) {
		// Only the record layer's debug log (-d 5) names a received alert.
		p, addr := g.server(t, fx.keys[0], gnutlsTLS13, "--disable-client-cert", "-d", "5")
		cfg := g.clientConfig()
		cfg.RootCAs = fx.otherPool
		_, err := interopDial(t, addr, cfg)
		expectAlert(t, err, AlertUnknownCA, true)
		p.waitStderr(t, "Alert[2|48]")
	})
	t.Run("wrong-ca/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		p := g.client(t, ln.Addr().String(), fx.otherCAFile, gnutlsTLS13)
		_, err := interopAccept(t, ln, g.serverConfig(), p)
		// GnuTLS answers every certificate verification failure,
		// unknown issuer included, with bad_certificate.
		expectAlert(t, err, AlertBadCertificate, false)
		if err := p.waitExit(t); err == nil {
			t.Errorf("%s succeeded against an untrusted server certificate", p.cmdline())
		}
		p.requireOutput(t, "The certificate is NOT trusted", "Error in the certificate")
	})
	t.Logf("GnuTLS interop took %v", time.Since(start).Round(time.Millisecond))
}

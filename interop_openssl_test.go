package holdfast

// Interop with the openssl command-line tool (s_client and s_server) on
// loopback, Holdfast on either side. Helpers are in interop_helpers_test.go.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// opensslPeer runs openssl s_server and s_client for one test.
type opensslPeer struct {
	bin     string
	version string // `openssl version`
	mlkem   bool   // the build has ML-KEM (OpenSSL 3.5 and later)
	fx      *interopFixture
}

func newOpenSSLPeer(t *testing.T) *opensslPeer {
	t.Helper()
	o := &opensslPeer{bin: interopTool(t, "openssl", "openssl")}
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, o.bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl version: %v\n%s", err, out)
	}
	o.version, _, _ = strings.Cut(strings.TrimSpace(string(out)), " (") // drop "(Library: …)"
	out, err = exec.CommandContext(ctx, o.bin, "list", "-kem-algorithms").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl list -kem-algorithms: %v\n%s", err, out)
	}
	o.mlkem = strings.Contains(string(out), "MLKEM") || strings.Contains(string(out), "ML-KEM")
	o.fx = newInteropFixture(t)
	return o
}

// skipUnsupported skips a case whose group this openssl lacks, saying so.
func (o *opensslPeer) skipUnsupported(t *testing.T, g interopGroup) {
	t.Helper()
	if g.hybrid && !o.mlkem {
		t.Skipf("%s has no ML-KEM (OpenSSL 3.5 added it): %v not tested against OpenSSL", o.version, g.id)
	}
}

var opensslAcceptRE = regexp.MustCompile(`ACCEPT (127\.0\.0\.1:\d+)`)

// server starts s_server for a single TLS 1.3 connection and returns it
// with the address it listens on.
func (o *opensslPeer) server(t *testing.T, args ...string) (*peerProc, string) {
	t.Helper()
	p := startPeer(t, o.bin, append([]string{"s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_3"}, args...)...)
	var addr string
	p.waitFor(t, "its ACCEPT line", func(stdout, _ string) bool {
		if m := opensslAcceptRE.FindStringSubmatch(stdout); m != nil {
			addr = m[1]
			return true
		}
		return false
	})
	return p, addr
}

// client starts s_client against addr, verifying server.test against
// caFile and failing on a verification error.
func (o *opensslPeer) client(t *testing.T, addr, caFile string, args ...string) *peerProc {
	t.Helper()
	return startPeer(t, o.bin, append([]string{"s_client", "-connect", addr, "-tls1_3",
		"-CAfile", caFile, "-servername", "server.test", "-verify_hostname", "server.test", "-verify_return_error"}, args...)...)
}

// clientConfig is a Holdfast client trusting the test CA.
func (o *opensslPeer) clientConfig() *Config {
	return &Config{RootCAs: o.fx.pki.pool, ServerName: "server.test"}
}

// serverConfig is a Holdfast server with the ECDSA P-256 leaf.
func (o *opensslPeer) serverConfig() *Config {
	return &Config{Certificates: []Certificate{o.fx.keys[0].cert}}
}

// pingRev sends a line to s_server -rev and checks the reversed echo.
func pingRev(t *testing.T, c *Conn, line string) {
	t.Helper()
	l := newInteropLines(c)
	l.send(t, line)
	l.expect(t, reverse(line))
}

// finishRev closes a Holdfast client of s_server -naccept 1 and checks
// that the server ends cleanly.
func finishRev(t *testing.T, c *Conn, p *peerProc) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("Holdfast Close: %v", err)
	}
	if err := p.waitExit(t); err != nil {
		t.Errorf("%s ended with %v after Holdfast's close_notify", p.cmdline(), err)
	}
}

// pingClient has s_client send a line to the Holdfast server, which
// answers; then s_client's stdin is closed and the server reads its
// close_notify.
func pingClient(t *testing.T, c *Conn, p *peerProc, line string) {
	t.Helper()
	p.waitStdout(t, "Verify return code: 0 (ok)")
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

func TestInteropOpenSSL(t *testing.T) {
	start := time.Now()
	o := newOpenSSLPeer(t)
	fx := o.fx
	t.Logf("peer: %s", o.version)

	// 1. Every suite × group (P-256 key), and every key type.
	t.Run("holdfast-client", func(t *testing.T) {
		for _, tc := range fx.matrix() {
			t.Run(tc.name, func(t *testing.T) {
				o.skipUnsupported(t, tc.group)
				p, addr := o.server(t, "-cert", tc.key.certFile, "-key", tc.key.keyFile,
					"-ciphersuites", tc.suite.openssl, "-groups", tc.group.openssl, "-rev")
				cfg := o.clientConfig()
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
				pingRev(t, c, "holdfast client to openssl s_server over "+tc.name)
				finishRev(t, c, p)
			})
		}
	})
	t.Run("holdfast-server", func(t *testing.T) {
		for _, tc := range fx.matrix() {
			t.Run(tc.name, func(t *testing.T) {
				o.skipUnsupported(t, tc.group)
				ln := interopListen(t)
				p := o.client(t, ln.Addr().String(), fx.caFile, "-ciphersuites", tc.suite.openssl, "-groups", tc.group.openssl)
				c, err := interopAccept(t, ln, &Config{Certificates: []Certificate{tc.key.cert},
					CipherSuites: []uint16{tc.suite.id}, CurvePreferences: []CurveID{tc.group.id}}, p)
				if err != nil {
					t.Fatalf("Holdfast server handshake: %v", err)
				}
				checkNegotiated(t, c, tc.suite.id, tc.group.id)
				pingClient(t, c, p, "ping from openssl s_client over "+tc.name)
				p.requireOutput(t, "Verification: OK", "Cipher is "+tc.suite.openssl, "Peer signature type: "+tc.key.opensslType)
				if tc.key.opensslHash != "" {
					p.requireOutput(t, "Peer signing digest: "+tc.key.opensslHash)
				}
			})
		}
	})

	// 2. HelloRetryRequest: an X25519 share where only P-384 is accepted.
	t.Run("hello-retry/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		p := o.client(t, ln.Addr().String(), fx.caFile, "-groups", "X25519:P-384")
		cfg := o.serverConfig()
		cfg.CurvePreferences = []CurveID{CurveP384}
		c, err := interopAccept(t, ln, cfg, p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		if st := c.ConnectionState(); !st.DidHelloRetry || st.CurveID != CurveP384 {
			t.Fatalf("DidHelloRetry %v, group %v; want a HelloRetryRequest to P-384", st.DidHelloRetry, st.CurveID)
		}
		pingClient(t, c, p, "ping after a HelloRetryRequest")
	})
	t.Run("hello-retry/holdfast-client", func(t *testing.T) {
		k := fx.keys[0]
		p, addr := o.server(t, "-cert", k.certFile, "-key", k.keyFile, "-groups", "P-384", "-rev")
		cfg := o.clientConfig()
		cfg.CurvePreferences = []CurveID{X25519, CurveP384} // one share: X25519
		c, err := interopDial(t, addr, cfg)
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		if st := c.ConnectionState(); !st.DidHelloRetry || st.CurveID != CurveP384 {
			t.Fatalf("DidHelloRetry %v, group %v; want a HelloRetryRequest to P-384", st.DidHelloRetry, st.CurveID)
		}
		pingRev(t, c, "holdfast client after a HelloRetryRequest")
		finishRev(t, c, p)
	})

	// 3. KeyUpdate both ways under traffic: openssl's k and K commands,
	// Holdfast's KeyUpdate(false) and KeyUpdate(true). openssl -msg
	// records every KeyUpdate it sends (>>>) and receives (<<<).
	t.Run("key-update/holdfast-client", func(t *testing.T) {
		k := fx.keys[0]
		msgs := opensslMsgLog(filepath.Join(t.TempDir(), "msg.txt"))
		p, addr := o.server(t, "-cert", k.certFile, "-key", k.keyFile, "-msg", "-msgfile", string(msgs))
		c, err := interopDial(t, addr, o.clientConfig())
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		l := newInteropLines(c)
		toPeer := func(line string) { l.send(t, line); p.waitStdout(t, line+"\n") }
		fromPeer := func(line string) { p.send(t, line); l.expect(t, line) }

		toPeer("hello 1")
		fromPeer("reply 1")
		p.send(t, "k") // s_server sends KeyUpdate at once
		msgs.wait(t, p, ">>>", 1)
		fromPeer("reply 2")
		toPeer("hello 2")
		p.send(t, "K")
		msgs.wait(t, p, ">>>", 2)
		fromPeer("reply 3") // Holdfast answers the request with its own KeyUpdate
		toPeer("hello 3")
		msgs.wait(t, p, "<<<", 1)
		if err := c.KeyUpdate(false); err != nil {
			t.Fatalf("KeyUpdate(false): %v", err)
		}
		toPeer("hello 4")
		msgs.wait(t, p, "<<<", 2)
		fromPeer("reply 4")
		if err := c.KeyUpdate(true); err != nil {
			t.Fatalf("KeyUpdate(true): %v", err)
		}
		toPeer("hello 5")
		msgs.wait(t, p, "<<<", 3)
		fromPeer("reply 5") // preceded by openssl's answering KeyUpdate
		msgs.wait(t, p, ">>>", 3)
		toPeer("hello 6")
		fromPeer("reply 6")
		c.Close()
		if err := p.waitExit(t); err != nil {
			t.Errorf("%s ended with %v", p.cmdline(), err)
		}
		msgs.check(t, 3, 3)
	})
	t.Run("key-update/holdfast-server", func(t *testing.T) {
		msgs := opensslMsgLog(filepath.Join(t.TempDir(), "msg.txt"))
		ln := interopListen(t)
		p := o.client(t, ln.Addr().String(), fx.caFile, "-msg", "-msgfile", string(msgs))
		c, err := interopAccept(t, ln, o.serverConfig(), p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		p.waitStdout(t, "Verify return code: 0 (ok)")
		l := newInteropLines(c)
		toPeer := func(line string) { l.send(t, line); p.waitStdout(t, line+"\n") }
		fromPeer := func(line string) { p.send(t, line); l.expect(t, line) }
		// s_client's k and K only schedule the KeyUpdate: it goes out
		// ahead of the next line it sends.
		keyUpdates := func(n int) {
			p.waitFor(t, fmt.Sprintf("KEYUPDATE #%d on stderr", n), func(_, stderr string) bool { return strings.Count(stderr, "KEYUPDATE") >= n })
		}

		fromPeer("ping 1")
		toPeer("pong 1")
		p.send(t, "k")
		keyUpdates(1)
		fromPeer("ping 2")
		msgs.wait(t, p, ">>>", 1)
		toPeer("pong 2")
		p.send(t, "K")
		keyUpdates(2)
		fromPeer("ping 3") // Holdfast answers the request with its own KeyUpdate
		toPeer("pong 3")
		msgs.wait(t, p, "<<<", 1)
		if err := c.KeyUpdate(false); err != nil {
			t.Fatalf("KeyUpdate(false): %v", err)
		}
		toPeer("pong 4")
		msgs.wait(t, p, "<<<", 2)
		fromPeer("ping 4")
		if err := c.KeyUpdate(true); err != nil {
			t.Fatalf("KeyUpdate(true): %v", err)
		}
		toPeer("pong 5")
		msgs.wait(t, p, "<<<", 3)
		fromPeer("ping 5") // preceded by openssl's answering KeyUpdate
		msgs.wait(t, p, ">>>", 3)
		toPeer("pong 6")
		p.closeStdin(t)
		l.expectEOF(t)
		c.Close()
		if err := p.waitExit(t); err != nil {
			t.Errorf("%s ended with %v", p.cmdline(), err)
		}
		msgs.check(t, 3, 3)
	})

	// 4. Mutual TLS, with RSA and ECDSA client certificates.
	for _, cc := range []struct {
		name string
		cert interopCert
	}{{"ECDSA", fx.clientEC}, {"RSA", fx.clientRSA}} {
		t.Run("mutual-tls/holdfast-client/"+cc.name, func(t *testing.T) {
			k := fx.keys[0]
			p, addr := o.server(t, "-cert", k.certFile, "-key", k.keyFile, "-Verify", "1", "-CAfile", fx.caFile, "-verify_return_error", "-rev")
			cfg := o.clientConfig()
			cfg.Certificates = []Certificate{cc.cert.cert}
			c, err := interopDial(t, addr, cfg)
			if err != nil {
				t.Fatalf("Holdfast client handshake: %v", err)
			}
			pingRev(t, c, "holdfast client with a certificate")
			finishRev(t, c, p)
			p.requireOutput(t, "CN = client.test")
		})
		t.Run("mutual-tls/holdfast-server/"+cc.name, func(t *testing.T) {
			ln := interopListen(t)
			p := o.client(t, ln.Addr().String(), fx.caFile, "-cert", cc.cert.certFile, "-key", cc.cert.keyFile)
			cfg := o.serverConfig()
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
			pingClient(t, c, p, "ping with a client certificate")
		})
	}
	t.Run("mutual-tls/holdfast-server/no-client-cert", func(t *testing.T) {
		ln := interopListen(t)
		p := o.client(t, ln.Addr().String(), fx.caFile)
		cfg := o.serverConfig()
		cfg.ClientAuth = RequireAndVerifyClientCert
		cfg.ClientCAs = fx.pki.pool
		_, err := interopAccept(t, ln, cfg, p)
		expectAlert(t, err, AlertCertificateRequired, true)
		p.waitFor(t, "the certificate_required alert (116)", func(_, stderr string) bool {
			return strings.Contains(stderr, "alert number 116")
		})
	})

	// 5. ALPN.
	t.Run("alpn/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		p := o.client(t, ln.Addr().String(), fx.caFile, "-alpn", "h2,http/1.1")
		cfg := o.serverConfig()
		cfg.NextProtos = []string{"h2"}
		c, err := interopAccept(t, ln, cfg, p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
			t.Fatalf("NegotiatedProtocol %q, want h2", got)
		}
		pingClient(t, c, p, "ping over h2")
		p.requireOutput(t, "ALPN protocol: h2")
	})
	t.Run("alpn/holdfast-client", func(t *testing.T) {
		k := fx.keys[0]
		p, addr := o.server(t, "-cert", k.certFile, "-key", k.keyFile, "-alpn", "h2", "-rev")
		cfg := o.clientConfig()
		cfg.NextProtos = []string{"h2", "http/1.1"}
		c, err := interopDial(t, addr, cfg)
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
			t.Fatalf("NegotiatedProtocol %q, want h2", got)
		}
		pingRev(t, c, "holdfast client over h2")
		finishRev(t, c, p)
	})

	// 6. A server certificate from a CA the client does not trust.
	t.Run("wrong-ca/holdfast-client", func(t *testing.T) {
		k := fx.keys[0]
		p, addr := o.server(t, "-cert", k.certFile, "-key", k.keyFile, "-rev")
		cfg := o.clientConfig()
		cfg.RootCAs = fx.otherPool
		_, err := interopDial(t, addr, cfg)
		expectAlert(t, err, AlertUnknownCA, true)
		p.waitFor(t, "the unknown_ca alert (48)", func(_, stderr string) bool {
			return strings.Contains(stderr, "alert unknown ca") && strings.Contains(stderr, "alert number 48")
		})
	})
	t.Run("wrong-ca/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		p := o.client(t, ln.Addr().String(), fx.otherCAFile)
		_, err := interopAccept(t, ln, o.serverConfig(), p)
		// s_client rejects the certificate before it has sent anything
		// under its handshake keys, so its unknown_ca alert is an
		// unprotected record (15 03 03 00 02 02 30): alerts are protected
		// as the sender's current write state says (RFC 8446 §6). The
		// server, already reading under the client's handshake keys, must
		// still take it as the peer's alert, as OpenSSL's own server does
		// (ENC_READ_STATE_ALLOW_PLAIN_ALERTS), rather than answer
		// unexpected_message and lose the reason.
		expectAlert(t, err, AlertUnknownCA, false)
		if err := p.waitExit(t); err == nil {
			t.Errorf("%s succeeded against an untrusted server certificate", p.cmdline())
		}
		p.requireOutput(t, "unable to get local issuer certificate")
	})
	t.Logf("OpenSSL interop took %v", time.Since(start).Round(time.Millisecond))
}

// opensslMsgLog is the file that openssl -msgfile writes its -msg trace
// to; it flushes after every message.
type opensslMsgLog string

var keyUpdateMsgRE = regexp.MustCompile(`(?m)^(>>>|<<<) .*KeyUpdate`)

// count returns how many KeyUpdates openssl has sent (>>>) and received
// (<<<).
func (m opensslMsgLog) count() (sent, received int) {
	b, _ := os.ReadFile(string(m))
	for _, match := range keyUpdateMsgRE.FindAllStringSubmatch(string(b), -1) {
		if match[1] == ">>>" {
			sent++
		} else {
			received++
		}
	}
	return sent, received
}

// wait waits until openssl has sent (dir ">>>") or received ("<<<") at
// least n KeyUpdates.
func (m opensslMsgLog) wait(t *testing.T, p *peerProc, dir string, n int) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("KeyUpdate #%d %s in %s", n, dir, m), func(_, _ string) bool {
		sent, received := m.count()
		if dir == ">>>" {
			return sent >= n
		}
		return received >= n
	})
}

// check fails the test unless openssl sent and received exactly the
// KeyUpdates expected.
func (m opensslMsgLog) check(t *testing.T, sent, received int) {
	t.Helper()
	if s, r := m.count(); s != sent || r != received {
		b, _ := os.ReadFile(string(m))
		t.Errorf("openssl sent %d and received %d KeyUpdates, want %d and %d; -msg trace:\n%s", s, r, sent, received, b)
	}
}

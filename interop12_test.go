package holdfast

// TLS 1.2 interop with the openssl command-line tool (s_client, s_server)
// and GnuTLS (gnutls-cli, gnutls-serv) on loopback, Holdfast on either
// side: every TLS 1.2 suite Holdfast implements, the seed's flow (RSA key
// transport, AES-128-CBC, a client certificate), the extensions Holdfast
// insists on (extended_master_secret, renegotiation_info), refused
// renegotiation, and the downgrade sentinel as a TLS 1.2-only peer sees
// it. The peer processes, PKI fixture and line I/O are the TLS 1.3
// interop tests' (interop_helpers_test.go, interop_openssl_test.go,
// interop_gnutls_test.go).

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TLS 1.2 against gnutls-cli and gnutls-serv.
func TestInterop12GnuTLS(t *testing.T) {
	start := time.Now()
	g := newGnuTLSPeer(t)
	fx := newInterop12Fixture(t, g.fx)
	t.Logf("peer: %s", g.version)

	// 1. Every TLS 1.2 suite, both directions, the peer limited to TLS 1.2
	// and the suite by its priority string.
	t.Run("holdfast-client", func(t *testing.T) {
		for _, s := range interop12Suites {
			t.Run(s.name, func(t *testing.T) {
				s.gate(t)
				k := fx.key(s)
				p, addr := g.server(t, k, s.gnutlsPriority12(), "--disable-client-cert")
				cfg := g.clientConfig()
				cfg.CipherSuites = []uint16{s.id}
				c, err := interopDial(t, addr, cfg)
				if err != nil {
					t.Fatalf("Holdfast client handshake: %v", err)
				}
				checkVerifiedServer(t, checkNegotiated12(t, c, s), k)
				pingEcho(t, c, "holdfast client to gnutls-serv over "+s.name)
				bulkToServer(t, c, false)
				c.Close()
				p.stop() // gnutls-serv flushes its stdout on SIGTERM
				p.requireOutput(t, "- Version: TLS1.2", "- Cipher: "+s.gnutlsCipher, "- MAC: "+s.gnutlsMAC, "- Key Exchange: "+s.gnutlsKX)
				gnutlsOptions(t, p)
			})
		}
	})
	t.Run("holdfast-server", func(t *testing.T) {
		for _, s := range interop12Suites {
			t.Run(s.name, func(t *testing.T) {
				s.gate(t)
				ln := interopListen(t)
				p := g.client(t, ln.Addr().String(), fx.caFile, s.gnutlsPriority12())
				c, err := interopAccept(t, ln, &Config{Certificates: []Certificate{fx.key(s).cert}, CipherSuites: []uint16{s.id}}, p)
				if err != nil {
					t.Fatalf("Holdfast server handshake: %v", err)
				}
				checkNegotiated12(t, c, s)
				bulkFromClient(t, c, p, "- Handshake was completed")
				pingGnuTLSClient(t, c, p, "ping from gnutls-cli over "+s.name)
				p.requireOutput(t, "- Status: The certificate is trusted.", "- Description: (TLS1.2-X.509)-", "-("+s.gnutlsCipher+")")
				gnutlsOptions(t, p)
			})
		}
	})

	// 2. A peer without extended_master_secret (%NO_SESSION_HASH) is
	// refused with handshake_failure.
	t.Run("no-ems/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		p := g.client(t, ln.Addr().String(), fx.caFile, gnutlsTLS12+":%NO_SESSION_HASH")
		_, err := interopAccept(t, ln, g.serverConfig(), p)
		expectAlert(t, err, AlertHandshakeFailure, true)
		if !strings.Contains(err.Error(), "extended_master_secret") {
			t.Errorf("Holdfast error %q does not name extended_master_secret", err)
		}
		if err := p.waitExit(t); err == nil {
			t.Errorf("%s succeeded without extended_master_secret", p.cmdline())
		}
		p.requireOutput(t, "Received alert [40]")
	})
	t.Run("no-ems/holdfast-client", func(t *testing.T) {
		// Only the record layer's debug log (-d 5) names a received alert.
		p, addr := g.server(t, fx.ecdsa, gnutlsTLS12+":%NO_SESSION_HASH", "--disable-client-cert", "-d", "5")
		_, err := interopDial(t, addr, g.clientConfig())
		expectAlert(t, err, AlertHandshakeFailure, true)
		if !strings.Contains(err.Error(), "extended_master_secret") {
			t.Errorf("Holdfast error %q does not name extended_master_secret", err)
		}
		p.waitStderr(t, "Alert[2|40]")
	})

	// 3. Renegotiation refused: gnutls-cli's ^renegotiate^ sends a
	// ClientHello. gnutls-cli takes the no_renegotiation warning as a
	// non-fatal error and tries again, each time refused, until GnuTLS
	// gives up with a fatal alert of its own and "*** ReHandshake has
	// failed"; Holdfast refuses every attempt with one warning and reads
	// on until that alert.
	t.Run("renegotiation/holdfast-server", func(t *testing.T) {
		ln := interopListen(t)
		p := g.client(t, ln.Addr().String(), fx.caFile, gnutlsTLS12, "--inline-commands", "-d", "5")
		c, err := interopAccept(t, ln, g.serverConfig(), p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		p.waitStdout(t, "- Handshake was completed")
		l := newInteropLines(c)
		p.send(t, "before renegotiation")
		l.expect(t, "before renegotiation")
		l.send(t, "holdfast before renegotiation")
		p.waitStdout(t, "holdfast before renegotiation\n")
		p.send(t, "^renegotiate^")
		line, err := l.r.ReadString('\n')
		if line != "" {
			t.Errorf("Holdfast read %q during the refused renegotiation", line)
		}
		if ae, ok := errors.AsType[*AlertError](err); !ok || ae.Sent {
			t.Fatalf("Holdfast Read: %v; want the peer's alert after the refused renegotiation", err)
		}
		p.waitStderr(t, "*** ReHandshake has failed")
		stderr := p.stderr.String()
		hellos := strings.Count(stderr, "CLIENT HELLO was queued")
		var refusals int
		for _, m := range gnutlsAlertRE.FindAllStringSubmatch(stderr, -1) {
			if m[1] != "1|100" {
				t.Errorf("GnuTLS received alert [%s] from Holdfast, want only no_renegotiation warnings [1|100]", m[1])
				continue
			}
			refusals++
		}
		if refusals == 0 || refusals != hellos-1 {
			t.Errorf("GnuTLS sent %d ClientHellos and received %d no_renegotiation warnings; want one warning for each after the first", hellos, refusals)
		}
	})
	t.Logf("GnuTLS TLS 1.2 interop took %v", time.Since(start).Round(time.Millisecond))
}

// The seed's flow against OpenSSL, both directions:
// TLS_RSA_WITH_AES_128_CBC_SHA with a client certificate.
func TestInterop12SeedFlow(t *testing.T) {
	o := newOpenSSLPeer(t)
	fx := newInterop12Fixture(t, o.fx)
	t.Logf("peer: %s", o.version)

	// Holdfast client with an RSA certificate against
	// openssl s_server -tls1_2 -cipher AES128-SHA -Verify 1 -CAfile ca.pem.
	t.Run("holdfast-client", func(t *testing.T) {
		requireCBC(t)
		p, addr := o.server12(t, nil, "-cipher", "AES128-SHA", "-cert", fx.rsaKT.certFile, "-key", fx.rsaKT.keyFile,
			"-Verify", "1", "-CAfile", fx.caFile, "-verify_return_error", "-rev")
		cfg := o.clientConfig()
		cfg.CipherSuites = []uint16{interop12SeedSuite}
		cfg.MaxVersion = VersionTLS12
		cfg.Certificates = []Certificate{fx.clientRSA.cert}
		c, err := interopDial(t, addr, cfg)
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		s := interop12SuiteByID(t, interop12SeedSuite)
		checkVerifiedServer(t, checkNegotiated12(t, c, s), fx.rsaKT)
		pingRev(t, c, "the seed's flow: holdfast client with an RSA certificate")
		bulkToServer(t, c, true)
		finishRev(t, c, p)
		p.requireOutput(t, "Protocol version: TLSv1.2", "Ciphersuite: AES128-SHA", "Peer certificate: CN = client.test", "Verification: OK")
	})
	// openssl s_client -tls1_2 -cipher AES128-SHA -cert client.pem
	// -key client-key.pem against a Holdfast server requiring and
	// verifying a client certificate.
	t.Run("holdfast-server", func(t *testing.T) {
		requireCBC(t)
		ln := interopListen(t)
		p := o.client12(t, nil, ln.Addr().String(), "-cipher", "AES128-SHA", "-cert", fx.clientRSA.certFile, "-key", fx.clientRSA.keyFile)
		c, err := interopAccept(t, ln, &Config{Certificates: []Certificate{fx.rsaKT.cert}, CipherSuites: []uint16{interop12SeedSuite},
			ClientAuth: RequireAndVerifyClientCert, ClientCAs: fx.pki.pool}, p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		s := interop12SuiteByID(t, interop12SeedSuite)
		checkVerifiedClient(t, checkNegotiated12(t, c, s), fx.clientRSA)
		bulkFromClient(t, c, p, "Verify return code: 0 (ok)")
		pingClient(t, c, p, "the seed's flow: openssl s_client with an RSA certificate")
		p.requireOutput(t, "Verification: OK", "Protocol  : TLSv1.2", "Cipher    : AES128-SHA", "Extended master secret: yes")
	})
}

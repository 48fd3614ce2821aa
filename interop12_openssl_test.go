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
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TLS 1.2 against openssl s_client and s_server.
func TestInterop12OpenSSL(t *testing.T) {
	start := time.Now()
	o := newOpenSSLPeer(t)
	fx := newInterop12Fixture(t, o.fx)
	t.Logf("peer: %s", o.version)

	// 1. Every TLS 1.2 suite, both directions, the peer forced to TLS 1.2
	// and the suite. The Holdfast client offers TLS 1.3 as well, as it
	// does by default: the TLS 1.2-only server brings it down to 1.2.
	t.Run("holdfast-client", func(t *testing.T) {
		for _, s := range interop12Suites {
			t.Run(s.name, func(t *testing.T) {
				s.gate(t)
				k := fx.key(s)
				p, addr := o.server12(t, nil, "-cert", k.certFile, "-key", k.keyFile, "-cipher", s.openssl, "-rev")
				cfg := o.clientConfig()
				cfg.CipherSuites = []uint16{s.id}
				c, err := interopDial(t, addr, cfg)
				if err != nil {
					t.Fatalf("Holdfast client handshake: %v", err)
				}
				checkVerifiedServer(t, checkNegotiated12(t, c, s), k)
				pingRev(t, c, "holdfast client to openssl s_server over "+s.name)
				bulkToServer(t, c, true)
				finishRev(t, c, p)
				p.requireOutput(t, "Protocol version: TLSv1.2", "Ciphersuite: "+s.openssl)
			})
		}
	})
	t.Run("holdfast-server", func(t *testing.T) {
		for _, s := range interop12Suites {
			t.Run(s.name, func(t *testing.T) {
				s.gate(t)
				ln := interopListen(t)
				p := o.client12(t, nil, ln.Addr().String(), "-cipher", s.openssl)
				c, err := interopAccept(t, ln, &Config{Certificates: []Certificate{fx.key(s).cert}, CipherSuites: []uint16{s.id}}, p)
				if err != nil {
					t.Fatalf("Holdfast server handshake: %v", err)
				}
				checkNegotiated12(t, c, s)
				bulkFromClient(t, c, p, "Verify return code: 0 (ok)")
				pingClient(t, c, p, "ping from openssl s_client over "+s.name)
				p.requireOutput(t, "Verification: OK", "Protocol  : TLSv1.2", "Cipher    : "+s.openssl,
					"Extended master secret: yes", "Secure Renegotiation IS supported")
			})
		}
	})

	// 2. The extensions Holdfast requires in TLS 1.2, read from the hellos
	// in openssl's -msg trace: extended_master_secret (RFC 7627) and
	// renegotiation_info (RFC 5746), empty on an initial handshake.
	t.Run("extensions/holdfast-server", func(t *testing.T) {
		msgs := filepath.Join(t.TempDir(), "msg.txt")
		ln := interopListen(t)
		p := o.client12(t, nil, ln.Addr().String(), "-msg", "-msgfile", msgs)
		c, err := interopAccept(t, ln, o.serverConfig(), p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		pingClient(t, c, p, "ping with extended_master_secret")
		sh := opensslHello(t, msgs, "<<<", "ServerHello")
		if ems, ok := sh.extensions[extExtendedMasterSecret]; !ok || len(ems) != 0 {
			t.Errorf("Holdfast's ServerHello extended_master_secret: present %v, body %x; want present and empty", ok, ems)
		}
		if ri, ok := sh.extensions[extRenegotiationInfo]; !ok || !bytes.Equal(ri, []byte{0}) {
			t.Errorf("Holdfast's ServerHello renegotiation_info: present %v, body %x; want an empty renegotiated_connection (00)", ok, ri)
		}
	})
	t.Run("extensions/holdfast-client", func(t *testing.T) {
		msgs := filepath.Join(t.TempDir(), "msg.txt")
		p, addr := o.server12(t, nil, "-cert", fx.ecdsa.certFile, "-key", fx.ecdsa.keyFile, "-rev", "-msg", "-msgfile", msgs)
		c, err := interopDial(t, addr, o.clientConfig())
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		pingRev(t, c, "holdfast client with extended_master_secret")
		finishRev(t, c, p)
		ch := opensslHello(t, msgs, "<<<", "ClientHello")
		if ems, ok := ch.extensions[extExtendedMasterSecret]; !ok || len(ems) != 0 {
			t.Errorf("Holdfast's ClientHello extended_master_secret: present %v, body %x; want present and empty", ok, ems)
		}
		ri, ok := ch.extensions[extRenegotiationInfo]
		if scsv := slices.Contains(ch.suites, scsvEmptyRenegotiation); !(ok && bytes.Equal(ri, []byte{0}) || !ok && scsv) {
			t.Errorf("Holdfast's ClientHello: renegotiation_info present %v (body %x), SCSV %v; want an empty renegotiation_info or the SCSV", ok, ri, scsv)
		}
	})

	// 3. A peer without extended_master_secret is refused with
	// handshake_failure. The trace shows that the peer really left it out.
	t.Run("no-ems/holdfast-server", func(t *testing.T) {
		msgs := filepath.Join(t.TempDir(), "msg.txt")
		ln := interopListen(t)
		p := o.client12(t, opensslNoEMS(t), ln.Addr().String(), "-msg", "-msgfile", msgs)
		_, err := interopAccept(t, ln, o.serverConfig(), p)
		expectAlert(t, err, AlertHandshakeFailure, true)
		if !strings.Contains(err.Error(), "extended_master_secret") {
			t.Errorf("Holdfast error %q does not name extended_master_secret", err)
		}
		if err := p.waitExit(t); err == nil {
			t.Errorf("%s succeeded without extended_master_secret", p.cmdline())
		}
		p.requireOutput(t, "alert handshake failure")
		if _, ok := opensslHello(t, msgs, ">>>", "ClientHello").extensions[extExtendedMasterSecret]; ok {
			t.Errorf("openssl offered extended_master_secret despite Options = -ExtendedMasterSecret: the case tests nothing")
		}
		checkOpenSSLAlerts(t, msgs, nil, []string{"fatal handshake_failure"})
	})
	t.Run("no-ems/holdfast-client", func(t *testing.T) {
		msgs := filepath.Join(t.TempDir(), "msg.txt")
		p, addr := o.server12(t, opensslNoEMS(t), "-cert", fx.ecdsa.certFile, "-key", fx.ecdsa.keyFile, "-rev", "-msg", "-msgfile", msgs)
		_, err := interopDial(t, addr, o.clientConfig())
		expectAlert(t, err, AlertHandshakeFailure, true)
		if !strings.Contains(err.Error(), "extended_master_secret") {
			t.Errorf("Holdfast error %q does not name extended_master_secret", err)
		}
		p.waitStderr(t, "alert handshake failure")
		if _, ok := opensslHello(t, msgs, "<<<", "ClientHello").extensions[extExtendedMasterSecret]; !ok {
			t.Errorf("Holdfast's ClientHello lacks extended_master_secret")
		}
		if _, ok := opensslHello(t, msgs, ">>>", "ServerHello").extensions[extExtendedMasterSecret]; ok {
			t.Errorf("openssl answered with extended_master_secret despite Options = -ExtendedMasterSecret: the case tests nothing")
		}
		checkOpenSSLAlerts(t, msgs, nil, []string{"fatal handshake_failure"})
	})

	// 4. Renegotiation is refused with a no_renegotiation warning, and
	// Holdfast reads on. OpenSSL does not carry on after a refused
	// renegotiation: it answers the warning with a fatal handshake_failure
	// ("no renegotiation", ssl/record/rec_layer_s3.c), which is what
	// Holdfast then reads.
	t.Run("renegotiation/holdfast-server", func(t *testing.T) {
		msgs := filepath.Join(t.TempDir(), "msg.txt")
		ln := interopListen(t)
		p := o.client12(t, nil, ln.Addr().String(), "-msg", "-msgfile", msgs)
		c, err := interopAccept(t, ln, o.serverConfig(), p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		p.waitStdout(t, "Verify return code: 0 (ok)")
		l := newInteropLines(c)
		p.send(t, "before renegotiation")
		l.expect(t, "before renegotiation")
		l.send(t, "holdfast before renegotiation")
		p.waitStdout(t, "holdfast before renegotiation\n")
		p.send(t, "R")
		p.waitStderr(t, "RENEGOTIATING")
		// s_client's R only schedules the renegotiation: its ClientHello
		// goes out ahead of the next line, which it then cannot send.
		p.send(t, "after renegotiation")
		line, err := l.r.ReadString('\n')
		if line != "" {
			t.Errorf("Holdfast read %q after the refused renegotiation", line)
		}
		expectAlert(t, err, AlertHandshakeFailure, false)
		if err := p.waitExit(t); err == nil {
			t.Errorf("%s succeeded after its renegotiation was refused", p.cmdline())
		}
		p.requireOutput(t, "no renegotiation")
		hellos := opensslMessages(t, msgs, ">>>", "ClientHello")
		if len(hellos) != 2 {
			t.Fatalf("openssl sent %d ClientHellos, want 2 (the second renegotiating):\n%s", len(hellos), opensslMsgTrace(msgs))
		}
		if h, err := parseHello12(hellos[1]); err != nil || len(h.extensions[extRenegotiationInfo]) != 13 {
			t.Errorf("openssl's second ClientHello (%v): want a renegotiation_info with its 12-byte verify_data, a secure renegotiation", err)
		}
		checkOpenSSLAlerts(t, msgs, []string{"fatal handshake_failure"}, []string{"warning no_renegotiation"})
	})
	t.Run("renegotiation/holdfast-client", func(t *testing.T) {
		msgs := filepath.Join(t.TempDir(), "msg.txt")
		p, addr := o.server12(t, nil, "-cert", fx.ecdsa.certFile, "-key", fx.ecdsa.keyFile, "-msg", "-msgfile", msgs)
		c, err := interopDial(t, addr, o.clientConfig())
		if err != nil {
			t.Fatalf("Holdfast client handshake: %v", err)
		}
		l := newInteropLines(c)
		l.send(t, "before renegotiation")
		p.waitStdout(t, "before renegotiation\n")
		p.send(t, "s_server before renegotiation")
		l.expect(t, "s_server before renegotiation")
		p.send(t, "R") // s_server sends a HelloRequest at once
		line, err := l.r.ReadString('\n')
		if line != "" {
			t.Errorf("Holdfast read %q after the HelloRequest", line)
		}
		expectAlert(t, err, AlertHandshakeFailure, false)
		p.waitExit(t)
		p.requireOutput(t, "no renegotiation")
		if n := len(opensslMessages(t, msgs, ">>>", "HelloRequest")); n != 1 {
			t.Errorf("openssl sent %d HelloRequests, want 1", n)
		}
		if n := len(opensslMessages(t, msgs, "<<<", "ClientHello")); n != 1 {
			t.Errorf("Holdfast sent %d ClientHellos, want 1: it renegotiated", n)
		}
		checkOpenSSLAlerts(t, msgs, []string{"fatal handshake_failure"}, []string{"warning no_renegotiation"})
	})

	// 5. The downgrade sentinel (RFC 8446 §4.1.3) as a TLS 1.2-only client
	// sees it: a Holdfast server that speaks TLS 1.3 ends its TLS 1.2
	// ServerHello.random with DOWNGRD\x01, and the client, which did not
	// offer TLS 1.3, ignores it; a server limited to TLS 1.2 does not.
	t.Run("downgrade-sentinel/holdfast-server", func(t *testing.T) {
		msgs := filepath.Join(t.TempDir(), "msg.txt")
		ln := interopListen(t)
		p := o.client12(t, nil, ln.Addr().String(), "-msg", "-msgfile", msgs)
		c, err := interopAccept(t, ln, o.serverConfig(), p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		pingClient(t, c, p, "ping after a ServerHello with the downgrade sentinel")
		p.requireOutput(t, "Protocol  : TLSv1.2")
		if r := opensslHello(t, msgs, "<<<", "ServerHello").random; !bytes.Equal(r[24:], downgradeSentinel12) {
			t.Errorf("ServerHello.random %x from a Holdfast server that speaks TLS 1.3: want it to end with 444f574e47524401 (DOWNGRD\\x01)", r)
		}
	})
	t.Run("downgrade-sentinel/holdfast-server-tls12-only", func(t *testing.T) {
		msgs := filepath.Join(t.TempDir(), "msg.txt")
		ln := interopListen(t)
		p := o.client12(t, nil, ln.Addr().String(), "-msg", "-msgfile", msgs)
		cfg := o.serverConfig()
		cfg.MaxVersion = VersionTLS12
		c, err := interopAccept(t, ln, cfg, p)
		if err != nil {
			t.Fatalf("Holdfast server handshake: %v", err)
		}
		pingClient(t, c, p, "ping from a TLS 1.2-only server")
		if r := opensslHello(t, msgs, "<<<", "ServerHello").random; bytes.Equal(r[24:], downgradeSentinel12) {
			t.Errorf("ServerHello.random %x from a Holdfast server limited to TLS 1.2 ends with the downgrade sentinel", r)
		}
	})
	t.Logf("OpenSSL TLS 1.2 interop took %v", time.Since(start).Round(time.Millisecond))
}

package holdfast

import (
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// VerifyPeerCertificate runs on a server under every policy that takes a
// client certificate, as crypto/tls's does: under RequestClientCert and
// RequireAnyClientCert with no verified chains, so a pinning check in the
// hook is not silently skipped; its refusal is bad_certificate.
func TestServerVerifyPeerCertificateUnderEveryPolicy(t *testing.T) {
	pki := newTestPKI(t)
	other := newNamedPKI(t, "Another CA")
	serverCert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	clientCert := other.leaf(t, ecKey(t, elliptic.P256()), "client.test")
	for _, vers := range []uint16{VersionTLS13, VersionTLS12} {
		for _, policy := range []ClientAuthType{RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert} {
			verifies := policy == VerifyClientCertIfGiven || policy == RequireAndVerifyClientCert
			for _, refuse := range []bool{false, true} {
				called, gotChains := false, 0
				server := &Config{Certificates: []Certificate{serverCert}, ClientAuth: policy, ClientCAs: other.pool, MaxVersion: vers,
					VerifyPeerCertificate: func(raw [][]byte, chains [][]*x509.Certificate) error {
						called, gotChains = true, len(chains)
						if len(raw) != 1 {
							t.Errorf("hook got %d raw certificates, want the client's 1", len(raw))
						}
						if refuse {
							return errors.New("pinned key does not match")
						}
						return nil
					}}
				client := &Config{RootCAs: pki.pool, ServerName: "server.test", Certificates: []Certificate{clientCert}, MaxVersion: vers}
				_, serr := handshakeAndPing(t, client, server)
				if !called {
					t.Errorf("%#04x policy %d: VerifyPeerCertificate not called", vers, policy)
				}
				if want := map[bool]int{true: 1, false: 0}[verifies]; gotChains != want {
					t.Errorf("%#04x policy %d: hook saw %d verified chains, want %d", vers, policy, gotChains, want)
				}
				if refuse != (serr != nil) || (refuse && !errors.Is(serr, alert.ErrBadCertificate)) {
					t.Errorf("%#04x policy %d refuse=%v: server error %v", vers, policy, refuse, serr)
				}
			}
		}
	}
}

// VerifyConnection runs at the end of every handshake on both sides, with
// the connection's state; a refusal fails Handshake with bad_certificate
// and the peer learns of it.
func TestVerifyConnection(t *testing.T) {
	pki := newTestPKI(t)
	serverCert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	for _, vers := range []uint16{VersionTLS13, VersionTLS12} {
		for _, side := range []string{"client", "server"} {
			for _, refuse := range []bool{false, true} {
				var seen ConnectionState
				hook := func(cs ConnectionState) error {
					seen = cs
					if refuse {
						return errors.New("policy says no")
					}
					return nil
				}
				server := &Config{Certificates: []Certificate{serverCert}, MaxVersion: vers, NextProtos: []string{"h2"}}
				client := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: vers, NextProtos: []string{"h2"}}
				if side == "client" {
					client.VerifyConnection = hook
				} else {
					server.VerifyConnection = hook
				}
				cerr, serr := handshakeAndPing(t, client, server)
				if seen.Version != vers || !seen.HandshakeComplete || seen.NegotiatedProtocol != "h2" || (side == "client" && len(seen.VerifiedChains) != 1) {
					t.Errorf("%#04x %s: hook saw %+v", vers, side, seen)
				}
				mine, theirs := cerr, serr
				if side == "server" {
					mine, theirs = serr, cerr
				}
				if !refuse {
					if mine != nil || theirs != nil {
						t.Errorf("%#04x %s accepting: client %v, server %v", vers, side, cerr, serr)
					}
					continue
				}
				if !errors.Is(mine, alert.ErrBadCertificate) {
					t.Errorf("%#04x %s refusing: own error %v, want bad_certificate", vers, side, mine)
				}
				if theirs == nil {
					t.Errorf("%#04x %s refusing: the peer saw no error", vers, side)
				}
			}
		}
	}
}

// handshakeAndPing runs a handshake between the two Configs; the server
// then sends a byte, which the client reads (a TLS 1.3 client learns of a
// server's refusal on its first read), and waits for the client's close
// (a client's refusal arrives as an alert instead).
func handshakeAndPing(t *testing.T, client, server *Config) (clientErr, serverErr error) {
	t.Helper()
	return pair(t, func(c net.Conn) error {
		cl := Client(c, client)
		defer cl.Close()
		if err := cl.Handshake(); err != nil {
			return err
		}
		_, err := cl.Read(make([]byte, 1))
		return err
	}, func(c net.Conn) error {
		sv := Server(c, server)
		defer sv.Close()
		if err := sv.Handshake(); err != nil {
			return err
		}
		if _, err := sv.Write([]byte{1}); err != nil {
			return err
		}
		_, err := sv.Read(make([]byte, 1))
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	})
}

// VerifyHostname checks the verified chain against another name, as
// crypto/tls's does, and refuses where no chain was verified, on a server
// and before the handshake; OCSPResponse is the stapled response.
func TestVerifyHostnameAndOCSPResponse(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test", "alias.test")
	cert.OCSPStaple = []byte("a stapled response")
	server := &Config{Certificates: []Certificate{cert}}
	for _, tc := range []struct {
		name   string
		client *Config
	}{
		{"verified", &Config{RootCAs: pki.pool, ServerName: "server.test"}},
		{"insecure", &Config{InsecureSkipVerify: true}},
	} {
		var before, alias, other error
		var staple []byte
		var srvErr error
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(c, tc.client)
			defer cl.Close()
			before = cl.VerifyHostname("server.test")
			if err := sendAndCheck(cl, []byte("names")); err != nil {
				return err
			}
			alias, other, staple = cl.VerifyHostname("alias.test"), cl.VerifyHostname("elsewhere.test"), cl.OCSPResponse()
			return nil
		}, func(c net.Conn) error {
			sv := Server(c, server)
			defer sv.Close()
			err := echoOnce(sv)
			srvErr = sv.VerifyHostname("server.test")
			return err
		})
		if cerr != nil || serr != nil {
			t.Fatalf("%s: client %v, server %v", tc.name, cerr, serr)
		}
		if before == nil || srvErr == nil {
			t.Errorf("%s: VerifyHostname before the handshake (%v) or on a server (%v) succeeded", tc.name, before, srvErr)
		}
		if string(staple) != "a stapled response" {
			t.Errorf("%s: OCSPResponse %q", tc.name, staple)
		}
		if tc.name == "insecure" {
			if alias == nil {
				t.Errorf("insecure: VerifyHostname succeeded without a verified chain")
			}
			continue
		}
		if alias != nil || other == nil {
			t.Errorf("verified: alias.test %v (want nil), elsewhere.test %v (want an error)", alias, other)
		}
	}
}

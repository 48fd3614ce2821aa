package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/holdfast-tls/holdfast/signer"
)

// ConnectionState.PeerSignatureScheme against crypto/tls peers, and
// Config.VerifySignatureSchemes, which both pins what the peer may use and
// so makes the expected value certain.

// schemeAsClient runs a Holdfast client against a crypto/tls server with
// srv and returns the scheme the client reports.
func schemeAsClient(t *testing.T, pki *testPKI, srv Certificate, cfg *Config) (uint16, error) {
	t.Helper()
	st, cerr, serr := dialState(t, cfg, stdEcho(&tls.Config{Certificates: []tls.Certificate{toStd(srv)}}))
	if cerr != nil {
		return 0, cerr
	}
	if serr != nil {
		t.Fatalf("crypto/tls server: %v", serr)
	}
	return st.PeerSignatureScheme, nil
}

func TestPeerSignatureSchemeOfServer(t *testing.T) {
	pki := newTestPKI(t)
	rsaSrv := pki.leaf(t, rsaKey(t), "server.test")
	ecSrv := pki.leaf(t, ecKey(t, elliptic.P384()), "server.test")
	for _, tc := range []struct {
		name   string
		v      uint16
		srv    Certificate
		verify []uint16
		want   uint16
	}{
		{"TLS13-ECDSA-P384", VersionTLS13, ecSrv, nil, signer.ECDSAP384SHA384},
		{"TLS13-RSA-PSS-SHA384", VersionTLS13, rsaSrv, []uint16{signer.RSAPSSRSAESHA384}, signer.RSAPSSRSAESHA384},
		{"TLS13-RSA-PSS-SHA512", VersionTLS13, rsaSrv, []uint16{signer.RSAPSSRSAESHA512, signer.RSAPSSRSAESHA256}, signer.RSAPSSRSAESHA512},
		{"TLS12-RSA-PSS-SHA384", VersionTLS12, rsaSrv, []uint16{signer.RSAPSSRSAESHA384}, signer.RSAPSSRSAESHA384},
		{"TLS12-RSA-PKCS1-SHA512", VersionTLS12, rsaSrv, []uint16{signer.RSAPKCS1SHA512}, signer.RSAPKCS1SHA512},
		{"TLS12-ECDSA-P384", VersionTLS12, ecSrv, []uint16{signer.ECDSAP384SHA384}, signer.ECDSAP384SHA384},
	} {
		cfg := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v, VerifySignatureSchemes: tc.verify}
		got, err := schemeAsClient(t, pki, tc.srv, cfg)
		if err != nil || got != tc.want {
			t.Errorf("%s: PeerSignatureScheme %#04x (%v), want %#04x", tc.name, got, err, tc.want)
		}
	}
	// A scheme outside VerifySignatureSchemes is refused: the client offers
	// only ECDSA P-256, which the RSA server cannot make.
	cfg := &Config{RootCAs: pki.pool, ServerName: "server.test", VerifySignatureSchemes: []uint16{signer.ECDSAP256SHA256}}
	if _, err := schemeAsClient(t, pki, rsaSrv, cfg); err == nil {
		t.Error("an RSA server was accepted by a client verifying only ECDSA P-256")
	}
	// SHA-1 is not a scheme Holdfast verifies: the Config says which field.
	cfg = &Config{RootCAs: pki.pool, ServerName: "server.test", VerifySignatureSchemes: []uint16{0x0201}}
	if _, err := schemeAsClient(t, pki, rsaSrv, cfg); err == nil || !strings.Contains(err.Error(), "VerifySignatureSchemes entry 0x0201") {
		t.Errorf("rsa_pkcs1_sha1 in VerifySignatureSchemes: %v", err)
	}
}

// A server reports the scheme of the client's CertificateVerify, 0
// without a client certificate, and a resumed connection the scheme of the
// handshake that made the session (carried in the ticket).
func TestPeerSignatureSchemeOfClient(t *testing.T) {
	pki := newTestPKI(t)
	srv := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	cli := pki.leaf(t, rsaKey(t), "client.test")
	for _, tc := range bothVersions {
		for _, withCert := range []bool{true, false} {
			scfg := &Config{Certificates: []Certificate{srv}, ClientAuth: RequestClientCert,
				VerifySignatureSchemes: []uint16{signer.RSAPSSRSAESHA512}}
			ccfg := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v}
			if withCert {
				ccfg.Certificates = []tls.Certificate{toStd(cli)}
			}
			var ss ConnectionState
			cerr, serr := pair(t, func(c net.Conn) error {
				s := tls.Client(c, ccfg)
				defer s.Close()
				return sendAndCheck(s, []byte("scheme"))
			}, holdfastEcho(scfg, &ss))
			got := ss.PeerSignatureScheme
			want := uint16(signer.RSAPSSRSAESHA512)
			if !withCert {
				want = 0
			}
			if cerr != nil || serr != nil || got != want {
				t.Errorf("%s cert=%v: client %v, server %v, scheme %#04x, want %#04x", tc.name, withCert, cerr, serr, got, want)
			}
		}

		// Resumption, Holdfast on both sides: the client's scheme comes
		// back from the ticket on the server, the server's from the
		// session cache on the client.
		scfg := &Config{Certificates: []Certificate{srv}, ClientAuth: RequireAnyClientCert,
			VerifySignatureSchemes: []uint16{signer.RSAPSSRSAESHA384}}
		ccfg := &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: tc.v, Certificates: []Certificate{cli},
			ClientSessionCache: NewClientSessionCache(4)}
		for i := range 2 {
			var ss ConnectionState
			cs, cerr, serr := dialState(t, ccfg, holdfastEcho(scfg, &ss))
			if cerr != nil || serr != nil {
				t.Fatalf("%s #%d: client %v, server %v", tc.name, i, cerr, serr)
			}
			if cs.DidResume != (i == 1) || ss.DidResume != (i == 1) ||
				ss.PeerSignatureScheme != signer.RSAPSSRSAESHA384 || cs.PeerSignatureScheme != signer.ECDSAP256SHA256 {
				t.Fatalf("%s #%d: resumed %v/%v, server saw %#04x, client saw %#04x", tc.name, i,
					cs.DidResume, ss.DidResume, ss.PeerSignatureScheme, cs.PeerSignatureScheme)
			}
		}
	}
}

// RSA key transport signs nothing: a TLS 1.2 client reports 0.
func TestPeerSignatureSchemeKeyTransport(t *testing.T) {
	pki := newTestPKI(t)
	srv := pki.leaf(t, rsaKey(t), "server.test")
	rsaKX, ok := CipherSuiteByName("TLS_RSA_WITH_AES_128_GCM_SHA256")
	if !ok {
		t.Fatal("no TLS_RSA_WITH_AES_128_GCM_SHA256")
	}
	var ss ConnectionState
	cs, cerr, serr := dialState(t, &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: VersionTLS12, CipherSuites: []uint16{rsaKX}},
		holdfastEcho(&Config{Certificates: []Certificate{srv}, CipherSuites: []uint16{rsaKX}}, &ss))
	if cerr != nil || serr != nil || !cs.HandshakeComplete || cs.CipherSuite != rsaKX || cs.PeerSignatureScheme != 0 {
		t.Fatalf("client %v, server %v, suite %#04x, scheme %#04x", cerr, serr, cs.CipherSuite, cs.PeerSignatureScheme)
	}
}

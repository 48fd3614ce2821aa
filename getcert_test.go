package holdfast

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/signer"
	"github.com/holdfast-tls/holdfast/tickets"
)

// echoServer runs client against a Holdfast server with config that
// echoes one message, and fails t unless both ends succeed.
func echoServer(t *testing.T, config *Config, client func(net.Conn) error) {
	t.Helper()
	cerr, serr := pair(t, client, func(c net.Conn) error {
		sv := Server(c, config)
		defer sv.Close()
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
}

// stdLeaf runs a crypto/tls client against server and returns the leaf
// it was served and whether it resumed.
func stdLeaf(t *testing.T, client *tls.Config, server *Config) (leaf []byte, resumed bool) {
	t.Helper()
	echoServer(t, server, func(c net.Conn) error {
		cl := tls.Client(c, client)
		defer cl.Close()
		if err := sendAndCheck(cl, []byte("which leaf")); err != nil {
			return err
		}
		st := cl.ConnectionState()
		leaf, resumed = st.PeerCertificates[0].Raw, st.DidResume
		return nil
	})
	return leaf, resumed
}

// TestGetCertificateRotation swaps the served chain between handshakes
// without a new Config, as a certificate renewal does, in both versions:
// each new connection gets the current chain, a session resumes only
// under the chain it was made with, and the prepared form of a dropped
// chain is forgotten.
func TestGetCertificateRotation(t *testing.T) {
	pki := newTestPKI(t)
	key := ecKey(t, elliptic.P256())
	var current atomic.Pointer[Certificate]
	first := pki.leaf(t, key, "server.test")
	current.Store(&first)
	var calls atomic.Int32
	ring, err := tickets.NewRotatingKeyRing(time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	server := &Config{TicketKeys: ring, GetCertificate: func(info *ClientHelloInfo) (*Certificate, error) {
		calls.Add(1)
		if info.ServerName != "server.test" || info.Context() == nil || info.Conn == nil {
			return nil, errors.New("ClientHelloInfo incomplete")
		}
		return current.Load(), nil
	}}
	for _, vers := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(map[uint16]string{tls.VersionTLS13: "TLS1.3", tls.VersionTLS12: "TLS1.2"}[vers], func(t *testing.T) {
			client := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: vers, MaxVersion: vers,
				ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			old := current.Load()
			if leaf, resumed := stdLeaf(t, client, server); !bytes.Equal(leaf, old.Certificate[0]) || resumed {
				t.Fatalf("first handshake: served the wrong leaf or resumed (%v)", resumed)
			}
			if _, resumed := stdLeaf(t, client, server); !resumed {
				t.Fatal("same chain: the session did not resume")
			}
			renewed := pki.leaf(t, key, "server.test")
			current.Store(&renewed)
			leaf, resumed := stdLeaf(t, client, server)
			if !bytes.Equal(leaf, renewed.Certificate[0]) {
				t.Fatal("after rotation: still served the old leaf")
			}
			if resumed {
				t.Fatal("after rotation: resumed a session made under the old chain")
			}
		})
	}
	if n := calls.Load(); n != 6 {
		t.Fatalf("GetCertificate called %d times for 6 handshakes", n)
	}
	// Only the current chain's preparation stays once the others are
	// unreachable.
	deadline := time.Now().Add(10 * time.Second)
	for server.prepared.len() > 1 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := server.prepared.len(); n != 1 {
		t.Fatalf("%d prepared certificates remembered after rotation, want 1", n)
	}
}

// TestGetCertificateChoosesByClient serves an ECDSA or an RSA chain by
// what the client accepts, through SupportsCertificate, and falls back
// to Certificates on a nil answer.
func TestGetCertificateChoosesByClient(t *testing.T) {
	pki := newTestPKI(t)
	ec := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	rsaCert := pki.leaf(t, rsaKey(t), "server.test")
	fallback := pki.leaf(t, ecKey(t, elliptic.P256()), "other.test")
	var mu sync.Mutex
	var why []string
	server := &Config{Certificates: []Certificate{fallback}, GetCertificate: func(info *ClientHelloInfo) (*Certificate, error) {
		if info.ServerName != "server.test" {
			return nil, nil
		}
		for _, c := range []*Certificate{&ec, &rsaCert} {
			err := info.SupportsCertificate(c)
			if err == nil {
				return c, nil
			}
			if !errors.Is(err, ErrCertificateUnsupported) {
				return nil, err
			}
			mu.Lock()
			why = append(why, err.Error())
			mu.Unlock()
		}
		return nil, errors.New("no chain for this client")
	}}
	for _, tc := range []struct {
		name    string
		vers    uint16
		schemes []uint16
		want    *Certificate
	}{
		{"ecdsa-client-13", VersionTLS13, []uint16{signer.ECDSAP256SHA256}, &ec},
		{"rsa-client-13", VersionTLS13, []uint16{signer.RSAPSSRSAESHA256}, &rsaCert},
		{"ecdsa-client-12", VersionTLS12, []uint16{signer.ECDSAP256SHA256}, &ec},
		{"rsa-client-12", VersionTLS12, []uint16{signer.RSAPKCS1SHA256}, &rsaCert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := &Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: tc.vers, MaxVersion: tc.vers,
				VerifySignatureSchemes: tc.schemes}
			got := servedLeaf(t, client, server)
			if !bytes.Equal(got, tc.want.Certificate[0]) {
				t.Fatal("served the chain the client cannot verify")
			}
		})
	}
	mu.Lock()
	if len(why) == 0 || !strings.Contains(why[0], "server.test") {
		t.Errorf("SupportsCertificate's refusals do not name the certificate: %q", why)
	}
	mu.Unlock()
	t.Run("fallback", func(t *testing.T) {
		client := &Config{RootCAs: pki.pool, ServerName: "other.test"}
		if got := servedLeaf(t, client, server); !bytes.Equal(got, fallback.Certificate[0]) {
			t.Fatal("a nil GetCertificate answer did not fall back to Certificates")
		}
	})
}

// servedLeaf runs a Holdfast handshake and returns the server's leaf.
func servedLeaf(t *testing.T, client, server *Config) []byte {
	t.Helper()
	var leaf []byte
	echoServer(t, server, func(c net.Conn) error {
		cl := Client(c, client)
		defer cl.Close()
		if err := sendAndCheck(cl, []byte("which leaf")); err != nil {
			return err
		}
		leaf = cl.ConnectionState().PeerCertificates[0].Raw
		return nil
	})
	return leaf
}

// pkcs1Only is a key that, like many HSM keys, cannot make RSA-PSS
// signatures.
type pkcs1Only struct{ crypto.Signer }

func (pkcs1Only) SignatureSchemes() []uint16 { return []uint16{signer.RSAPKCS1SHA256} }

// TestGetCertificateCapsVersionToKey: a chain whose key cannot sign for
// TLS 1.3, handed out by GetCertificate, gets TLS 1.2 for that connection
// (the static Certificates path does the same at Config time), and a TLS
// 1.3-only client is refused with protocol_version and the reason.
func TestGetCertificateCapsVersionToKey(t *testing.T) {
	pki := newTestPKI(t)
	k := rsaKey(t)
	c := pki.leaf(t, k, "server.test")
	c.PrivateKey = pkcs1Only{k}
	server := &Config{GetCertificate: func(*ClientHelloInfo) (*Certificate, error) { return &c, nil }}

	client := &tls.Config{RootCAs: pki.pool, ServerName: "server.test"}
	var vers uint16
	echoServer(t, server, func(conn net.Conn) error {
		cl := tls.Client(conn, client)
		defer cl.Close()
		if err := sendAndCheck(cl, []byte("v")); err != nil {
			return err
		}
		vers = cl.ConnectionState().Version
		return nil
	})
	if vers != tls.VersionTLS12 {
		t.Fatalf("negotiated %#04x with a PKCS #1-only key, want TLS 1.2", vers)
	}

	only13 := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: tls.VersionTLS13}
	cerr, serr := pair(t, func(conn net.Conn) error {
		return tls.Client(conn, only13).Handshake()
	}, func(conn net.Conn) error {
		return Server(conn, server).Handshake()
	})
	if cerr == nil || !strings.Contains(cerr.Error(), "protocol version") {
		t.Fatalf("TLS 1.3-only client: %v, want a protocol_version alert", cerr)
	}
	if !errors.Is(serr, AlertProtocolVersion) || !strings.Contains(serr.Error(), ErrNoTLS13Signature.Error()) {
		t.Fatalf("server: %v, want protocol_version naming the key's limit", serr)
	}
}

// TestCertificateHookErrors: a hook's error fails the handshake with
// internal_error, or with the alert the error wraps, and is returned to
// the server with its cause.
func TestCertificateHookErrors(t *testing.T) {
	pki := newTestPKI(t)
	cause := errors.New("certificate store unreachable")
	for _, tc := range []struct {
		name   string
		server *Config
		alert  Alert
	}{
		{"GetCertificate", &Config{GetCertificate: func(*ClientHelloInfo) (*Certificate, error) { return nil, cause }}, AlertInternalError},
		{"GetConfigForClient", &Config{GetConfigForClient: func(*ClientHelloInfo) (*Config, error) { return nil, cause }}, AlertInternalError},
		{"unrecognized-name", &Config{GetConfigForClient: func(info *ClientHelloInfo) (*Config, error) {
			return nil, errors.Join(cause, AlertUnrecognizedName)
		}}, AlertUnrecognizedName},
		{"bad-certificate-value", &Config{GetCertificate: func(*ClientHelloInfo) (*Certificate, error) {
			c := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
			c.PrivateKey = ecKey(t, elliptic.P256()) // not the leaf's key
			return &c, nil
		}}, AlertInternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := &Config{RootCAs: pki.pool, ServerName: "server.test"}
			cerr, serr := pair(t, func(c net.Conn) error { return Client(c, client).Handshake() },
				func(c net.Conn) error { return Server(c, tc.server).Handshake() })
			if !errors.Is(cerr, tc.alert) {
				t.Errorf("client: %v, want %v", cerr, tc.alert)
			}
			if !errors.Is(serr, tc.alert) {
				t.Errorf("server: %v, want %v", serr, tc.alert)
			}
			if tc.name == "bad-certificate-value" {
				if !errors.Is(serr, ErrKeyMismatch) {
					t.Errorf("server: %v, want ErrKeyMismatch", serr)
				}
			} else if !errors.Is(serr, cause) {
				t.Errorf("server: %v does not wrap the hook's error", serr)
			}
		})
	}
}

// TestGetConfigForClient serves two names from two Configs with their own
// chains, ALPN and client-certificate policy.
func TestGetConfigForClient(t *testing.T) {
	pki := newTestPKI(t)
	public := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "www.test")}, NextProtos: []string{"h2"}}
	internal := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "admin.test")},
		ClientAuth: RequireAndVerifyClientCert, ClientCAs: pki.pool, NextProtos: []string{"http/1.1"}}
	var seen []string
	var mu sync.Mutex
	front := &Config{GetConfigForClient: func(info *ClientHelloInfo) (*Config, error) {
		mu.Lock()
		seen = append(seen, info.ServerName)
		mu.Unlock()
		if !slices.Contains(info.SupportedVersions, VersionTLS13) || len(info.CipherSuites) == 0 ||
			len(info.SignatureSchemes) == 0 || len(info.SupportedCurves) == 0 || len(info.Extensions) == 0 {
			return nil, errors.New("ClientHelloInfo incomplete")
		}
		switch info.ServerName {
		case "www.test":
			return public, nil
		case "admin.test":
			return internal, nil
		}
		return nil, AlertUnrecognizedName
	}}

	clientCert := pki.leaf(t, ecKey(t, elliptic.P256()), "operator")
	for _, tc := range []struct {
		name, alpn string
		certs      []Certificate
		wantErr    bool
	}{
		{"www.test", "h2", nil, false},
		{"admin.test", "http/1.1", []Certificate{clientCert}, false},
		{"admin.test", "http/1.1", nil, true}, // the swapped Config's policy applies
	} {
		client := &Config{RootCAs: pki.pool, ServerName: tc.name, NextProtos: []string{"h2", "http/1.1"}, Certificates: tc.certs}
		var st ConnectionState
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(c, client)
			defer cl.Close()
			if err := sendAndCheck(cl, []byte("hi")); err != nil {
				return err
			}
			st = cl.ConnectionState()
			return nil
		}, func(c net.Conn) error {
			sv := Server(c, front)
			defer sv.Close()
			return echoOnce(sv)
		})
		if tc.wantErr {
			if !errors.Is(serr, AlertCertificateRequired) {
				t.Errorf("%s without a client certificate: server %v, want certificate_required", tc.name, serr)
			}
			continue
		}
		if cerr != nil || serr != nil {
			t.Fatalf("%s: client %v, server %v", tc.name, cerr, serr)
		}
		if st.PeerCertificates[0].Subject.CommonName != tc.name || st.NegotiatedProtocol != tc.alpn {
			t.Errorf("%s: served %s with ALPN %q", tc.name, st.PeerCertificates[0].Subject.CommonName, st.NegotiatedProtocol)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Errorf("GetConfigForClient saw %q, want three calls", seen)
	}
}

// TestGetClientCertificate: the client's hook sees the server's request
// (its CAs, schemes and version) and answers it, in both versions; no
// chain, an error, and a chain that cannot sign for this server each end
// the handshake as they should.
func TestGetClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	operator := pki.leaf(t, ecKey(t, elliptic.P256()), "operator")
	rsaOperator := pki.leaf(t, rsaKey(t), "rsa-operator")
	cause := errors.New("smart card removed")
	for _, vers := range []uint16{VersionTLS13, VersionTLS12} {
		server := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")},
			ClientAuth: RequireAndVerifyClientCert, ClientCAs: pki.pool, MinVersion: vers, MaxVersion: vers,
			VerifySignatureSchemes: []uint16{signer.ECDSAP256SHA256, signer.ECDSAP384SHA384}}
		for _, tc := range []struct {
			name       string
			answer     *Certificate
			err        error
			wantClient Alert // zero: success
		}{
			{"answers", &operator, nil, 0},
			{"no-chain", nil, nil, AlertCertificateRequired},
			{"error", nil, cause, AlertInternalError},
			{"cannot-sign", &rsaOperator, nil, AlertHandshakeFailure},
		} {
			t.Run(map[uint16]string{VersionTLS13: "TLS1.3/", VersionTLS12: "TLS1.2/"}[vers]+tc.name, func(t *testing.T) {
				var got *CertificateRequestInfo
				client := &Config{RootCAs: pki.pool, ServerName: "server.test", GetClientCertificate: func(cri *CertificateRequestInfo) (*Certificate, error) {
					got = cri
					return tc.answer, tc.err
				}}
				var peer string
				cerr, serr := handshakeAndPingPeer(t, client, server, &peer)
				if got == nil {
					t.Fatal("GetClientCertificate was not called")
				}
				if got.Version != vers || len(got.SignatureSchemes) == 0 || got.Context() == nil ||
					!slices.ContainsFunc(got.AcceptableCAs, func(n []byte) bool { return bytes.Equal(n, pki.caCert.RawSubject) }) {
					t.Errorf("CertificateRequestInfo = %+v", got)
				}
				if !slices.Equal(got.SignatureSchemes, []uint16{signer.ECDSAP256SHA256, signer.ECDSAP384SHA384}) {
					t.Errorf("SignatureSchemes %#04x, want the server's list", got.SignatureSchemes)
				}
				switch {
				case tc.wantClient == 0:
					if cerr != nil || serr != nil || peer != "operator" {
						t.Fatalf("client %v, server %v, server saw %q", cerr, serr, peer)
					}
				case tc.wantClient == AlertCertificateRequired:
					want := AlertCertificateRequired
					if vers == VersionTLS12 {
						want = AlertHandshakeFailure // TLS 1.2 has no certificate_required
					}
					if !errors.Is(serr, want) {
						t.Fatalf("server: %v, want %v", serr, want)
					}
				default:
					if !errors.Is(cerr, tc.wantClient) {
						t.Fatalf("client: %v, want %v", cerr, tc.wantClient)
					}
					if tc.err != nil && !errors.Is(cerr, tc.err) {
						t.Fatalf("client: %v does not wrap the hook's error", cerr)
					}
				}
			})
		}
	}
}

// handshakeAndPingPeer is handshakeAndPing that also records the common
// name of the client certificate the server saw.
func handshakeAndPingPeer(t *testing.T, client, server *Config, peer *string) (clientErr, serverErr error) {
	t.Helper()
	wrapped := server.Clone()
	wrapped.VerifyConnection = func(st ConnectionState) error {
		if len(st.PeerCertificates) > 0 {
			*peer = st.PeerCertificates[0].Subject.CommonName
		}
		return nil
	}
	return handshakeAndPing(t, client, wrapped)
}

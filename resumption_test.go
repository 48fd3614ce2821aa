package holdfast

import (
	"crypto/elliptic"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/tickets"
)

// dialResume runs one client connection against a server config and
// reports whether each side resumed.
func resumeOnce(t *testing.T, client func(net.Conn) (bool, error), srv *Config) (clientResumed, serverResumed bool) {
	t.Helper()
	cerr, serr := pair(t, func(c net.Conn) error {
		var err error
		clientResumed, err = client(c)
		return err
	}, func(c net.Conn) error {
		sv := Server(c, srv)
		defer sv.Close()
		if err := sv.Handshake(); err != nil {
			return err
		}
		serverResumed = sv.ConnectionState().DidResume
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
	return
}

func holdfastResumingClient(cfg *Config) func(net.Conn) (bool, error) {
	return func(c net.Conn) (bool, error) {
		cl := Client(c, cfg)
		defer cl.Close()
		if err := sendAndCheck(cl, []byte("resume me")); err != nil { // reads the tickets too
			return false, err
		}
		return cl.ConnectionState().DidResume, nil
	}
}

func stdResumingClient(cfg *tls.Config) func(net.Conn) (bool, error) {
	return func(c net.Conn) (bool, error) {
		cl := tls.Client(c, cfg)
		defer cl.Close()
		if err := sendAndCheck(cl, []byte("resume me")); err != nil {
			return false, err
		}
		return cl.ConnectionState().DidResume, nil
	}
}

func TestResumption13(t *testing.T) {
	pki := newTestPKI(t)
	ring, err := tickets.NewRotatingKeyRing(time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	server := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")}, TicketKeys: ring}

	t.Run("holdfast-client", func(t *testing.T) {
		cache := NewClientSessionCache(8)
		client := &Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: cache}
		if c, s := resumeOnce(t, holdfastResumingClient(client), server); c || s {
			t.Fatalf("first connection resumed (client %v, server %v)", c, s)
		}
		if cache.Len() != 2 {
			t.Fatalf("client cached %d tickets, want 2", cache.Len())
		}
		for i := range 3 { // each resumption brings new tickets
			if c, s := resumeOnce(t, holdfastResumingClient(client), server); !c || !s {
				t.Fatalf("resumption %d: client %v, server %v", i, c, s)
			}
		}
	})
	t.Run("crypto-tls-client", func(t *testing.T) {
		client := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: tls.NewLRUClientSessionCache(8)}
		resumeOnce(t, stdResumingClient(client), server)
		if c, s := resumeOnce(t, stdResumingClient(client), server); !c || !s {
			t.Fatalf("crypto/tls client: client %v, server %v", c, s)
		}
	})
	t.Run("crypto-tls-server", func(t *testing.T) {
		std := &tls.Config{Certificates: []tls.Certificate{toStd(server.Certificates[0])}}
		client := &Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: NewClientSessionCache(8)}
		run := func() bool {
			var resumed bool
			cerr, serr := pair(t, func(c net.Conn) error {
				var err error
				resumed, err = holdfastResumingClient(client)(c)
				return err
			}, func(c net.Conn) error {
				sv := tls.Server(c, std)
				defer sv.Close()
				return echoOnce(sv)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			return resumed
		}
		if run() {
			t.Fatal("first connection resumed")
		}
		if !run() {
			t.Fatal("holdfast client did not resume with crypto/tls")
		}
	})
	t.Run("hello-retry", func(t *testing.T) {
		cfg := &Config{Certificates: server.Certificates, TicketKeys: ring, CurvePreferences: []CurveID{CurveP384}}
		client := &Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: NewClientSessionCache(8),
			CurvePreferences: []CurveID{X25519, CurveP384}}
		resumeOnce(t, holdfastResumingClient(client), cfg)
		var hrr bool
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := Client(c, client)
			defer cl.Close()
			if err := sendAndCheck(cl, []byte("after HRR")); err != nil {
				return err
			}
			st := cl.ConnectionState()
			if !st.DidResume {
				t.Error("client did not resume after a HelloRetryRequest")
			}
			hrr = st.DidHelloRetry
			return nil
		}, func(c net.Conn) error {
			sv := Server(c, cfg)
			defer sv.Close()
			return echoOnce(sv)
		})
		if cerr != nil || serr != nil || !hrr {
			t.Fatalf("client %v, server %v, HelloRetryRequest %v", cerr, serr, hrr)
		}
	})
	t.Run("other-ticket-keys", func(t *testing.T) {
		cache := NewClientSessionCache(8)
		client := &Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: cache}
		resumeOnce(t, holdfastResumingClient(client), server)
		foreign, _ := tickets.NewRotatingKeyRing(time.Hour, 1)
		defer foreign.Close()
		other := &Config{Certificates: server.Certificates, TicketKeys: foreign}
		if c, s := resumeOnce(t, holdfastResumingClient(client), other); c || s {
			t.Fatal("a server with other ticket keys resumed")
		}
	})
}

// replayCache hands crypto/tls the first session it was given, every
// time, as a replaying client would.
type replayCache struct {
	mu sync.Mutex
	cs *tls.ClientSessionState
}

func (r *replayCache) Get(string) (*tls.ClientSessionState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cs, r.cs != nil
}

func (r *replayCache) Put(_ string, cs *tls.ClientSessionState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cs == nil {
		r.cs = cs
	}
}

func TestSingleUseTickets(t *testing.T) {
	pki := newTestPKI(t)
	for _, single := range []bool{false, true} {
		server := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")}, SingleUseTickets: single}
		client := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: &replayCache{}}
		resumeOnce(t, stdResumingClient(client), server)
		if c, _ := resumeOnce(t, stdResumingClient(client), server); !c {
			t.Fatal("first use of the ticket did not resume")
		}
		c, _ := resumeOnce(t, stdResumingClient(client), server)
		if c == single {
			t.Fatalf("SingleUseTickets %v: the replayed ticket resumed = %v", single, c)
		}
	}
}

func TestResumptionMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	server := &Config{Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")},
		ClientAuth: RequireAndVerifyClientCert, ClientCAs: pki.pool}
	client := &Config{RootCAs: pki.pool, ServerName: "server.test", ClientSessionCache: NewClientSessionCache(8),
		Certificates: []Certificate{pki.leaf(t, ecKey(t, elliptic.P256()), "client.test")}}
	resumeOnce(t, holdfastResumingClient(client), server)
	var peer string
	cerr, serr := pair(t, func(c net.Conn) error {
		_, err := holdfastResumingClient(client)(c)
		return err
	}, func(c net.Conn) error {
		sv := Server(c, server)
		defer sv.Close()
		if err := sv.Handshake(); err != nil {
			return err
		}
		st := sv.ConnectionState()
		if !st.DidResume || len(st.PeerCertificates) == 0 || len(st.VerifiedChains) == 0 {
			t.Errorf("resumed %v with %d peer certificates and %d chains", st.DidResume, len(st.PeerCertificates), len(st.VerifiedChains))
		} else {
			peer = st.PeerCertificates[0].Subject.CommonName
		}
		return echoOnce(sv)
	})
	if cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
	if peer != "client.test" {
		t.Fatalf("resumed session's client is %q", peer)
	}
}

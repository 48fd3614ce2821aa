package holdfast

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/swtpm"
	"github.com/holdfast-tls/holdfast/signer"
)

// The main job with the key in a TPM 2.0 (swtpm): a Holdfast server whose
// ECDSA or RSA key never leaves the TPM, serving TLS 1.3 and TLS 1.2 to
// crypto/tls and to openssl s_client.

// tpmTestKey is a key made in the TPM, opened through its key file, with
// a certificate from the test CA.
type tpmTestKey struct {
	name string
	key  signer.Key
	cert Certificate
	uri  string
}

// newTPMTestKey creates a key of the given algorithm in tp, writes its
// TSS2 key file (and the auth value's pin-source file, if auth is set),
// and opens it by URI.
func newTPMTestKey(t testing.TB, tp *swtpm.TPM, pki *testPKI, alg, auth string) *tpmTestKey {
	t.Helper()
	ctx := context.Background()
	kf, err := signer.CreateTPMKey(ctx, signer.TPMKeyOptions{Device: tp.Device(), Algorithm: alg, Auth: []byte(auth)})
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := kf.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, alg+".pem")
	if err := os.WriteFile(file, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	uri := "tpm2:file=" + file + "?device=" + tp.Device()
	if auth != "" {
		pin := filepath.Join(dir, alg+".pin")
		if err := os.WriteFile(pin, []byte(auth+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		uri += "&pin-source=file:" + pin
	}
	key, err := signer.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { key.Close() })
	return &tpmTestKey{name: alg, key: key, cert: pki.leaf(t, key, "server.test"), uri: uri}
}

func TestServerKeyInTPM(t *testing.T) {
	tp := swtpm.Start(t)
	pki := newTestPKI(t)
	keys := map[string]*tpmTestKey{}
	for _, k := range []struct{ alg, auth string }{{"ecdsa-p256", ""}, {"ecdsa-p384", "p384 secret"}, {"rsa2048", "rsa secret"}} {
		keys[k.alg] = newTPMTestKey(t, tp, pki, k.alg, k.auth)
	}
	caFile := writePEMFile(t, t.TempDir(), "ca.pem", "CERTIFICATE", pki.caCert.Raw)
	openssl := interopTool(t, "openssl", "openssl")
	cases := []struct {
		key     string
		vers    uint16
		suite   uint16 // TLS 1.2 only
		ossl    string // s_client -cipher for TLS 1.2
		sigType string // s_client's "Peer signature type:"
	}{
		{"ecdsa-p256", tls.VersionTLS13, 0, "", "ECDSA"},
		{"ecdsa-p384", tls.VersionTLS13, 0, "", "ECDSA"},
		{"rsa2048", tls.VersionTLS13, 0, "", "RSA-PSS"},
		{"ecdsa-p256", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDSA"},
		{"ecdsa-p384", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDSA"},
		{"rsa2048", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", "RSA-PSS"},
		// RSA key transport: the premaster secret is decrypted in the TPM.
		{"rsa2048", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", ""},
	}
	for _, c := range cases {
		k := keys[c.key]
		cfg := &Config{Certificates: []Certificate{k.cert}}
		if c.suite != 0 {
			cfg.CipherSuites = []uint16{c.suite}
		}
		name := c.key + "/" + tls.VersionName(c.vers)
		if c.suite != 0 {
			name += "/" + tls.CipherSuiteName(c.suite)
		}
		t.Run(name+"/crypto-tls", func(t *testing.T) {
			cerr, serr := pair(t, func(conn net.Conn) error {
				cc := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", MinVersion: c.vers, MaxVersion: c.vers}
				if c.suite != 0 {
					cc.CipherSuites = []uint16{c.suite}
				}
				cl := tls.Client(conn, cc)
				defer cl.Close()
				if err := sendAndCheck(cl, []byte("key in the TPM")); err != nil {
					return err
				}
				if st := cl.ConnectionState(); st.Version != c.vers || (c.suite != 0 && st.CipherSuite != c.suite) {
					t.Errorf("negotiated %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
				}
				return nil
			}, func(conn net.Conn) error {
				sv := Server(conn, cfg)
				defer sv.Close()
				return echoOnce(sv)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
		})
		t.Run(name+"/openssl", func(t *testing.T) {
			ln := interopListen(t)
			args := []string{"s_client", "-connect", ln.Addr().String(), "-CAfile", caFile,
				"-servername", "server.test", "-verify_hostname", "server.test", "-verify_return_error"}
			if c.vers == tls.VersionTLS13 {
				args = append(args, "-tls1_3")
			} else {
				args = append(args, "-tls1_2", "-cipher", c.ossl)
			}
			p := startPeer(t, openssl, args...)
			conn, err := interopAccept(t, ln, cfg, p)
			if err != nil {
				t.Fatalf("Holdfast server handshake: %v", err)
			}
			pingClient(t, conn, p, "ping through a TPM-held key")
			if c.sigType != "" {
				// s_client checked the CertificateVerify (TLS 1.3) or
				// ServerKeyExchange signature made in the TPM.
				p.requireOutput(t, "Peer signature type: "+c.sigType)
			}
		})
	}
}

// swtpm killed while a server runs: the handshakes that need the key end
// with an alert at the peer and an error naming the TPM at the server;
// once swtpm is back, the same key serves again without being reopened.
func TestServerTPMRestart(t *testing.T) {
	tp := swtpm.Start(t)
	pki := newTestPKI(t)
	k := newTPMTestKey(t, tp, pki, "ecdsa-p256", "restart secret")
	cfg := &Config{Certificates: []Certificate{k.cert}}
	handshake := func() (cerr, serr error) {
		return pair(t, func(conn net.Conn) error {
			cl := tls.Client(conn, &tls.Config{RootCAs: pki.pool, ServerName: "server.test"})
			defer cl.Close()
			return sendAndCheck(cl, []byte("ping"))
		}, func(conn net.Conn) error {
			sv := Server(conn, cfg)
			defer sv.Close()
			return echoOnce(sv)
		})
	}
	if cerr, serr := handshake(); cerr != nil || serr != nil {
		t.Fatalf("before the crash: client %v, server %v", cerr, serr)
	}
	tp.Stop()
	for range 2 {
		cerr, serr := handshake()
		if cerr == nil || !strings.Contains(cerr.Error(), "remote error: tls:") {
			t.Errorf("client with the TPM down: %v; want an alert from the server (server: %v)", cerr, serr)
		}
		if serr == nil || !strings.Contains(serr.Error(), "cannot reach the TPM") || !strings.Contains(serr.Error(), tp.Device()) {
			t.Errorf("server with the TPM down: %v; want an error naming the TPM", serr)
		}
		if serr != nil && strings.Contains(serr.Error(), "restart secret") {
			t.Errorf("the error shows the auth value: %v", serr)
		}
	}
	tp.Restart()
	if cerr, serr := handshake(); cerr != nil || serr != nil {
		t.Fatalf("after swtpm came back: client %v, server %v", cerr, serr)
	}

	// Killed mid-run: four clients handshake in a loop while swtpm dies
	// and comes back. Each handshake succeeds, or fails with an alert at
	// the client and ErrTPMUnavailable at the server; none hangs (pair's
	// deadlines); and after the restart they all succeed again.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				cerr, serr := handshake()
				if cerr == nil && serr == nil {
					continue
				}
				mu.Lock()
				failed++
				mu.Unlock()
				if !errors.Is(serr, signer.ErrTPMUnavailable) || cerr == nil || !strings.Contains(cerr.Error(), "remote error: tls:") {
					t.Errorf("handshake while swtpm died: client %v, server %v", cerr, serr)
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	tp.Stop()
	time.Sleep(200 * time.Millisecond)
	tp.Restart()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed == 0 {
		t.Error("no handshake failed while swtpm was down")
	}
	if cerr, serr := handshake(); cerr != nil || serr != nil {
		t.Fatalf("after the second restart: client %v, server %v", cerr, serr)
	}
	t.Logf("%d handshakes failed cleanly while swtpm was down", failed)
}

// BenchmarkTPM measures, in one run, signatures per second made by a key
// in swtpm and full TLS 1.3 handshakes per second with that key (Holdfast
// server, Holdfast client, X25519, AES-128-GCM, loopback TCP).
//
//	go test -run '^$' -bench TPM -benchtime 3s .
func BenchmarkTPM(b *testing.B) {
	tp := swtpm.Start(b)
	pki := newTestPKI(b)
	for _, alg := range []string{"ecdsa-p256", "rsa2048"} {
		k := newTPMTestKey(b, tp, pki, alg, "bench secret")
		e := newBenchEnds(b, k.key)
		e.hfServer.Certificates = []Certificate{k.cert}
		e.hfClient.RootCAs = pki.pool
		var opts crypto.SignerOpts = crypto.SHA256
		if alg == "rsa2048" {
			opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		}
		digest := sha256.Sum256([]byte("bench"))
		b.Run(alg+"/sign", func(b *testing.B) {
			for b.Loop() {
				if _, err := k.key.Sign(nil, digest[:], opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
		})
		b.Run(alg+"/handshake", func(b *testing.B) {
			benchHandshake(b, func(c net.Conn) handshaker { return Server(c, e.hfServer) },
				func(c net.Conn) handshaker { return Client(c, e.hfClient) })
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

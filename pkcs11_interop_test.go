//go:build cgo

package holdfast

import (
	"context"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/signer"
)

// hsmServerKeys opens the token's EC P-256, RSA-2048 and Ed25519 keys and
// returns them as server.test leaves under the interop fixture's CA.
func hsmServerKeys(t *testing.T, fx *interopFixture, tk *softhsm.Token) map[string]Certificate {
	t.Helper()
	out := map[string]Certificate{}
	for _, label := range []string{"ec-key", "rsa-key", "ed-key"} {
		k, err := signer.Open(context.Background(), tk.URI(label))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { k.Close() })
		out[label] = fx.pki.leaf(t, k, "server.test")
	}
	return out
}

// Servers whose keys sit in SoftHSM, against openssl s_client and
// gnutls-cli, TLS 1.3 and 1.2, ECDSA, RSA and Ed25519 (CKM_EDDSA); and a Holdfast client whose
// certificate key sits in SoftHSM against openssl s_server and crypto/tls
// requiring client certificates.
func TestPKCS11Interop(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"ec-key": "EC:prime256v1", "rsa-key": "rsa:2048", "ed-key": "EC:edwards25519"})
	o := newOpenSSLPeer(t)
	g := newGnuTLSPeer(t)
	fx := o.fx
	g.fx = fx
	keys := hsmServerKeys(t, fx, tk)
	for _, label := range []string{"ec-key", "rsa-key", "ed-key"} {
		cfg := &Config{Certificates: []Certificate{keys[label]}}
		t.Run("openssl-client/TLS1.3/"+label, func(t *testing.T) {
			ln := interopListen(t)
			p := o.client(t, ln.Addr().String(), fx.caFile)
			c, err := interopAccept(t, ln, cfg, p)
			if err != nil {
				t.Fatalf("Holdfast server handshake: %v", err)
			}
			pingClient(t, c, p, "TLS 1.3 with the key in SoftHSM")
		})
		t.Run("openssl-client/TLS1.2/"+label, func(t *testing.T) {
			ln := interopListen(t)
			p := o.client12(t, nil, ln.Addr().String())
			c, err := interopAccept(t, ln, cfg, p)
			if err != nil {
				t.Fatalf("Holdfast server handshake: %v", err)
			}
			if v := c.ConnectionState().Version; v != VersionTLS12 {
				t.Fatalf("version %#04x", v)
			}
			pingClient(t, c, p, "TLS 1.2 with the key in SoftHSM")
		})
		for _, vers := range []string{"TLS1.3", "TLS1.2"} {
			t.Run("gnutls-client/"+vers+"/"+label, func(t *testing.T) {
				ln := interopListen(t)
				prio := "NORMAL:-VERS-ALL:+VERS-" + vers
				p := g.client(t, ln.Addr().String(), fx.caFile, prio)
				c, err := interopAccept(t, ln, cfg, p)
				if err != nil {
					t.Fatalf("Holdfast server handshake: %v", err)
				}
				pingGnuTLSClient(t, c, p, "gnutls-cli "+vers+" with the key in SoftHSM")
				p.requireOutput(t, "- Status: The certificate is trusted.")
			})
		}
	}

	client := fx.pki.leaf(t, mustOpen(t, tk.URI("ec-key")), "client.test")
	for _, vers := range []string{"TLS1.3", "TLS1.2"} {
		t.Run("mutual-tls/openssl-server/"+vers, func(t *testing.T) {
			k := fx.keys[0]
			args := []string{"-cert", k.certFile, "-key", k.keyFile, "-Verify", "1", "-CAfile", fx.caFile, "-verify_return_error", "-rev"}
			var p *peerProc
			var addr string
			if vers == "TLS1.2" {
				p, addr = o.server12(t, nil, args...)
			} else {
				p, addr = o.server(t, args...)
			}
			cfg := o.clientConfig()
			cfg.Certificates = []Certificate{client}
			c, err := interopDial(t, addr, cfg)
			if err != nil {
				t.Fatalf("Holdfast client handshake: %v", err)
			}
			pingRev(t, c, "client key in SoftHSM")
			finishRev(t, c, p)
			p.requireOutput(t, "CN = client.test")
		})
	}
	for _, max := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run("mutual-tls/crypto-tls-server/"+tls.VersionName(max), func(t *testing.T) {
			cerr, serr := pair(t, func(c net.Conn) error {
				cl := Client(c, &Config{RootCAs: fx.pki.pool, ServerName: "server.test", Certificates: []Certificate{client}})
				defer cl.Close()
				return sendAndCheck(cl, []byte("client key in SoftHSM"))
			}, func(c net.Conn) error {
				sv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(fx.keys[0].cert)}, MaxVersion: max,
					ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: fx.pki.pool})
				defer sv.Close()
				return echoOnce(sv)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
		})
	}
}

// importablePEMKey writes a fresh P-256 key as PKCS#8 PEM, so that the
// same key can be put back on the token after it is deleted.
func importablePEMKey(t *testing.T) string {
	t.Helper()
	k := ecKey(t, elliptic.P256())
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return writePEMFile(t, t.TempDir(), "key.pem", "PRIVATE KEY", der)
}

func mustOpen(t *testing.T, uri string) signer.Key {
	t.Helper()
	k, err := signer.Open(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// Sixty-four handshakes at once against one token: none waits forever or
// fails for want of a session, and the pool stays within its bound.
func TestPKCS11ConcurrentHandshakes(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"ec-key": "EC:prime256v1", "rsa-key": "rsa:2048"})
	pki := newTestPKI(t)
	for _, label := range []string{"ec-key", "rsa-key"} {
		t.Run(label, func(t *testing.T) {
			key := mustOpen(t, tk.URI(label))
			cfg := &Config{Certificates: []Certificate{pki.leaf(t, key, "hsm.test")}}
			ln, err := Listen("tcp", "127.0.0.1:0", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						c.SetDeadline(time.Now().Add(30 * time.Second))
						echoOnce(c)
					}()
				}
			}()
			const n = 64
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					max := uint16(tls.VersionTLS13)
					if i%2 == 1 {
						max = tls.VersionTLS12
					}
					c, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", ln.Addr().String(),
						&tls.Config{RootCAs: pki.pool, ServerName: "hsm.test", MaxVersion: max})
					if err != nil {
						errs <- fmt.Errorf("handshake %d: %w", i, err)
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(30 * time.Second))
					if err := sendAndCheck(c, []byte("one of sixty-four")); err != nil {
						errs <- fmt.Errorf("connection %d: %w", i, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// The served key deleted from the token: the affected handshakes end with
// internal_error and an error naming the key, the server keeps serving its
// other key, and once the key is back it serves with it again.
func TestPKCS11ServerSurvivesKeyLoss(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"backup": "EC:prime256v1"})
	pemPath := importablePEMKey(t)
	softhsm.ImportKey(t, tk, "served", "0a", pemPath)
	pki := newTestPKI(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	served := pki.leaf(t, mustOpen(t, tk.URI("served")), "served.test")
	backup := pki.leaf(t, mustOpen(t, tk.URI("backup")), "backup.test")
	cfg := &Config{Certificates: []Certificate{served, backup}}
	handshake := func(name string) (error, error) {
		return pair(t, func(c net.Conn) error {
			cl := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: name})
			defer cl.Close()
			return sendAndCheck(cl, []byte("to "+name))
		}, func(c net.Conn) error {
			sv := Server(c, cfg)
			defer sv.Close()
			if err := sv.Handshake(); err != nil {
				log.Error("handshake failed", "err", err)
				return err
			}
			return echoOnce(sv)
		})
	}
	if cerr, serr := handshake("served.test"); cerr != nil || serr != nil {
		t.Fatalf("before: client %v, server %v", cerr, serr)
	}
	softhsm.DeleteKey(t, tk, "served")
	cerr, serr := handshake("served.test")
	if cerr == nil || !strings.Contains(cerr.Error(), "internal error") {
		t.Errorf("client of the lost key: %v, want an internal_error alert", cerr)
	}
	var ae *AlertError
	if !errors.As(serr, &ae) || ae.Alert != AlertInternalError || !strings.Contains(serr.Error(), "object=served") {
		t.Errorf("server: %v, want internal_error naming the key", serr)
	}
	if !strings.Contains(logs.String(), "object=served") {
		t.Errorf("the failure is not in the log:\n%s", logs.String())
	}
	if cerr, serr := handshake("backup.test"); cerr != nil || serr != nil {
		t.Fatalf("the other key while served is gone: client %v, server %v", cerr, serr)
	}
	softhsm.ImportKey(t, tk, "served", "0a", pemPath)
	if cerr, serr := handshake("served.test"); cerr != nil || serr != nil {
		t.Fatalf("after the key is back: client %v, server %v", cerr, serr)
	}
}

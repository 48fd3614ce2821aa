//go:build cgo

package holdfast

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
	"github.com/holdfast-tls/holdfast/signer"
)

// syncBuffer is a log sink shared by the handshakes of a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An RSA key whose CKA_ALLOWED_MECHANISMS leaves out CKM_RSA_PKCS_PSS cannot
// sign for TLS 1.3. The server must see that at Open, serve TLS 1.2 with
// PKCS #1 v1.5 to a peer that offers both versions (without the downgrade
// sentinel, which would make that peer abort), refuse a TLS 1.3-only peer
// with protocol_version and a reason, and say why in its log once.
func TestPKCS11KeyWithoutPSS(t *testing.T) {
	tk := softhsm.New(t, nil)
	softhsm.AddKey(t, tk, "rsa-nopss", "rsa:2048", "09", "--allowed-mechanisms", "RSA-PKCS")
	key, err := signer.Open(context.Background(), tk.URI("rsa-nopss"))
	if err != nil {
		t.Fatal(err)
	}
	defer key.Close()
	schemes := key.(signer.SchemeLimiter).SignatureSchemes()
	if slices.Contains(schemes, signer.RSAPSSRSAESHA256) || !slices.Contains(schemes, signer.RSAPKCS1SHA256) {
		t.Fatalf("key reports schemes %#04x; want PKCS #1 v1.5 and no PSS", schemes)
	}
	pki := newTestPKI(t)
	var logs syncBuffer
	cfg := &Config{
		Certificates: []Certificate{pki.leaf(t, key, "nopss.test")},
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
	}
	run := func(min uint16, cfg *Config) (ConnectionState, tls.ConnectionState, error, error) {
		var st ConnectionState
		var cst tls.ConnectionState
		cerr, serr := pair(t, func(c net.Conn) error {
			cl := tls.Client(c, &tls.Config{RootCAs: pki.pool, ServerName: "nopss.test", MinVersion: min})
			defer cl.Close()
			if err := cl.Handshake(); err != nil {
				return err
			}
			cst = cl.ConnectionState()
			return sendAndCheck(cl, []byte("pkcs1 only"))
		}, func(c net.Conn) error {
			sv := Server(c, cfg)
			defer sv.Close()
			if err := sv.Handshake(); err != nil {
				return err
			}
			st = sv.ConnectionState()
			return echoOnce(sv)
		})
		return st, cst, cerr, serr
	}

	for i := range 2 {
		st, cst, cerr, serr := run(tls.VersionTLS12, cfg)
		if cerr != nil || serr != nil {
			t.Fatalf("peer offering TLS 1.2 and 1.3: client %v, server %v", cerr, serr)
		}
		if st.Version != VersionTLS12 || cst.Version != tls.VersionTLS12 {
			t.Fatalf("handshake %d: version %#04x, want TLS 1.2", i, st.Version)
		}
	}
	_, _, cerr, serr := run(tls.VersionTLS13, cfg)
	if cerr == nil || !strings.Contains(cerr.Error(), "protocol version") {
		t.Errorf("TLS 1.3-only client: got %v, want a protocol_version alert", cerr)
	}
	if !errors.Is(serr, AlertProtocolVersion) || !strings.Contains(serr.Error(), "TLS 1.3 signature") {
		t.Errorf("server error %v: want protocol_version saying the key cannot sign for TLS 1.3", serr)
	}
	if n := strings.Count(logs.String(), "TLS 1.3 signature"); n != 1 {
		t.Errorf("log has %d explanations, want exactly 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "CKA_ALLOWED_MECHANISMS") && !strings.Contains(logs.String(), "rsa_pkcs1") {
		t.Errorf("log does not say what the key can do:\n%s", logs.String())
	}

	// A configuration that allows only TLS 1.3 cannot be served with this
	// key at all: refused before any handshake starts.
	only13 := &Config{Certificates: cfg.Certificates, MinVersion: VersionTLS13}
	_, _, _, serr = run(tls.VersionTLS13, only13)
	if !errors.Is(serr, ErrNoTLS13Signature) {
		t.Errorf("TLS 1.3-only server with a PKCS #1-only key: got %v, want ErrNoTLS13Signature", serr)
	}
}

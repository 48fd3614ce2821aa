package holdfast

import (
	"bytes"
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"net"
	"testing"
)

// Keying material exported on both ends of a connection with crypto/tls
// agrees, in TLS 1.3 and TLS 1.2, with and without a context.
func TestExportKeyingMaterialMatchesCryptoTLS(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		for _, ctx := range [][]byte{nil, {}, []byte("context value")} {
			var ours, theirs []byte
			cerr, serr := pair(t, func(c net.Conn) error {
				cl := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: v})
				defer cl.Close()
				if err := sendAndCheck(cl, []byte("x")); err != nil {
					return err
				}
				var err error
				ours, err = cl.ExportKeyingMaterial("EXPORTER-holdfast-test", ctx, 42)
				return err
			}, func(c net.Conn) error {
				s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, MaxVersion: v})
				defer s.Close()
				if err := echoOnce(s); err != nil {
					return err
				}
				st := s.ConnectionState()
				var err error
				theirs, err = st.ExportKeyingMaterial("EXPORTER-holdfast-test", ctx, 42)
				return err
			})
			if cerr != nil || serr != nil {
				t.Fatalf("version %#04x: client %v, server %v", v, cerr, serr)
			}
			if len(ours) != 42 || !bytes.Equal(ours, theirs) {
				t.Fatalf("version %#04x, context %q: exported %x, crypto/tls %x", v, ctx, ours, theirs)
			}
		}
	}
}

func TestExportRefusesReservedLabels(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	cerr, _ := pair(t, func(c net.Conn) error {
		cl := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test"})
		defer cl.Close()
		if _, err := cl.ExportKeyingMaterial("master secret", nil, 32); !errors.Is(err, ErrExportLabel) {
			return errors.New("reserved label accepted")
		}
		return nil
	}, func(c net.Conn) error {
		return Server(c, &Config{Certificates: []Certificate{cert}}).Handshake()
	})
	if cerr != nil {
		t.Fatal(cerr)
	}
}

// Command shim is Holdfast's BoGo shim: the program BoringSSL's test runner
// (ssl/test/runner) starts once per test, configuring it by command-line
// flags. The shim connects back to the runner, sends its shim ID, runs a
// TLS handshake as client or server with Holdfast's public API, checks what
// the flags ask it to expect, and then echoes application data (each byte
// inverted) until the runner closes the connection.
//
// Exit codes follow the runner: 0 for success, 1 for a failed connection
// or a failed expectation (the reason on stderr), and 89 when the test
// needs a flag this shim does not implement, which the runner reports as
// unimplemented. No flag is ever ignored: see known in flags.go for the
// implemented ones and docs/CONFORMANCE.md for how to run the runner.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/holdfast-tls/holdfast"
)

const (
	exitFailure       = 1
	exitUnimplemented = 89
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if _, ok := errors.AsType[*errUnimplemented](err); ok {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(exitUnimplemented)
		}
		fmt.Fprintf(os.Stderr, "holdfast shim: %v\n", err)
		os.Exit(exitFailure)
	}
}

func run(args []string) error {
	cl, err := parseFlags(args)
	if err != nil {
		return err
	}
	if cl.initial.bools["-is-handshaker-supported"] {
		// No split handshakes: Holdfast has no handoff/handback API.
		fmt.Println("No")
		return nil
	}
	return runConnections(cl)
}

// test is one configuration of the shim (the initial or the resumption
// one) and the state of the connection it is making.
type test struct {
	f      *flags
	sh     *shared
	server bool
	config *holdfast.Config
	async  bool

	// Per connection, reset by connect.
	isResume     bool
	cacheBase    int  // client: tickets in the cache once this connection took its own
	verifyCalled bool // the certificate callback ran in this connection
	verifyFailed bool // and -verify-fail made it refuse
	// selected is the index of the credential whose key this connection
	// used (-1: the one given without -new-x509-credential), noSelection
	// if none.
	selected atomic.Int64
}

const noSelection = -2

// connect dials the runner, identifies itself with the shim ID (eight
// bytes, little-endian) and runs the exchange.
func (t *test) connect() error {
	host := "127.0.0.1"
	t.verifyCalled, t.verifyFailed = false, false
	t.selected.Store(noSelection)
	if !t.server {
		// The ClientHello takes the newest ticket for the server name, if
		// any, out of the cache: what is left is the base against which
		// newly cached sessions are counted.
		n := t.sh.cache.Len()
		if t.isResume && n == 0 {
			return errors.New("no session to offer")
		}
		t.cacheBase = n - min(n, 1)
	}
	if t.f.bools["-ipv6"] {
		host = "::1"
	}
	port, ok := t.f.strings["-port"]
	if !ok {
		return errors.New("-port is required")
	}
	raw, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 30*time.Second)
	if err != nil {
		return err
	}
	defer raw.Close()
	var id [8]byte
	binary.LittleEndian.PutUint64(id[:], uint64(t.f.ints["-shim-id"]))
	if _, err := raw.Write(id[:]); err != nil {
		return err
	}
	var transport net.Conn = raw
	if t.async {
		transport = trickleConn{raw}
	}
	var conn *holdfast.Conn
	if t.server {
		conn = holdfast.Server(transport, t.config)
	} else {
		conn = holdfast.Client(transport, t.config)
	}
	if err := t.exchange(conn); err != nil {
		orderlyShutdown(raw)
		return err
	}
	return nil
}

// orderlyShutdown half-closes the socket and drains what the runner still
// sends, so that the runner reads the alert Holdfast sent for the failure
// instead of a connection reset.
func orderlyShutdown(raw net.Conn) {
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, raw)
}

// exchange runs the handshake (unless -implicit-handshake leaves it to the
// first Read or Write), checks the expectations, performs what the flags
// ask (exporter output, the initial write) and echoes the runner's data
// inverted until it closes.
func (t *test) exchange(conn *holdfast.Conn) error {
	f := t.f
	checked := false
	check := func() error {
		if checked {
			return nil
		}
		checked = true
		return t.checkHandshake(conn)
	}
	if !f.bools["-implicit-handshake"] {
		if err := conn.Handshake(); err != nil {
			return err
		}
		if err := check(); err != nil {
			return err
		}
		if f.bools["-handshake-twice"] || f.bools["-no-op-extra-handshake"] {
			if err := conn.Handshake(); err != nil {
				return fmt.Errorf("second Handshake call: %w", err)
			}
		}
	}
	if n, ok := f.ints["-export-keying-material"]; ok {
		var context []byte
		if f.bools["-use-export-context"] {
			context = []byte(f.strings["-export-context"])
		}
		km, err := conn.ExportKeyingMaterial(f.strings["-export-label"], context, int(n))
		if err != nil {
			return fmt.Errorf("exporting keying material: %w", err)
		}
		if err := check(); err != nil {
			return err
		}
		if _, err := conn.Write(km); err != nil {
			return err
		}
	}
	if f.bools["-shim-writes-first"] {
		if _, err := conn.Write([]byte("hello")); err != nil {
			return err
		}
		if err := check(); err != nil {
			return err
		}
	}
	if f.bools["-shim-shuts-down"] {
		if err := conn.CloseWrite(); err != nil {
			return err
		}
		if f.bools["-check-close-notify"] {
			var one [1]byte
			if n, err := conn.Read(one[:]); err != io.EOF {
				return fmt.Errorf("waiting for the runner's close_notify: read %d bytes, %v", n, err)
			}
		}
		return conn.Close()
	}
	size := 512
	if n, ok := f.ints["-read-size"]; ok && n > 0 {
		size = int(n)
	}
	buf := make([]byte, size)
	for {
		if f.bools["-key-update-before-read"] {
			if err := conn.KeyUpdate(false); err != nil {
				return fmt.Errorf("KeyUpdate before read: %w", err)
			}
		}
		n, err := conn.Read(buf)
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && n == 0 {
			// The runner closed the socket without close_notify: like
			// BoringSSL's shim, stop reading and fail the shutdown.
			return fmt.Errorf("unclean shutdown: %w", err)
		}
		if err != nil {
			return err
		}
		if err := check(); err != nil {
			return err
		}
		if f.bools["-key-update"] {
			if err := conn.KeyUpdate(false); err != nil {
				return fmt.Errorf("KeyUpdate: %w", err)
			}
		}
		for i := range buf[:n] {
			buf[i] ^= 0xff
		}
		if _, err := conn.Write(buf[:n]); err != nil {
			return err
		}
	}
	if err := check(); err != nil {
		return err
	}
	if err := t.checkTickets(conn); err != nil {
		return err
	}
	return conn.Close()
}

// checkHandshake checks the -expect-* flags against the completed
// handshake.
func (t *test) checkHandshake(conn *holdfast.Conn) error {
	f := t.f
	st := conn.ConnectionState()
	if !st.HandshakeComplete {
		return errors.New("handshake was not completed")
	}
	if v, ok := f.ints["-expect-version"]; ok && uint16(v) != st.Version {
		return fmt.Errorf("want version %04x, got %04x", v, st.Version)
	}
	if c, ok := f.ints["-expect-curve-id"]; ok && holdfast.CurveID(c) != st.CurveID {
		return fmt.Errorf("want group %d, got %d", c, st.CurveID)
	}
	if p, ok := f.strings["-expect-alpn"]; ok && p != st.NegotiatedProtocol {
		return fmt.Errorf("want ALPN %q, got %q", p, st.NegotiatedProtocol)
	}
	if f.has("-select-alpn") && f.strings["-select-alpn"] != st.NegotiatedProtocol {
		return fmt.Errorf("selected ALPN %q, negotiated %q", f.strings["-select-alpn"], st.NegotiatedProtocol)
	}
	if f.bools["-decline-alpn"] && st.NegotiatedProtocol != "" {
		return fmt.Errorf("ALPN declined, but %q negotiated", st.NegotiatedProtocol)
	}
	if n, ok := f.strings["-expect-server-name"]; ok && n != st.ServerName {
		return fmt.Errorf("want server name %q, got %q", n, st.ServerName)
	}
	if f.bools["-expect-hrr"] && !st.DidHelloRetry {
		return errors.New("expected a HelloRetryRequest")
	}
	if f.bools["-expect-no-hrr"] && st.DidHelloRetry {
		return errors.New("unexpected HelloRetryRequest")
	}
	// A resumed connection uses no credential.
	if want, ok := f.ints["-expect-selected-credential"]; ok && !t.isResume && want != t.selected.Load() {
		return fmt.Errorf("want credential %d selected, got %d", want, t.selected.Load())
	}
	if s, ok := f.ints["-expect-peer-signature-algorithm"]; ok && uint16(s) != st.PeerSignatureScheme {
		return fmt.Errorf("want peer signature scheme %#04x, got %#04x", s, st.PeerSignatureScheme)
	}
	if r, ok := f.strings["-expect-ocsp-response"]; ok && r != string(st.OCSPResponse) {
		return fmt.Errorf("want OCSP response %x, got %x", r, st.OCSPResponse)
	}
	if err := t.checkSession(st); err != nil {
		return err
	}
	// Holdfast's TLS 1.2 refuses a handshake without the extended master
	// secret (RFC 7627 §5.2), and BoringSSL reports it as present in TLS
	// 1.3, so a completed handshake has it in both versions.
	if f.bools["-expect-extended-master-secret"] && st.Version != holdfast.VersionTLS12 && st.Version != holdfast.VersionTLS13 {
		return fmt.Errorf("version %04x has no extended master secret", st.Version)
	}
	if path, ok := f.strings["-expect-peer-cert-file"]; ok {
		want, err := loadChain(path)
		if err != nil {
			return err
		}
		if len(want) != len(st.PeerCertificates) {
			return fmt.Errorf("peer sent %d certificates, want %d", len(st.PeerCertificates), len(want))
		}
		for i, c := range st.PeerCertificates {
			if string(c.Raw) != string(want[i]) {
				return fmt.Errorf("peer certificate %d differs from %s", i, path)
			}
		}
	}
	return nil
}

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
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/holdfast-tls/holdfast/tls12"
)

// interop12Suite is a TLS 1.2 cipher suite with its name for each peer.
type interop12Suite struct {
	id      uint16
	name    string // IANA, as CipherSuiteName has it
	rsa     bool   // an RSA-2048 server certificate; otherwise ECDSA P-256
	cbc     bool   // CBC record protection: the case is gated by requireCBC
	openssl string // -cipher
	// GnuTLS priority keywords for the suite's cipher, MAC and key
	// exchange.
	gnutlsCipher, gnutlsMAC, gnutlsKX string
}

var interop12Suites = []interop12Suite{
	{0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", false, false, "ECDHE-ECDSA-AES128-GCM-SHA256", "AES-128-GCM", "AEAD", "ECDHE-ECDSA"},
	{0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", false, false, "ECDHE-ECDSA-AES256-GCM-SHA384", "AES-256-GCM", "AEAD", "ECDHE-ECDSA"},
	{0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", false, false, "ECDHE-ECDSA-CHACHA20-POLY1305", "CHACHA20-POLY1305", "AEAD", "ECDHE-ECDSA"},
	{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", true, false, "ECDHE-RSA-AES128-GCM-SHA256", "AES-128-GCM", "AEAD", "ECDHE-RSA"},
	{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", true, false, "ECDHE-RSA-AES256-GCM-SHA384", "AES-256-GCM", "AEAD", "ECDHE-RSA"},
	{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", true, false, "ECDHE-RSA-CHACHA20-POLY1305", "CHACHA20-POLY1305", "AEAD", "ECDHE-RSA"},
	{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", true, false, "AES128-GCM-SHA256", "AES-128-GCM", "AEAD", "RSA"},
	{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", true, true, "AES128-SHA", "AES-128-CBC", "SHA1", "RSA"},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", true, true, "AES256-SHA", "AES-256-CBC", "SHA1", "RSA"},
}

// interop12SeedSuite is the seed's suite, TLS_RSA_WITH_AES_128_CBC_SHA.
const interop12SeedSuite uint16 = 0x002f

// TLS extension types the tests look for (RFC 7627, RFC 5746).
const (
	extExtendedMasterSecret uint16 = 23
	extRenegotiationInfo    uint16 = 0xff01
	scsvEmptyRenegotiation  uint16 = 0x00ff // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
)

// gnutlsTLS12 restricts GnuTLS to TLS 1.2 in a priority string.
const gnutlsTLS12 = "NORMAL:-VERS-ALL:+VERS-TLS1.2"

// gnutlsPriority12 is a TLS 1.2-only priority string limited to the suite.
func (s interop12Suite) gnutlsPriority12() string {
	return gnutlsTLS12 + ":-CIPHER-ALL:+" + s.gnutlsCipher + ":-MAC-ALL:+" + s.gnutlsMAC + ":-KX-ALL:+" + s.gnutlsKX
}

// keyTransport reports RSA key transport: no ECDHE group.
func (s interop12Suite) keyTransport() bool { return s.gnutlsKX == "RSA" }

// interop12SuiteByID returns the table's row for a suite.
func interop12SuiteByID(t *testing.T, id uint16) interop12Suite {
	t.Helper()
	for _, s := range interop12Suites {
		if s.id == id {
			return s
		}
	}
	t.Fatalf("suite %#04x is not in the TLS 1.2 interop table", id)
	return interop12Suite{}
}

// interop12Fixture is the interop fixture with the server leaf for each
// TLS 1.2 key exchange.
type interop12Fixture struct {
	*interopFixture
	ecdsa *interopKey // ECDHE_ECDSA: the fixture's ECDSA P-256 leaf
	rsa   *interopKey // ECDHE_RSA: the fixture's RSA-2048 leaf (digitalSignature)
	rsaKT *interopKey // RSA key transport: an RSA-2048 leaf with keyEncipherment
}

func newInterop12Fixture(t *testing.T, fx *interopFixture) *interop12Fixture {
	t.Helper()
	f := &interop12Fixture{interopFixture: fx}
	for _, k := range fx.keys {
		switch k.name {
		case "ECDSA-P256":
			f.ecdsa = k
		case "RSA-2048":
			f.rsa = k
		}
	}
	if f.ecdsa == nil || f.rsa == nil {
		t.Fatal("the interop fixture lacks its ECDSA-P256 or RSA-2048 server leaf")
	}
	f.rsaKT = rsaKeyTransportLeaf(t, fx)
	return f
}

// rsaKeyTransportLeaf is an RSA-2048 server.test leaf whose key usage
// allows keyEncipherment. RSA key transport encrypts the premaster secret
// to the server's key, which the certificate must allow (RFC 5246
// §7.4.2); GnuTLS enforces this ("Key usage violation in certificate has
// been detected"), and the fixture's leaves allow only digitalSignature.
func rsaKeyTransportLeaf(t *testing.T, fx *interopFixture) *interopKey {
	t.Helper()
	key := rsaKey(t)
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "server.test"},
		DNSNames:     []string{"server.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, fx.pki.caCert, key.Public(), fx.pki.caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	c := writeInteropCert(t, t.TempDir(), "server-rsa-key-transport", Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf})
	return &interopKey{name: "RSA-2048-keyEncipherment", interopCert: c, alg: x509.RSA}
}

// key is the server leaf for the suite's key exchange.
func (f *interop12Fixture) key(s interop12Suite) *interopKey {
	switch {
	case !s.rsa:
		return f.ecdsa
	case s.gnutlsKX == "RSA":
		return f.rsaKT
	}
	return f.rsa
}

// gate skips a CBC case while Holdfast cannot do CBC.
func (s interop12Suite) gate(t *testing.T) {
	t.Helper()
	if s.cbc {
		requireCBC(t)
	}
}

// The suite table must follow what Holdfast implements: a suite added to
// tls12.AllSuites needs its peer names here.
func TestInterop12SuiteTable(t *testing.T) {
	var ids []uint16
	for _, s := range interop12Suites {
		ids = append(ids, s.id)
		impl, ok := tls12.SuiteByID(s.id)
		if !ok {
			t.Errorf("%#04x (%s) is in the interop table but not in tls12", s.id, s.name)
			continue
		}
		if got := CipherSuiteName(s.id); got != s.name {
			t.Errorf("%#04x is %s in the interop table, %s in Holdfast", s.id, s.name, got)
		}
		if cbc := impl.AEAD == 0; cbc != s.cbc {
			t.Errorf("%s: interop table says CBC %v, tls12 says %v", s.name, s.cbc, cbc)
		}
		if rsa := impl.KX != tls12.ECDHE_ECDSA; rsa != s.rsa {
			t.Errorf("%s: interop table says RSA certificate %v, tls12 key exchange %v", s.name, s.rsa, impl.KX)
		}
		if kt := impl.KX == tls12.RSA; kt != s.keyTransport() {
			t.Errorf("%s: interop table says RSA key transport %v, tls12 key exchange %v", s.name, s.keyTransport(), impl.KX)
		}
	}
	want := slices.Sorted(slices.Values(tls12.AllSuites))
	if got := slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
		t.Errorf("interop table suites %#04x, tls12.AllSuites %#04x", got, want)
	}
}

// cbcProbe remembers whether Holdfast can do CBC record protection: it
// does not change while the test binary runs.
var cbcProbe struct {
	once                 sync.Once
	clientErr, serverErr error
}

// requireCBC skips the test while CBC record protection is not built:
// a quick Holdfast↔Holdfast TLS_RSA_WITH_AES_128_CBC_SHA handshake fails
// with "not built yet". Once CBC lands, the CBC cases run by themselves;
// a probe failing any other way does not skip, so that the interop case
// shows what is wrong.
func requireCBC(t *testing.T) {
	t.Helper()
	cbcProbe.once.Do(func() {
		pki := newTestPKI(t)
		cert := pki.leaf(t, rsaKey(t), "server.test")
		cbcProbe.clientErr, cbcProbe.serverErr = pair(t, func(c net.Conn) error {
			cl := Client(c, &Config{RootCAs: pki.pool, ServerName: "server.test", MaxVersion: VersionTLS12,
				CipherSuites: []uint16{interop12SeedSuite}})
			defer cl.Close()
			return sendAndCheck(cl, []byte("CBC probe"))
		}, func(c net.Conn) error {
			sv := Server(c, &Config{Certificates: []Certificate{cert}, CipherSuites: []uint16{interop12SeedSuite}})
			defer sv.Close()
			return echoOnce(sv)
		})
	})
	cerr, serr := cbcProbe.clientErr, cbcProbe.serverErr
	for _, err := range []error{cerr, serr} {
		if err != nil && strings.Contains(err.Error(), "not built yet") {
			t.Skip("CBC record protection is not built yet (issue 4, docs/STATUS.md)")
		}
	}
	if cerr != nil || serr != nil {
		t.Logf("Holdfast↔Holdfast CBC probe failed (client: %v; server: %v); running the interop case anyway", cerr, serr)
	}
}

// checkNegotiated12 fails the test unless the connection negotiated
// TLS 1.2 with the suite, and reports an ECDHE group exactly when the
// suite has ECDHE.
func checkNegotiated12(t *testing.T, c *Conn, s interop12Suite) ConnectionState {
	t.Helper()
	st := c.ConnectionState()
	if !st.HandshakeComplete || st.Version != VersionTLS12 || st.CipherSuite != s.id {
		t.Fatalf("Holdfast negotiated version %#04x, %s; want TLS 1.2 (0x0303), %s",
			st.Version, CipherSuiteName(st.CipherSuite), s.name)
	}
	if ecdhe := !s.keyTransport(); ecdhe != (st.CurveID != 0) {
		t.Errorf("Holdfast reports group %v for %s", st.CurveID, s.name)
	}
	return st
}

// checkVerifiedServer fails the test unless the Holdfast client verified
// the server leaf k.
func checkVerifiedServer(t *testing.T, st ConnectionState, k *interopKey) {
	t.Helper()
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 || !bytes.Equal(st.PeerCertificates[0].Raw, k.cert.Certificate[0]) {
		t.Fatalf("Holdfast client: %d verified chains, peer %v; want the %s server.test leaf verified", len(st.VerifiedChains), st.PeerCertificates, k.name)
	}
}

// checkVerifiedClient fails the test unless the Holdfast server verified
// the client leaf cc.
func checkVerifiedClient(t *testing.T, st ConnectionState, cc interopCert) {
	t.Helper()
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 || !bytes.Equal(st.PeerCertificates[0].Raw, cc.cert.Certificate[0]) {
		t.Fatalf("Holdfast server: %d verified chains, peer %v; want the client.test leaf verified", len(st.VerifiedChains), st.PeerCertificates)
	}
}

// start12 runs openssl with extra environment variables, if any, through
// env(1), which execs openssl in its place: the process startPeer stops
// is openssl itself.
func (o *opensslPeer) start12(t *testing.T, env []string, args ...string) *peerProc {
	t.Helper()
	if len(env) == 0 {
		return startPeer(t, o.bin, args...)
	}
	return startPeer(t, interopTool(t, "env", "coreutils"), slices.Concat(env, []string{o.bin}, args)...)
}

// server12 starts s_server for a single TLS 1.2 connection and returns it
// with the address it listens on.
func (o *opensslPeer) server12(t *testing.T, env []string, args ...string) (*peerProc, string) {
	t.Helper()
	p := o.start12(t, env, append([]string{"s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_2"}, args...)...)
	var addr string
	p.waitFor(t, "its ACCEPT line", func(stdout, _ string) bool {
		if m := opensslAcceptRE.FindStringSubmatch(stdout); m != nil {
			addr = m[1]
			return true
		}
		return false
	})
	return p, addr
}

// client12 starts s_client for TLS 1.2 against addr, verifying
// server.test against the test CA and failing on a verification error.
func (o *opensslPeer) client12(t *testing.T, env []string, addr string, args ...string) *peerProc {
	t.Helper()
	return o.start12(t, env, append([]string{"s_client", "-connect", addr, "-tls1_2",
		"-CAfile", o.fx.caFile, "-servername", "server.test", "-verify_hostname", "server.test", "-verify_return_error"}, args...)...)
}

// opensslNoEMS is the environment that makes openssl leave out
// extended_master_secret: OpenSSL 3.0's s_client and s_server have no
// flag for it, but the SSL_CONF Options command -ExtendedMasterSecret
// (SSL_OP_NO_EXTENDED_MASTER_SECRET) in the system_default section of a
// config file applies to every SSL_CTX the tool makes.
func opensslNoEMS(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "no-ems.cnf")
	conf := `openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = -ExtendedMasterSecret
`
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"OPENSSL_CONF=" + path}
}

// opensslHandshakeRE matches a handshake message in openssl's -msg trace
// with its hex dump.
var opensslHandshakeRE = regexp.MustCompile(`(?m)^(<<<|>>>) TLS 1\.[23], Handshake \[length [0-9a-f]{4}\], (\w+)\n((?:    [0-9a-f]{2}(?: [0-9a-f]{2})*\n)+)`)

// opensslMessages returns the handshake messages named name (ServerHello,
// ClientHello…) that openssl logged with -msg in msgFile going in dir
// (">>>" sent, "<<<" received), decoded, in order.
func opensslMessages(t *testing.T, msgFile, dir, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(msgFile)
	if err != nil {
		t.Fatalf("reading openssl's -msg trace: %v", err)
	}
	var msgs [][]byte
	for _, m := range opensslHandshakeRE.FindAllStringSubmatch(string(b), -1) {
		if m[1] != dir || m[2] != name {
			continue
		}
		raw, err := hex.DecodeString(strings.Join(strings.Fields(m[3]), ""))
		if err != nil {
			t.Fatalf("openssl -msg hex dump of %s: %v\n%s", name, err, m[3])
		}
		msgs = append(msgs, raw)
	}
	return msgs
}

// opensslMsgTrace is openssl's -msg trace, for failure messages.
func opensslMsgTrace(msgFile string) string {
	b, err := os.ReadFile(msgFile)
	if err != nil {
		return fmt.Sprintf("(no -msg trace: %v)", err)
	}
	return string(b)
}

// opensslAlertRE matches an alert in openssl's -msg trace.
var opensslAlertRE = regexp.MustCompile(`(?m)^(<<<|>>>) TLS 1\.[23], Alert \[length 0002\], (\w+ \w+)$`)

// opensslAlerts returns the alerts openssl logged with -msg going in dir
// (">>>" sent, "<<<" received) as "level description", in order.
func opensslAlerts(t *testing.T, msgFile, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(msgFile)
	if err != nil {
		t.Fatalf("reading openssl's -msg trace: %v", err)
	}
	var alerts []string
	for _, m := range opensslAlertRE.FindAllStringSubmatch(string(b), -1) {
		if m[1] == dir {
			alerts = append(alerts, m[2])
		}
	}
	return alerts
}

// checkOpenSSLAlerts fails the test unless openssl sent and received
// exactly the alerts given.
func checkOpenSSLAlerts(t *testing.T, msgFile string, sent, received []string) {
	t.Helper()
	if s, r := opensslAlerts(t, msgFile, ">>>"), opensslAlerts(t, msgFile, "<<<"); !slices.Equal(s, sent) || !slices.Equal(r, received) {
		t.Errorf("openssl sent alerts %q and received %q, want %q and %q; -msg trace:\n%s", s, r, sent, received, opensslMsgTrace(msgFile))
	}
}

// hello12 is what the tests read from a ClientHello or ServerHello,
// parsed independently of Holdfast's own parser.
type hello12 struct {
	random     []byte
	suites     []uint16          // offered (ClientHello) or chosen (ServerHello)
	extensions map[uint16][]byte // type → body
}

// parseHello12 parses a ClientHello or ServerHello handshake message with
// its 4-byte header (RFC 5246 §7.4.1).
func parseHello12(msg []byte) (*hello12, error) {
	s := cryptobyte.String(msg)
	var typ uint8
	var body cryptobyte.String
	if !s.ReadUint8(&typ) || (typ != 1 && typ != 2) || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		return nil, errors.New("not a single ClientHello or ServerHello")
	}
	h := &hello12{extensions: map[uint16][]byte{}}
	var vers uint16
	var sid cryptobyte.String
	if !body.ReadUint16(&vers) || !body.ReadBytes(&h.random, 32) || !body.ReadUint8LengthPrefixed(&sid) {
		return nil, errors.New("truncated hello")
	}
	if typ == 1 {
		var suites, comp cryptobyte.String
		if !body.ReadUint16LengthPrefixed(&suites) || !body.ReadUint8LengthPrefixed(&comp) {
			return nil, errors.New("truncated ClientHello")
		}
		for !suites.Empty() {
			var id uint16
			if !suites.ReadUint16(&id) {
				return nil, errors.New("odd cipher_suites length")
			}
			h.suites = append(h.suites, id)
		}
	} else {
		var id uint16
		var comp uint8
		if !body.ReadUint16(&id) || !body.ReadUint8(&comp) {
			return nil, errors.New("truncated ServerHello")
		}
		h.suites = []uint16{id}
	}
	if body.Empty() {
		return h, nil
	}
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return nil, errors.New("bad extensions block")
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, errors.New("truncated extension")
		}
		if _, dup := h.extensions[typ]; dup {
			return nil, fmt.Errorf("extension %d twice", typ)
		}
		h.extensions[typ] = data
	}
	return h, nil
}

// opensslHello returns the only hello of the kind named that openssl
// logged going in dir, parsed.
func opensslHello(t *testing.T, msgFile, dir, name string) *hello12 {
	t.Helper()
	msgs := opensslMessages(t, msgFile, dir, name)
	if len(msgs) != 1 {
		t.Fatalf("openssl's -msg trace has %d %s %s, want 1:\n%s", len(msgs), dir, name, opensslMsgTrace(msgFile))
	}
	h, err := parseHello12(msgs[0])
	if err != nil {
		t.Fatalf("parsing the %s in openssl's -msg trace: %v\n%x", name, err, msgs[0])
	}
	return h
}

// downgradeSentinel12 ends the ServerHello.random of a server that could
// have negotiated TLS 1.3 but negotiates TLS 1.2 (RFC 8446 §4.1.3).
var downgradeSentinel12 = []byte{0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01} // "DOWNGRD\x01"

// gnutlsAlertRE matches an alert received in a GnuTLS tool's debug log
// (-d 5) with its level and description.
var gnutlsAlertRE = regexp.MustCompile(`Alert\[(\d\|\d+)\] - [^\n]* - was received`)

// gnutlsOptions checks the "- Options:" line of a GnuTLS tool's session
// description for extended master secret and safe renegotiation.
func gnutlsOptions(t *testing.T, p *peerProc) {
	t.Helper()
	for line := range strings.Lines(p.stdout.String()) {
		if strings.HasPrefix(line, "- Options:") {
			if !strings.Contains(line, "extended master secret") || !strings.Contains(line, "safe renegotiation") {
				t.Errorf("%s: session %q, want extended master secret and safe renegotiation", p.cmdline(), strings.TrimSpace(line))
			}
			return
		}
	}
	t.Errorf("%s: no \"- Options:\" line in its session description", p.cmdline())
}

// bulkLine is a line longer than a TLS record (2^14 bytes): it crosses
// record boundaries both ways.
var bulkLine = strings.Repeat("0123456789abcdef", 1300)

// bulkLines are lines that together span two records when written at
// once, and that s_server -rev can reverse one by one (it reads at most
// 16 KiB per line).
func bulkLines() []string {
	lines := make([]string, 8)
	for i := range lines {
		lines[i] = fmt.Sprintf("bulk line %d %s", i, strings.Repeat("xyz", 1000))
	}
	return lines
}

// bulkToServer writes bulkLines in one Write to s_server -rev or
// gnutls-serv --echo and reads each back, reversed or not.
func bulkToServer(t *testing.T, c *Conn, reversed bool) {
	t.Helper()
	lines := bulkLines()
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatalf("Holdfast Write of %d bulk lines: %v", len(lines), err)
	}
	l := newInteropLines(c)
	for _, line := range lines {
		if reversed {
			line = reverse(line)
		}
		l.expect(t, line)
	}
}

// bulkFromClient has a peer client (s_client, gnutls-cli) send bulkLine
// once it shows ready on stdout; the Holdfast server reads it and sends
// it back.
func bulkFromClient(t *testing.T, c *Conn, p *peerProc, ready string) {
	t.Helper()
	p.waitStdout(t, ready)
	l := newInteropLines(c)
	p.send(t, bulkLine)
	l.expect(t, bulkLine)
	l.send(t, bulkLine)
	p.waitStdout(t, bulkLine+"\n")
}

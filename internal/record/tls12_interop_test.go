package record

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/mem"
)

// recorder keeps a copy of every byte crypto/tls's client writes and
// reads.
type recorder struct {
	net.Conn
	mu         sync.Mutex
	sent, recv bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.recv.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.Conn.Write(p)
	r.mu.Lock()
	r.sent.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

// splitRecords cuts a captured byte stream into whole records.
func splitRecords(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var recs [][]byte
	for len(b) > 0 {
		if len(b) < HeaderLen {
			t.Fatalf("%d stray bytes after the last record", len(b))
		}
		n := HeaderLen + int(binary.BigEndian.Uint16(b[3:]))
		if n > len(b) {
			t.Fatalf("record of %d bytes truncated to %d", n, len(b))
		}
		recs = append(recs, b[:n:n])
		b = b[n:]
	}
	return recs
}

// helloRandom is the random of the ClientHello or ServerHello that opens
// a flight: after the record header, the handshake header (4 bytes) and
// the legacy version (2 bytes).
func helloRandom(t *testing.T, rec []byte, msgType byte) []byte {
	t.Helper()
	if ContentType(rec[0]) != TypeHandshake || rec[HeaderLen] != msgType || len(rec) < HeaderLen+38 {
		t.Fatalf("first record % x is not a hello of type %d", rec[:min(len(rec), 12)], msgType)
	}
	return rec[HeaderLen+6 : HeaderLen+38]
}

// afterCCS returns the records that follow the change_cipher_spec: the
// protected ones.
func afterCCS(t *testing.T, recs [][]byte) [][]byte {
	t.Helper()
	for i, r := range recs {
		if ContentType(r[0]) == TypeChangeCipherSpec {
			return recs[i+1:]
		}
	}
	t.Fatal("no change_cipher_spec captured")
	return nil
}

func ecdsaCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "holdfast record test"},
		DNSNames:     []string{"example.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// keyBlock12 derives the key block (RFC 5246 §6.3) from the master secret
// crypto/tls logged, and cuts it into each direction's keys:
// client_write_MAC_key, server_write_MAC_key, client_write_key,
// server_write_key, client_write_IV, server_write_IV.
func keyBlock12(t *testing.T, k kind12, keyLog string, clientRandom, serverRandom []byte) (client, server keys12) {
	t.Helper()
	var master []byte
	for line := range strings.Lines(keyLog) {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "CLIENT_RANDOM" && f[1] == hex.EncodeToString(clientRandom) {
			master = unhex(t, f[2])
		}
	}
	if len(master) != 48 {
		t.Fatalf("no master secret for this client random in the key log:\n%s", keyLog)
	}
	var macLen, keyLen, ivLen int
	if k.isCBC() {
		macLen, keyLen = k.cbc.MACKeyLen(), k.cbc.KeyLen()
	} else {
		keyLen, ivLen = k.aead.KeyLen(), k.aead.FixedIVLen12()
	}
	kb, err := mem.New(2 * (macLen + keyLen + ivLen))
	if err != nil {
		t.Fatal(err)
	}
	defer kb.Free()
	if err := hkdf.PRF(hkdf.SHA256, kb, secretOf(t, master), "key expansion", serverRandom, clientRandom); err != nil {
		t.Fatal(err)
	}
	b := kb.Bytes()
	take := func(n int) []byte {
		v := append([]byte(nil), b[:n]...)
		b = b[n:]
		return v
	}
	client.mac, server.mac = take(macLen), take(macLen)
	client.key, server.key = take(keyLen), take(keyLen)
	client.iv, server.iv = take(ivLen), take(ivLen)
	return client, server
}

// ivReader hands a CBC sealer the IVs crypto/tls chose, so sealing the
// same plaintexts must give the same bytes.
func ivReader(recs [][]byte) io.Reader {
	var ivs []byte
	for _, r := range recs {
		ivs = append(ivs, r[HeaderLen:HeaderLen+cbcBlock]...)
	}
	return bytes.NewReader(ivs)
}

// TLS 1.2 records from a real peer: crypto/tls client and server talk over
// a pipe, the client's side recorded. From the logged master secret and
// the hello randoms we derive the key block with hkdf.PRF, then: open every
// protected record crypto/tls sent (the Finished at sequence number 0,
// then application data); seal the same plaintexts and get crypto/tls's
// bytes exactly (for CBC, with crypto/tls's IVs); and seal new records,
// one each way, that crypto/tls reads as application data.
func TestInterop12CryptoTLS(t *testing.T) {
	cert := ecdsaCert(t)
	cases := []struct {
		suite uint16
		kind  kind12
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, kind12{name: "AES-128-GCM", aead: AES128GCM}},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, kind12{name: "ChaCha20-Poly1305", aead: ChaCha20Poly1305}},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, kind12{name: "AES-128-CBC-SHA1", cbc: AES128CBCSHA1}},
	}
	for _, c := range cases {
		t.Run(tls.CipherSuiteName(c.suite), func(t *testing.T) {
			interop12(t, cert, c.suite, c.kind)
		})
	}
}

func interop12(t *testing.T, cert tls.Certificate, suite uint16, k kind12) {
	ping, pong := []byte("ping from crypto/tls client"), bytes.Repeat([]byte("pong from crypto/tls server "), 700)
	toServer, toClient := []byte("sealed by holdfast, read by crypto/tls server"), []byte("sealed by holdfast, read by crypto/tls client")

	cliRaw, srvRaw := net.Pipe()
	defer cliRaw.Close()
	defer srvRaw.Close()
	rec := &recorder{Conn: cliRaw}
	var keyLog bytes.Buffer
	client := tls.Client(rec, &tls.Config{
		InsecureSkipVerify: true,
		MaxVersion:         tls.VersionTLS12,
		CipherSuites:       []uint16{suite},
		KeyLogWriter:       &keyLog,
	})
	server := tls.Server(srvRaw, &tls.Config{
		Certificates:           []tls.Certificate{cert},
		MaxVersion:             tls.VersionTLS12,
		CipherSuites:           []uint16{suite},
		SessionTicketsDisabled: true,
	})
	type result struct {
		got []byte
		err error
	}
	serverGot := make(chan result, 1)
	go func() {
		buf := make([]byte, len(ping))
		if _, err := io.ReadFull(server, buf); err != nil || !bytes.Equal(buf, ping) {
			serverGot <- result{buf, err}
			return
		}
		if _, err := server.Write(pong); err != nil {
			serverGot <- result{nil, err}
			return
		}
		buf = make([]byte, len(toServer))
		_, err := io.ReadFull(server, buf)
		serverGot <- result{buf, err}
	}()
	if _, err := client.Write(ping); err != nil {
		t.Fatal(err)
	}
	if got := make([]byte, len(pong)); func() error { _, err := io.ReadFull(client, got); return err }() != nil || !bytes.Equal(got, pong) {
		t.Fatal("crypto/tls client did not read the pong")
	}
	if st := client.ConnectionState(); st.Version != tls.VersionTLS12 || st.CipherSuite != suite {
		t.Fatalf("negotiated %#04x %s", st.Version, tls.CipherSuiteName(st.CipherSuite))
	}

	rec.mu.Lock()
	sent, recv := splitRecords(t, rec.sent.Bytes()), splitRecords(t, rec.recv.Bytes())
	rec.mu.Unlock()
	clientKeys, serverKeys := keyBlock12(t, k, keyLog.String(), helloRandom(t, sent[0], 1), helloRandom(t, recv[0], 2))

	for _, dir := range []struct {
		name string
		keys keys12
		recs [][]byte
		want []byte // the application data sent this way
	}{
		{"client to server", clientKeys, afterCCS(t, sent), ping},
		{"server to client", serverKeys, afterCCS(t, recv), pong},
	} {
		open := k.newProt12(t, dir.keys, nil)
		var random io.Reader
		if k.isCBC() {
			random = ivReader(dir.recs)
		}
		seal := k.newProt12(t, dir.keys, random)
		var data []byte
		for i, r := range dir.recs {
			typ, p, err := open.Open(bytes.Clone(r))
			if err != nil {
				t.Fatalf("%s: record %d (% x…): %v", dir.name, i, r[:HeaderLen], err)
			}
			switch {
			case i == 0 && (typ != TypeHandshake || len(p) != 16 || p[0] != 20):
				t.Fatalf("%s: first protected record is %v % x, want a Finished", dir.name, typ, p)
			case i > 0 && typ != TypeApplicationData:
				t.Fatalf("%s: record %d is %v", dir.name, i, typ)
			case i > 0:
				data = append(data, p...)
			}
			again, err := seal.Seal(nil, typ, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, r) {
				t.Fatalf("%s: record %d sealed again differs\n got % x\nwant % x", dir.name, i, again[:min(len(again), 64)], r[:min(len(r), 64)])
			}
		}
		if !bytes.Equal(data, dir.want) {
			t.Fatalf("%s: opened %q", dir.name, data)
		}
	}

	// Now records only Holdfast sealed, at the sequence numbers that come
	// next, one each way.
	next := func(keys keys12, recs [][]byte, msg []byte) []byte {
		p := k.newProt12(t, keys, nil)
		setSeq12(p, uint64(len(recs)))
		r, err := p.Seal(nil, TypeApplicationData, msg, 0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if _, err := cliRaw.Write(next(clientKeys, afterCCS(t, sent), toServer)); err != nil {
		t.Fatal(err)
	}
	if r := <-serverGot; r.err != nil || !bytes.Equal(r.got, toServer) {
		t.Fatalf("crypto/tls server read %q, %v", r.got, r.err)
	}
	toClientRec := next(serverKeys, afterCCS(t, recv), toClient)
	wrote := make(chan error, 1)
	go func() {
		_, err := srvRaw.Write(toClientRec)
		wrote <- err
	}()
	got := make([]byte, len(toClient))
	if _, err := io.ReadFull(client, got); err != nil || !bytes.Equal(got, toClient) {
		t.Fatalf("crypto/tls client read %q, %v", got, err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}

package holdfast

import (
	"bytes"
	"crypto/elliptic"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/internal/residue"
	"github.com/holdfast-tls/holdfast/mem"
)

// secretLog is a KeyLogWriter that decodes each traffic secret straight
// into locked memory (the hex line holds no raw secret bytes), and derives
// the record keys and IVs from the application secrets, so the test can
// search the process for raw copies afterwards.
type secretLog struct {
	mu      sync.Mutex
	t       *testing.T
	secrets []*mem.Secret // traffic secrets
	keys    []*mem.Secret // AES-128-GCM keys derived from them
	ivs     []*mem.Secret
}

func (l *secretLog) Write(line []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fields := bytes.Fields(line)
	if len(fields) != 3 || bytes.Equal(fields[0], []byte("EXPORTER_SECRET")) {
		return len(line), nil
	}
	s, err := mem.New(hex.DecodedLen(len(fields[2])))
	if err != nil {
		l.t.Error(err)
		return 0, err
	}
	if _, err := hex.Decode(s.Bytes(), fields[2]); err != nil {
		l.t.Error(err)
		return 0, err
	}
	l.secrets = append(l.secrets, s)
	key, _ := mem.New(16)
	iv, _ := mem.New(12)
	if err := hkdf.TrafficKey(hkdf.SHA256, key, iv, s); err != nil {
		l.t.Error(err)
	}
	l.keys, l.ivs = append(l.keys, key), append(l.ivs, iv)
	return len(line), nil
}

func (l *secretLog) free() {
	for _, list := range [][]*mem.Secret{l.secrets, l.keys, l.ivs} {
		for _, s := range list {
			s.Free()
		}
	}
}

func views(list []*mem.Secret) [][]byte {
	out := make([][]byte, len(list))
	for i, s := range list {
		out[i] = s.Bytes()
	}
	return out
}

// residueAfter runs n connections through run, both ends in this process,
// then counts copies of every traffic secret, key and IV left in memory.
func residueAfter(t *testing.T, n int, run func(l *secretLog, c, s net.Conn) error) (secrets, keys, ivs int) {
	l := &secretLog{t: t}
	defer l.free()
	for range n {
		a, b := net.Pipe()
		if err := run(l, a, b); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	count := func(needles [][]byte) int {
		rep, err := residue.Scan(needles, mem.Default())
		if err != nil {
			t.Fatal(err)
		}
		return len(rep.Findings)
	}
	return count(views(l.secrets)), count(views(l.keys)), count(views(l.ivs))
}

// exchange runs a handshake, one message each way, and close_notify.
func exchange(client, server interface {
	io.ReadWriteCloser
	Handshake() error
}) error {
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(server, buf); err != nil {
			done <- err
			return
		}
		_, err := server.Write(buf)
		if err == nil {
			_, err = io.ReadAll(server) // until close_notify
		}
		server.Close()
		done <- err
	}()
	err := sendAndCheck(client, []byte("hello"))
	client.Close()
	if serr := <-done; err == nil {
		err = serr
	}
	return err
}

// TestConnectionResidue counts, after connections close and the GC runs,
// the raw copies of their traffic secrets, keys and IVs left anywhere in
// the process, for Holdfast and for crypto/tls on the same work. Holdfast
// must leave no traffic secret, key or IV in either build. Keys and IVs
// are counted separately because they hide in the standard library's
// state: crypto/aes expands a key into a heap schedule whose first round
// key is the key itself, which the record layer wipes (erase.Object) when
// it drops a key; the IV reaches the nonce only through byte-wise copies.
func TestConnectionResidue(t *testing.T) {
	if residue.RaceEnabled {
		t.Skip("residue: not asserted under -race (see residue.AssertNone); ci/test.sh runs this test without it")
	}
	const n = 8
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	hfSecrets, hfKeys, hfIVs := residueAfter(t, n, func(l *secretLog, a, b net.Conn) error {
		cfg := &Config{RootCAs: pki.pool, ServerName: "server.test", KeyLogWriter: l, CipherSuites: []uint16{TLS_AES_128_GCM_SHA256}}
		return exchange(Client(a, cfg), Server(b, &Config{Certificates: []Certificate{cert}}))
	})
	stdSecrets, stdKeys, stdIVs := residueAfter(t, n, func(l *secretLog, a, b net.Conn) error {
		cfg := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", KeyLogWriter: l, CipherSuites: []uint16{tls.TLS_AES_128_GCM_SHA256}, SessionTicketsDisabled: true}
		return exchange(tls.Client(a, cfg), tls.Server(b, &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, SessionTicketsDisabled: true}))
	})
	t.Logf("after %d connections (runtimesecret build: %v), copies left of 4 traffic secrets per connection and their keys and IVs:", n, erase.Enabled)
	t.Logf("  holdfast:   secrets %d, AES keys %d, IVs %d", hfSecrets, hfKeys, hfIVs)
	t.Logf("  crypto/tls: secrets %d, AES keys %d, IVs %d", stdSecrets, stdKeys, stdIVs)
	if hfSecrets != 0 {
		t.Errorf("holdfast left %d copies of traffic secrets; want 0", hfSecrets)
	}
	if hfKeys != 0 || hfIVs != 0 {
		t.Errorf("holdfast left %d copies of AES keys and %d of IVs; want 0", hfKeys, hfIVs)
	}
}

// serverRandomSniffer records the ServerHello.random from the first
// record a client reads (TLS 1.2: a plaintext handshake record).
type serverRandomSniffer struct {
	net.Conn
	buf    []byte
	random []byte
}

func (s *serverRandomSniffer) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	if s.random == nil {
		s.buf = append(s.buf, p[:n]...)
		// record header 5, handshake header 4, legacy_version 2
		if len(s.buf) >= 5+4+2+32 {
			s.random = append([]byte(nil), s.buf[11:43]...)
		}
	}
	return n, err
}

// TestConnectionResidue12 repeats the residue count for TLS 1.2: master
// secrets from the key log's CLIENT_RANDOM lines and the AES keys of the
// key block derived from them, Holdfast beside crypto/tls.
func TestConnectionResidue12(t *testing.T) {
	if residue.RaceEnabled {
		t.Skip("residue: not asserted under -race (see residue.AssertNone); ci/test.sh runs this test without it")
	}
	const n = 8
	pki := newTestPKI(t)
	cert := pki.leaf(t, ecKey(t, elliptic.P256()), "server.test")
	run := func(dial func(kl io.Writer, a, b net.Conn) error) (masters, keys int) {
		var mu sync.Mutex
		var held []*mem.Secret
		var masterNeedles, keyNeedles [][]byte
		defer func() {
			for _, s := range held {
				s.Free()
			}
		}()
		for range n {
			a, b := net.Pipe()
			sniff := &serverRandomSniffer{Conn: a}
			var line []byte
			kl := writerFunc(func(p []byte) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				if line == nil {
					line = append([]byte(nil), p...) // hex only: no raw secret bytes
				}
				return len(p), nil
			})
			if err := dial(kl, sniff, b); err != nil {
				t.Fatal(err)
			}
			f := bytes.Fields(line)
			master, _ := mem.New(48)
			hex.Decode(master.Bytes(), f[2])
			clientRandom := make([]byte, 32)
			hex.Decode(clientRandom, f[1])
			block, _ := mem.New(2 * 16)
			if err := hkdf.PRF(hkdf.SHA256, block, master, "key expansion", sniff.random, clientRandom); err != nil {
				t.Fatal(err)
			}
			held = append(held, master, block)
			masterNeedles = append(masterNeedles, master.Bytes())
			keyNeedles = append(keyNeedles, block.Bytes()[:16], block.Bytes()[16:])
		}
		runtime.GC()
		runtime.GC()
		count := func(needles [][]byte) int {
			rep, err := residue.Scan(needles, mem.Default())
			if err != nil {
				t.Fatal(err)
			}
			return len(rep.Findings)
		}
		return count(masterNeedles), count(keyNeedles)
	}
	hfMasters, hfKeys := run(func(kl io.Writer, a, b net.Conn) error {
		cfg := &Config{RootCAs: pki.pool, ServerName: "server.test", KeyLogWriter: kl, MaxVersion: VersionTLS12, CipherSuites: []uint16{0xc02b}}
		return exchange(Client(a, cfg), Server(b, &Config{Certificates: []Certificate{cert}}))
	})
	stdMasters, stdKeys := run(func(kl io.Writer, a, b net.Conn) error {
		cfg := &tls.Config{RootCAs: pki.pool, ServerName: "server.test", KeyLogWriter: kl, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, SessionTicketsDisabled: true}
		return exchange(tls.Client(a, cfg), tls.Server(b, &tls.Config{Certificates: []tls.Certificate{toStd(cert)}, SessionTicketsDisabled: true}))
	})
	t.Logf("TLS 1.2, after %d connections (runtimesecret build: %v), copies left:", n, erase.Enabled)
	t.Logf("  holdfast:   master secrets %d, AES keys %d", hfMasters, hfKeys)
	t.Logf("  crypto/tls: master secrets %d, AES keys %d", stdMasters, stdKeys)
	if hfMasters != 0 {
		t.Errorf("holdfast left %d copies of master secrets; want 0", hfMasters)
	}
	if hfKeys != 0 {
		t.Errorf("holdfast left %d copies of AES keys; want 0", hfKeys)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

package params

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// chainPKI is a root and a leaf for "a.test" valid for one day from now.
func chainPKI(t *testing.T) (*x509.CertPool, []byte, time.Time) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now().Truncate(time.Second)
	rootT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cache root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootT, rootT, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "a.test"}, DNSNames: []string{"a.test"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafT, root, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool, leafDER, now
}

func TestChainCache(t *testing.T) {
	pool, leaf, now := chainPKI(t)
	clock := now
	hookCalls := 0
	p := &Params{Roots: pool, ServerName: "a.test", Time: func() time.Time { return clock }, ClientAuth: RequireAndVerifyClientCert,
		Chains: NewChainCache(2), VerifyPeer: func([][]byte, [][]*x509.Certificate) error { hookCalls++; return nil }}
	raw := [][]byte{leaf}
	first, _, err := VerifyChain(p, raw, true)
	if err != nil {
		t.Fatal(err)
	}
	second, chains, err := VerifyChain(p, raw, true)
	if err != nil || second[0] != first[0] || len(chains) != 1 {
		t.Fatalf("second verification was not served from the cache: %v", err)
	}
	if hookCalls != 2 {
		t.Errorf("VerifyPeer ran %d times for 2 handshakes", hookCalls)
	}

	// Another server name is another entry, and fails on its own.
	other := *p
	other.ServerName = "b.test"
	if _, _, err := VerifyChain(&other, raw, true); err == nil {
		t.Fatal("a chain cached for a.test verified for b.test")
	}
	// The same bytes as a client chain are a different entry, verified
	// against ClientCAs (none here), so they fail.
	if _, _, err := VerifyChain(p, raw, false); err == nil {
		t.Fatal("a chain cached as a server's verified as a client's")
	}

	// After the TTL the chain is verified again (and still passes).
	clock = now.Add(ChainCacheTTL + time.Minute)
	third, _, err := VerifyChain(p, raw, true)
	if err != nil || third[0] == first[0] {
		t.Fatalf("after the TTL: reused %v, err %v", third[0] == first[0], err)
	}
	// Past the leaf's NotAfter a cached entry is never used: the full
	// verification runs and reports the expiry.
	clock = now.Add(25 * time.Hour)
	if _, _, err := VerifyChain(p, raw, true); !errors.Is(err, alert.ErrCertificateExpired) {
		t.Fatalf("expired leaf: %v, want certificate_expired", err)
	}
	// The bound holds.
	p.Chains.put([32]byte{1}, now, first, nil)
	p.Chains.put([32]byte{2}, now, first, nil)
	p.Chains.put([32]byte{3}, now, first, nil)
	if n := p.Chains.Len(); n != 2 {
		t.Fatalf("cache of 2 holds %d", n)
	}
}

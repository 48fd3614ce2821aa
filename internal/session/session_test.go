package session

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/mem"
	"github.com/holdfast-tls/holdfast/tickets"
)

func TestSealOpenRoundTrip(t *testing.T) {
	ring, _ := tickets.NewRotatingKeyRing(time.Hour, 1)
	defer ring.Close()
	secret, _ := mem.New(48)
	for i := range secret.Bytes() {
		secret.Bytes()[i] = byte(i)
	}
	in := &State{Version: 0x0304, Suite: 0x1302, Created: time.Unix(1_800_000_000, 0), AgeAdd: 77, Lifetime: 3600,
		ServerName: "example.test", ALPN: "h2", CertHash: [32]byte{1, 2}, PeerCerts: [][]byte{{1}, {2, 3}}, Secret: secret}
	defer in.Free()
	ticket, err := in.Seal(ring)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ticket, secret.Bytes()[:16]) || bytes.Contains(ticket, []byte("example.test")) {
		t.Fatal("the ticket shows its contents")
	}
	out, err := Open(ring, ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Free()
	if !out.Secret.Equal(in.Secret) || out.Version != in.Version || out.Suite != in.Suite || !out.Created.Equal(in.Created) ||
		out.AgeAdd != 77 || out.Lifetime != 3600 || out.ServerName != in.ServerName || out.ALPN != in.ALPN ||
		out.CertHash != in.CertHash || len(out.PeerCerts) != 2 || !bytes.Equal(out.PeerCerts[1], []byte{2, 3}) {
		t.Fatalf("round trip changed the state: %+v", out)
	}
	ticket[len(ticket)-1] ^= 1
	if _, err := Open(ring, ticket); !errors.Is(err, tickets.ErrUnknownTicket) {
		t.Fatalf("spoiled ticket: %v", err)
	}
}

// plain is a Sealer that does not encrypt, so the fuzzer reaches decode.
type plain struct{}

func (plain) Seal(p []byte) ([]byte, error) { return append(make([]byte, Overhead), p...), nil }
func (plain) Open(dst, t []byte) (int, error) {
	return copy(dst, t[Overhead:]), nil
}

func FuzzOpen(f *testing.F) {
	secret, _ := mem.New(32)
	s := &State{Version: 0x0303, Suite: 0xc02f, Created: time.Unix(1, 0), ExtendedMS: true, Secret: secret}
	seed, _ := s.Seal(plain{})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, ticket []byte) {
		st, err := Open(plain{}, ticket)
		if err == nil {
			st.Free()
		}
	})
}

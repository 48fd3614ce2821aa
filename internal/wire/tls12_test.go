package wire

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

func tls12Samples() map[string]interface{ Marshal() ([]byte, error) } {
	return map[string]interface{ Marshal() ([]byte, error) }{
		"ServerKeyExchange": &ServerKeyExchange{Group: 29, PublicKey: bytes.Repeat([]byte{7}, 32), Algorithm: 0x0403, Signature: bytes.Repeat([]byte{9}, 71)},
		"CertificateRequest12": &CertificateRequest12{CertificateTypes: []byte{1, 64}, SignatureAlgorithms: []uint16{0x0403, 0x0804},
			CertificateAuthorities: [][]byte{[]byte("0\x00"), []byte("name-two")}},
		"NewSessionTicket12":          &NewSessionTicket12{LifetimeHint: 3600, Ticket: bytes.Repeat([]byte{5}, 100)},
		"NewSessionTicket12/empty":    &NewSessionTicket12{},
		"CertificateRequest12/no CAs": &CertificateRequest12{CertificateTypes: []byte{64}, SignatureAlgorithms: []uint16{0x0403}},
		"ServerHelloDone":             &ServerHelloDone{},
		"ClientKeyExchange/ECDH":      NewClientKeyExchangeECDH(bytes.Repeat([]byte{4}, 65)),
		"ClientKeyExchange/RSA":       NewClientKeyExchangeRSA(bytes.Repeat([]byte{5}, 256)),
	}
}

func parse12(raw []byte) (any, error) {
	switch raw[0] {
	case TypeServerKeyExchange:
		return ParseServerKeyExchange(raw)
	case TypeCertificateRequest:
		return ParseCertificateRequest12(raw)
	case TypeServerHelloDone:
		return ParseServerHelloDone(raw)
	case TypeClientKeyExchange:
		return ParseClientKeyExchange(raw)
	case TypeNewSessionTicket:
		return ParseNewSessionTicket12(raw)
	}
	return nil, errors.New("unknown")
}

func TestTLS12RoundTripAndTruncation(t *testing.T) {
	for name, m := range tls12Samples() {
		t.Run(name, func(t *testing.T) {
			raw, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := parse12(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, m)
			}
			again, _ := got.(interface{ Marshal() ([]byte, error) }).Marshal()
			if !bytes.Equal(again, raw) {
				t.Fatal("re-marshal differs")
			}
			// Every shorter body, with the header's length fixed up to
			// match, is decode_error (a ClientKeyExchange body is only
			// read by the engine, so it is exempt).
			for n := HeaderLen; n < len(raw) && raw[0] != TypeClientKeyExchange; n++ {
				cut := append([]byte(nil), raw[:n]...)
				l := n - HeaderLen
				cut[1], cut[2], cut[3] = byte(l>>16), byte(l>>8), byte(l)
				if _, err := parse12(cut); alert.For(err) != alert.DecodeError {
					t.Fatalf("body cut to %d bytes: %v", l, err)
				}
			}
		})
	}
}

func TestClientKeyExchangeReadings(t *testing.T) {
	ecdh := NewClientKeyExchangeECDH([]byte{1, 2, 3})
	if pub, err := ecdh.ECDHPublic(); err != nil || !bytes.Equal(pub, []byte{1, 2, 3}) {
		t.Fatalf("ECDHPublic = %x, %v", pub, err)
	}
	if _, err := ecdh.EncryptedPremaster(); alert.For(err) != alert.DecodeError {
		t.Fatalf("ECDH body read as RSA: %v", err)
	}
	rsa := NewClientKeyExchangeRSA([]byte{9, 9})
	if ct, err := rsa.EncryptedPremaster(); err != nil || !bytes.Equal(ct, []byte{9, 9}) {
		t.Fatalf("EncryptedPremaster = %x, %v", ct, err)
	}
	if _, err := (&ClientKeyExchange{}).ECDHPublic(); alert.For(err) != alert.DecodeError {
		t.Fatalf("empty body: %v", err)
	}
}

func TestServerKeyExchangeRejects(t *testing.T) {
	ske := &ServerKeyExchange{Group: 23, PublicKey: []byte{4, 1}, Algorithm: 0x0403, Signature: []byte{1}}
	raw, _ := ske.Marshal()
	explicit := append([]byte(nil), raw...)
	explicit[HeaderLen] = 1 // explicit_prime curve
	if _, err := ParseServerKeyExchange(explicit); alert.For(err) != alert.IllegalParameter {
		t.Fatalf("explicit curve: %v", err)
	}
	if _, err := ParseServerKeyExchange(append(raw[:len(raw):len(raw)], 0)); alert.For(err) != alert.DecodeError {
		t.Fatalf("trailing byte: %v", err)
	}
}

// A TLS 1.2 ECDHE ServerKeyExchange and ServerHelloDone from crypto/tls
// parse, and the parsed parameters re-marshal to the signed bytes.
func TestTLS12ServerFlightFromCryptoTLS(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "s"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		s := tls.Server(b, &tls.Config{MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
		s.Handshake()
		b.Close()
	}()
	c := tls.Client(&recorder{Conn: a}, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	go c.Handshake()
	var re Reassembler
	var got []byte
	deadline := time.Now().Add(5 * time.Second)
	a.SetReadDeadline(deadline)
	// Read the server's plaintext records directly from the pipe side the
	// client does not read: the recorder tees them.
	for time.Now().Before(deadline) {
		rec := <-recorded
		if rec[0] != 22 {
			continue
		}
		re.Add(rec[5:])
		for {
			msg, ok, err := re.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			switch msg[0] {
			case TypeServerKeyExchange:
				ske, err := ParseServerKeyExchange(msg)
				if err != nil {
					t.Fatal(err)
				}
				if ske.Group != 29 || len(ske.PublicKey) != 32 {
					t.Fatalf("ServerKeyExchange %+v", ske)
				}
				params, _ := ske.MarshalParams()
				if !bytes.Equal(params, ske.Params) {
					t.Fatal("Params differ from their re-encoding")
				}
				got = msg
			case TypeServerHelloDone:
				if _, err := ParseServerHelloDone(msg); err != nil {
					t.Fatal(err)
				}
				if got == nil {
					t.Fatal("ServerHelloDone before ServerKeyExchange")
				}
				return
			}
		}
	}
	t.Fatal("no ServerHelloDone seen")
}

var recorded = make(chan []byte, 64)

// recorder passes reads through and sends each whole record it sees to
// recorded.
type recorder struct {
	net.Conn
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.buf = append(r.buf, p[:n]...)
	for len(r.buf) >= 5 {
		l := 5 + (int(r.buf[3])<<8 | int(r.buf[4]))
		if len(r.buf) < l {
			break
		}
		select {
		case recorded <- append([]byte(nil), r.buf[:l]...):
		default:
		}
		r.buf = r.buf[l:]
	}
	return n, err
}

// FuzzTLS12Messages feeds each TLS 1.2-only parser (chosen by the type
// byte) arbitrary bodies: no panic, and whatever parses re-marshals to the
// same bytes.
func FuzzTLS12Messages(f *testing.F) {
	for _, m := range tls12Samples() {
		raw, _ := m.Marshal()
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) < HeaderLen {
			return
		}
		for _, typ := range []uint8{TypeServerKeyExchange, TypeCertificateRequest, TypeServerHelloDone, TypeClientKeyExchange, TypeNewSessionTicket} {
			msg := append([]byte{typ}, raw[1:]...)
			got, err := parse12(msg)
			if err != nil {
				continue
			}
			again, err := got.(interface{ Marshal() ([]byte, error) }).Marshal()
			if err != nil {
				t.Fatalf("type %d: parsed but does not marshal: %v", typ, err)
			}
			if !bytes.Equal(again, msg) {
				t.Fatalf("type %d: re-marshal differs", typ)
			}
			if cke, ok := got.(*ClientKeyExchange); ok {
				cke.ECDHPublic()
				cke.EncryptedPremaster()
			}
		}
	})
}

package wire

import (
	"bytes"
	"crypto/tls"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// Each target feeds arbitrary bytes to a parser. Properties: no panic; a
// failure wraps an alert reason; a success is canonical — Raw is the
// input, Marshal gives back exactly the input, and that parses to an equal
// message — and no field aliases the input.

// checkParse runs the properties for one parser.
func checkParse[T message](t *testing.T, in []byte, parse func([]byte) (T, error)) {
	mine := bytes.Clone(in)
	m, err := parse(mine)
	if err != nil {
		if alert.For(err) == alert.InternalError {
			t.Fatalf("failure wraps no alert reason: %v", err)
		}
		return
	}
	for i := range mine {
		mine[i] ^= 0xff // a reused record buffer
	}
	if !bytes.Equal(rawOf(m), in) {
		t.Fatalf("Raw is not the input")
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal of a parsed message: %v", err)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("not canonical:\n in %x\nout %x", in, out)
	}
	again, err := parse(out)
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	if !reflect.DeepEqual(m, again) {
		t.Fatalf("re-parse differs:\n%#v\n%#v", m, again)
	}
}

// retype returns in with its first byte set to typ, so a target that
// serves several parsers gives each one the same body.
func retype(in []byte, typ uint8) []byte {
	out := bytes.Clone(in)
	if len(out) > 0 {
		out[0] = typ
	}
	return out
}

// seedCodec adds random valid encodings of the named codec.
func seedCodec(f *testing.F, name string, n int) {
	r := rand.New(rand.NewPCG(11, uint64(len(name))))
	for _, c := range codecs {
		if c.name != name {
			continue
		}
		for range n {
			enc, err := c.random(r).Marshal()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(enc)
		}
	}
}

func FuzzClientHello(f *testing.F) {
	seedCodec(f, "ClientHello", 8)
	f.Add(unhex(f, rfc8448ClientHello))
	f.Add(unhex(f, rfc8448ResumedClientHello))
	f.Add(goClientHello(f, &tls.Config{ServerName: "example.test", NextProtos: []string{"h2"}}))
	f.Add(goClientHello(f, &tls.Config{ServerName: "example.test", MaxVersion: tls.VersionTLS12}))
	f.Add(clientHello(nil, ext(int(ExtStatusRequest), u8(1), v16(v16(u8(1))), v16())))
	f.Add(clientHello(nil, groups, psk))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseClientHello)
		if m, err := ParseClientHello(in); err == nil && len(m.PSKBinders) > 0 {
			trunc, err := m.TruncatedForBinders()
			if err != nil || !bytes.HasPrefix(in, trunc) {
				t.Fatalf("TruncatedForBinders on a parsed hello: %v", err)
			}
			if err := m.UpdateBinders(m.PSKBinders); err != nil || !bytes.Equal(m.Raw, in) {
				t.Fatalf("UpdateBinders with the same binders: %v", err)
			}
		}
	})
}

func FuzzServerHello(f *testing.F) {
	seedCodec(f, "ServerHello", 8)
	f.Add(unhex(f, rfc8448ServerHello))
	cert := newTestCert(f)
	ch := goClientHello(f, &tls.Config{ServerName: "example.test", CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}})
	for _, prefs := range [][]tls.CurveID{nil, {tls.CurveP256}} {
		msgs := goServerReply(f, &tls.Config{Certificates: []tls.Certificate{cert.tls}, CurvePreferences: prefs}, ch)
		if len(msgs) > 0 {
			f.Add(msgs[0])
		}
	}
	f.Add(serverHello(HelloRetryRequestRandom[:], nil, 0, ext(int(ExtKeyShare), u16(23)), ext(int(ExtCookie), v16(u8(1)))))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseServerHello)
	})
}

func FuzzEncryptedExtensions(f *testing.F) {
	seedCodec(f, "EncryptedExtensions", 8)
	var r Reassembler
	r.Add(unhex(f, rfc8448ServerFlight))
	ee, _, _ := r.Next()
	f.Add(ee)
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseEncryptedExtensions)
	})
}

// FuzzCertificate serves both forms of the Certificate message.
func FuzzCertificate(f *testing.F) {
	seedCodec(f, "Certificate", 8)
	seedCodec(f, "Certificate12", 4)
	var r Reassembler
	r.Add(unhex(f, rfc8448ServerFlight))
	_, _, _ = r.Next()
	cert, _, _ := r.Next()
	f.Add(cert)
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseCertificate)
		checkParse(t, in, ParseCertificate12)
	})
}

func FuzzCertificateRequest(f *testing.F) {
	seedCodec(f, "CertificateRequest", 8)
	f.Add(msg(TypeCertificateRequest, v8(), v16(sigalgs, ext(48, v16()))))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseCertificateRequest)
	})
}

func FuzzCertificateVerify(f *testing.F) {
	seedCodec(f, "CertificateVerify", 8)
	var r Reassembler
	r.Add(unhex(f, rfc8448ServerFlight))
	for range 3 {
		_, _, _ = r.Next()
	}
	cv, _, _ := r.Next()
	f.Add(retype(cv, TypeCertificateVerify)) // the Finished body as a signature
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseCertificateVerify)
	})
}

func FuzzNewSessionTicket(f *testing.F) {
	seedCodec(f, "NewSessionTicket", 8)
	f.Add(unhex(f, rfc8448NewSessionTicket))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseNewSessionTicket)
	})
}

// FuzzKeyUpdate also serves the other messages with fixed or opaque
// bodies: Finished and EndOfEarlyData, each given the input's body.
func FuzzKeyUpdate(f *testing.F) {
	f.Add(msg(TypeKeyUpdate, u8(0)))
	f.Add(msg(TypeKeyUpdate, u8(1)))
	f.Add(unhex(f, rfc8448ClientFinished))
	f.Add(msg(TypeEndOfEarlyData))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, retype(in, TypeKeyUpdate), ParseKeyUpdate)
		checkParse(t, retype(in, TypeFinished), ParseFinished)
		checkParse(t, retype(in, TypeEndOfEarlyData), ParseEndOfEarlyData)
		checkParse(t, in, ParseKeyUpdate) // and the type check itself
	})
}

// FuzzReassembler splits arbitrary bytes into records at points drawn
// from cuts, under a limit drawn from limit. The messages returned must
// be the input's, in order, each within the limit; an error must be
// decode_error for a header announcing more than the limit.
func FuzzReassembler(f *testing.F) {
	f.Add(cat(sampleMessages()...), uint64(1), uint16(0))
	f.Add(cat(sampleMessages()...), uint64(12345), uint16(100))
	f.Add(unhex(f, rfc8448ServerFlight), uint64(7), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, cuts uint64, limit uint16) {
		var r Reassembler
		r.SetMaxMessage(int(limit))
		max := r.MaxMessage()
		rng := rand.New(rand.NewPCG(cuts, 0))
		var got []byte
		var failed error
		for rest := data; len(rest) > 0 && failed == nil; {
			n := min(len(rest), 1+rng.IntN(64))
			r.Add(rest[:n])
			rest = rest[n:]
			for {
				msg, ok, err := r.Next()
				if err != nil {
					failed = err
					break
				}
				if !ok {
					break
				}
				if len(msg) < HeaderLen || bodyLen(msg) != len(msg)-HeaderLen || bodyLen(msg) > max {
					t.Fatalf("bad message %x", msg)
				}
				got = append(got, msg...)
			}
		}
		if !bytes.HasPrefix(data, got) {
			t.Fatal("messages are not the input")
		}
		next := data[len(got):]
		if failed != nil {
			if alert.For(failed) != alert.DecodeError || len(next) < HeaderLen || bodyLen(next) <= max {
				t.Fatalf("unexpected failure %v", failed)
			}
			return
		}
		if r.Buffered() != len(next) {
			t.Fatalf("Buffered %d, %d bytes unreturned", r.Buffered(), len(next))
		}
		if len(next) >= HeaderLen && bodyLen(next) <= len(next)-HeaderLen {
			t.Fatal("a whole message was left behind")
		}
	})
}

package wire

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// message is what every codec in this package has in common.
type message interface {
	Marshal() ([]byte, error)
}

// codec ties a message's parser to a generator of random valid values.
type codec struct {
	name   string
	parse  func([]byte) (message, error)
	random func(r *rand.Rand) message
}

// parser lifts a typed Parse function to the codec form, keeping a nil
// pointer from turning into a non-nil interface.
func parser[T message](f func([]byte) (T, error)) func([]byte) (message, error) {
	return func(b []byte) (message, error) {
		m, err := f(b)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
}

var codecs = []codec{
	{"ClientHello", parser(ParseClientHello), randomClientHello},
	{"ServerHello", parser(ParseServerHello), randomServerHello},
	{"EncryptedExtensions", parser(ParseEncryptedExtensions), randomEncryptedExtensions},
	{"Certificate", parser(ParseCertificate), randomCertificate},
	{"Certificate12", parser(ParseCertificate12), randomCertificate12},
	{"CertificateStatus", parser(ParseCertificateStatus), randomCertificateStatus},
	{"CertificateRequest", parser(ParseCertificateRequest), randomCertificateRequest},
	{"CertificateVerify", parser(ParseCertificateVerify), randomCertificateVerify},
	{"Finished", parser(ParseFinished), randomFinished},
	{"NewSessionTicket", parser(ParseNewSessionTicket), randomNewSessionTicket},
	{"KeyUpdate", parser(ParseKeyUpdate), randomKeyUpdate},
	{"EndOfEarlyData", parser(ParseEndOfEarlyData), func(*rand.Rand) message { return &EndOfEarlyData{} }},
}

// --- random values -------------------------------------------------------

func coin(r *rand.Rand) bool { return r.IntN(2) == 0 }

// randBytes returns n random bytes, n in [lo, hi]; nil when n is 0, as a
// parser returns.
func randBytes(r *rand.Rand, lo, hi int) []byte {
	n := lo + r.IntN(hi-lo+1)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randUint16s(r *rand.Rand, lo, hi int) []uint16 {
	n := lo + r.IntN(hi-lo+1)
	if n == 0 {
		return nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = uint16(r.Uint32())
	}
	return out
}

func randName(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-._~!"
	b := make([]byte, 1+r.IntN(40))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func randProtocols(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(randBytes(r, 1, 20))
	}
	return out
}

func randByteLists(r *rand.Rand, lo, hi, minLen, maxLen int) [][]byte {
	n := lo + r.IntN(hi-lo+1)
	if n == 0 {
		return nil
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = randBytes(r, minLen, maxLen)
	}
	return out
}

// randUnknown adds up to three extensions of types outside known and
// outside taken, recording their types in order.
func randUnknown(r *rand.Rand, known func(uint16) bool, order *[]uint16) []Extension {
	var out []Extension
	for range r.IntN(4) {
		t := uint16(r.Uint32())
		if known(t) || slices.Contains(*order, t) || t == ExtPreSharedKey || t == ExtStatusRequest {
			continue
		}
		out = append(out, Extension{Type: t, Data: randBytes(r, 0, 30)})
		*order = append(*order, t)
	}
	return out
}

// shuffled returns the extension types in a random order, or, half the
// time for a message without any, nil or empty (no block, empty block).
func shuffled(r *rand.Rand, order []uint16) []uint16 {
	if len(order) == 0 {
		if coin(r) {
			return nil
		}
		return []uint16{}
	}
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// arrange sorts unknown extensions into wire order, as a parser returns
// them.
func arrange(unknown []Extension, order []uint16) {
	slices.SortStableFunc(unknown, func(a, b Extension) int {
		return slices.Index(order, a.Type) - slices.Index(order, b.Type)
	})
}

func randomClientHello(r *rand.Rand) message {
	m := &ClientHello{
		Vers:               uint16(r.Uint32()),
		SessionID:          randBytes(r, 0, 32),
		CipherSuites:       randUint16s(r, 1, 20),
		CompressionMethods: randBytes(r, 1, 3),
	}
	for i := range m.Random {
		m.Random[i] = byte(r.Uint32())
	}
	var order []uint16
	set := func(t uint16) bool {
		if coin(r) {
			order = append(order, t)
			return true
		}
		return false
	}
	if set(ExtServerName) {
		// A HostName has no trailing dot (RFC 6066 §3).
		m.ServerName = randName(r) + "x"
	}
	m.StatusRequest = set(ExtStatusRequest)
	if !m.StatusRequest && coin(r) {
		// A status_request StatusRequest cannot describe stays raw.
		m.Unknown = append(m.Unknown, Extension{ExtStatusRequest, []byte{1, 0, 2, 0xaa, 0xbb, 0, 0}})
		order = append(order, ExtStatusRequest)
	}
	if set(ExtSupportedGroups) {
		m.SupportedGroups = randUint16s(r, 1, 10)
	}
	if set(ExtECPointFormats) {
		m.ECPointFormats = randBytes(r, 1, 3)
	}
	if set(ExtSignatureAlgorithms) {
		m.SignatureAlgorithms = randUint16s(r, 1, 20)
	}
	if set(ExtSignatureAlgorithmsCert) {
		m.SignatureAlgorithmsCert = randUint16s(r, 1, 20)
	}
	if set(ExtALPN) {
		m.ALPN = randProtocols(r, 1+r.IntN(3))
	}
	m.SCT = set(ExtSCT)
	m.EncryptThenMAC = set(ExtEncryptThenMAC)
	m.ExtendedMasterSecret = set(ExtExtendedMasterSecret)
	if m.TicketSupported = set(ExtSessionTicket); m.TicketSupported {
		m.SessionTicket = randBytes(r, 0, 100)
	}
	if set(ExtSupportedVersions) {
		m.SupportedVersions = randUint16s(r, 1, 5)
	}
	if set(ExtCookie) {
		m.Cookie = randBytes(r, 1, 60)
	}
	if set(ExtPSKKeyExchangeModes) {
		m.PSKModes = randBytes(r, 1, 2)
	}
	if set(ExtCertificateAuthorities) {
		m.CertificateAuthorities = randByteLists(r, 1, 3, 1, 40)
	}
	if m.HasTrustedCAKeys = set(ExtTrustedCAKeys); m.HasTrustedCAKeys {
		m.TrustedCAKeys = randTrustedAuthorities(r)
	}
	if m.HasKeyShare = set(ExtKeyShare); m.HasKeyShare {
		for range r.IntN(3) {
			m.KeyShares = append(m.KeyShares, KeyShare{uint16(r.Uint32()), randBytes(r, 1, 100)})
		}
	}
	m.EarlyData = set(ExtEarlyData)
	if m.SecureRenegotiationSupported = set(ExtRenegotiationInfo); m.SecureRenegotiationSupported {
		m.SecureRenegotiation = randBytes(r, 0, 12)
	}
	m.Unknown = append(m.Unknown, randUnknown(r, clientHelloField, &order)...)
	m.ExtensionOrder = shuffled(r, order)
	arrange(m.Unknown, m.ExtensionOrder)
	if coin(r) {
		for range 1 + r.IntN(3) {
			m.PSKIdentities = append(m.PSKIdentities, PSKIdentity{randBytes(r, 1, 50), r.Uint32()})
			m.PSKBinders = append(m.PSKBinders, randBytes(r, 32, 48))
		}
		m.ExtensionOrder = append(m.ExtensionOrder, ExtPreSharedKey)
	}
	return m
}

func randomServerHello(r *rand.Rand) message {
	m := &ServerHello{
		Vers:        uint16(r.Uint32()),
		SessionID:   randBytes(r, 0, 32),
		CipherSuite: uint16(r.Uint32()),
	}
	hrr := r.IntN(3) == 0
	if hrr {
		m.Random = HelloRetryRequestRandom
	} else {
		for i := range m.Random {
			m.Random[i] = byte(r.Uint32())
		}
	}
	var order []uint16
	set := func(t uint16) bool {
		if coin(r) {
			order = append(order, t)
			return true
		}
		return false
	}
	if set(ExtSupportedVersions) {
		m.SupportedVersion = 1 + uint16(r.IntN(0xffff))
	}
	if set(ExtKeyShare) {
		if hrr {
			m.HRRSelectedGroup = 1 + uint16(r.IntN(0xffff))
		} else {
			m.KeyShare = KeyShare{uint16(r.Uint32()), randBytes(r, 1, 100)}
		}
	}
	if set(ExtCookie) {
		m.Cookie = randBytes(r, 1, 60)
	}
	if m.PSKSelected = set(ExtPreSharedKey); m.PSKSelected {
		m.SelectedPSKIdentity = uint16(r.Uint32())
	}
	if m.SecureRenegotiationSupported = set(ExtRenegotiationInfo); m.SecureRenegotiationSupported {
		m.SecureRenegotiation = randBytes(r, 0, 24)
	}
	m.ExtendedMasterSecret = set(ExtExtendedMasterSecret)
	m.EncryptThenMAC = set(ExtEncryptThenMAC)
	m.TicketSupported = set(ExtSessionTicket)
	m.ServerNameAck = set(ExtServerName)
	m.StatusRequest = set(ExtStatusRequest)
	m.TrustedCAKeysAck = set(ExtTrustedCAKeys)
	if set(ExtALPN) {
		m.ALPN = randProtocols(r, 1)[0]
	}
	if set(ExtECPointFormats) {
		m.ECPointFormats = randBytes(r, 1, 3)
	}
	m.Unknown = randUnknown(r, serverHelloField, &order)
	m.ExtensionOrder = shuffled(r, order)
	arrange(m.Unknown, m.ExtensionOrder)
	return m
}

func randomEncryptedExtensions(r *rand.Rand) message {
	m := &EncryptedExtensions{}
	var order []uint16
	set := func(t uint16) bool {
		if coin(r) {
			order = append(order, t)
			return true
		}
		return false
	}
	if set(ExtALPN) {
		m.ALPN = randProtocols(r, 1)[0]
	}
	m.ServerNameAck = set(ExtServerName)
	if set(ExtSupportedGroups) {
		m.SupportedGroups = randUint16s(r, 1, 8)
	}
	m.EarlyData = set(ExtEarlyData)
	m.Unknown = randUnknown(r, encryptedExtensionsField, &order)
	if len(order) > 0 {
		m.ExtensionOrder = shuffled(r, order)
		arrange(m.Unknown, m.ExtensionOrder)
	}
	return m
}

func randomCertificate(r *rand.Rand) message {
	m := &Certificate{RequestContext: randBytes(r, 0, 10)}
	for range r.IntN(4) {
		e := CertificateEntry{Data: randBytes(r, 1, 300)}
		var order []uint16
		if coin(r) {
			e.OCSPStaple = randBytes(r, 1, 100)
			order = append(order, ExtStatusRequest)
		}
		if coin(r) {
			e.SCTs = randByteLists(r, 1, 3, 1, 50)
			order = append(order, ExtSCT)
		}
		e.Unknown = randUnknown(r, certificateEntryField, &order)
		if len(order) > 0 {
			e.ExtensionOrder = shuffled(r, order)
			arrange(e.Unknown, e.ExtensionOrder)
		}
		m.Entries = append(m.Entries, e)
	}
	return m
}

func randomCertificate12(r *rand.Rand) message {
	return &Certificate12{Certificates: randByteLists(r, 0, 4, 1, 300)}
}

func randomCertificateRequest(r *rand.Rand) message {
	m := &CertificateRequest{
		Context:             randBytes(r, 0, 10),
		SignatureAlgorithms: randUint16s(r, 1, 10),
	}
	order := []uint16{ExtSignatureAlgorithms}
	if coin(r) {
		m.SignatureAlgorithmsCert = randUint16s(r, 1, 10)
		order = append(order, ExtSignatureAlgorithmsCert)
	}
	if coin(r) {
		m.CertificateAuthorities = randByteLists(r, 1, 4, 1, 40)
		order = append(order, ExtCertificateAuthorities)
	}
	m.Unknown = randUnknown(r, certificateRequestField, &order)
	m.ExtensionOrder = shuffled(r, order)
	arrange(m.Unknown, m.ExtensionOrder)
	return m
}

func randomCertificateVerify(r *rand.Rand) message {
	return &CertificateVerify{Algorithm: uint16(r.Uint32()), Signature: randBytes(r, 0, 300)}
}

func randomFinished(r *rand.Rand) message {
	return &Finished{VerifyData: randBytes(r, 0, 64)}
}

func randomNewSessionTicket(r *rand.Rand) message {
	m := &NewSessionTicket{
		Lifetime: r.Uint32(),
		AgeAdd:   r.Uint32(),
		Nonce:    randBytes(r, 0, 16),
		Ticket:   randBytes(r, 1, 200),
	}
	var order []uint16
	if coin(r) {
		m.EarlyData, m.MaxEarlyData = true, r.Uint32()
		order = append(order, ExtEarlyData)
	}
	m.Unknown = randUnknown(r, func(t uint16) bool { return t == ExtEarlyData }, &order)
	if len(order) > 0 {
		m.ExtensionOrder = shuffled(r, order)
		arrange(m.Unknown, m.ExtensionOrder)
	}
	return m
}

func randomKeyUpdate(r *rand.Rand) message {
	return &KeyUpdate{UpdateRequested: coin(r)}
}

// --- comparison ----------------------------------------------------------

// normalise makes every empty slice in the struct behind p nil, except
// ExtensionOrder fields, where nil (no block) and empty (an empty block)
// differ.
func normalise(p any) {
	normaliseValue(reflect.ValueOf(p).Elem())
}

func normaliseValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			normaliseValue(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).Name == "ExtensionOrder" {
				continue
			}
			normaliseValue(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		for i := range v.Len() {
			normaliseValue(v.Index(i))
		}
	}
}

func rawOf(m message) []byte {
	return reflect.ValueOf(m).Elem().FieldByName("Raw").Bytes()
}

func reframe(typ byte, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// --- tests ---------------------------------------------------------------

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			for i := range 300 {
				m := c.random(r)
				enc, err := m.Marshal()
				if err != nil {
					t.Fatalf("#%d: Marshal: %v\n%#v", i, err, m)
				}
				if !bytes.Equal(rawOf(m), enc) {
					t.Fatalf("#%d: Marshal did not set Raw", i)
				}
				got, err := c.parse(enc)
				if err != nil {
					t.Fatalf("#%d: Parse(Marshal()): %v\n%#v\n%x", i, err, m, enc)
				}
				if !bytes.Equal(rawOf(got), enc) {
					t.Fatalf("#%d: Raw is not the parsed bytes", i)
				}
				normalise(m)
				normalise(got)
				if !reflect.DeepEqual(m, got) {
					t.Fatalf("#%d: round trip changed the message\nwant %#v\ngot  %#v", i, m, got)
				}
				again, err := got.Marshal()
				if err != nil || !bytes.Equal(again, enc) {
					t.Fatalf("#%d: re-Marshal: %v\n%x\n%x", i, err, again, enc)
				}
			}
		})
	}
}

// TestTruncatedAndTrailing cuts and extends valid encodings: a strict
// prefix under the original header, and a byte past the end, are both
// decode_error; a cut body under a fixed-up header either fails with an
// alert reason or is itself a canonical message.
func TestTruncatedAndTrailing(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			for i := range 40 {
				enc, err := c.random(r).Marshal()
				if err != nil {
					t.Fatal(err)
				}
				for n := range len(enc) {
					if _, err := c.parse(enc[:n]); alert.For(err) != alert.DecodeError {
						t.Fatalf("#%d: prefix of %d/%d bytes: got %v (%v), want decode_error", i, n, len(enc), alert.For(err), err)
					}
				}
				if _, err := c.parse(append(slices.Clip(enc), 0)); alert.For(err) != alert.DecodeError {
					t.Fatalf("#%d: trailing byte past the header's length: got %v", i, err)
				}
				body := enc[HeaderLen:]
				for n := range len(body) {
					cut := reframe(enc[0], body[:n])
					m, err := c.parse(cut)
					if err != nil {
						if alert.For(err) == alert.InternalError {
							t.Fatalf("#%d: body cut to %d: error wraps no reason: %v", i, n, err)
						}
						continue
					}
					if again, err := m.Marshal(); err != nil || !bytes.Equal(again, cut) {
						t.Fatalf("#%d: body cut to %d parsed but does not re-marshal: %v", i, n, err)
					}
				}
				if c.name == "Finished" {
					continue // verify_data is the whole body: a longer one parses
				}
				long := reframe(enc[0], append(slices.Clip(body), 0))
				if _, err := c.parse(long); alert.For(err) != alert.DecodeError {
					t.Fatalf("#%d: trailing byte inside the body: got %v (%v), want decode_error", i, alert.For(err), err)
				}
			}
		})
	}
}

// TestParseCopies checks that no parsed field aliases the input: the
// input is overwritten after parsing and the message must not change.
func TestParseCopies(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range codecs {
		for range 20 {
			enc, err := c.random(r).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			in := bytes.Clone(enc)
			m, err := c.parse(in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range in {
				in[i] ^= 0xff
			}
			if again, err := m.Marshal(); err != nil || !bytes.Equal(again, enc) {
				t.Fatalf("%s: message changed when its input was overwritten", c.name)
			}
		}
	}
}

// TestFieldsDoNotOverlap appends to every parsed byte field: capacity is
// cut, so no append may write into Raw.
func TestFieldsDoNotOverlap(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m := randomClientHello(r).(*ClientHello)
	m.SessionID = []byte{1, 2, 3}
	enc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseClientHello(enc)
	if err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(got.Raw)
	_ = append(got.SessionID, 9, 9, 9, 9)
	_ = append(got.CompressionMethods, 9, 9, 9, 9)
	if !bytes.Equal(got.Raw, before) {
		t.Fatal("append to a parsed field wrote into Raw")
	}
}

func TestMarshalDefaultOrder(t *testing.T) {
	m := &ClientHello{
		Vers:                0x0303,
		CipherSuites:        []uint16{0x1301},
		CompressionMethods:  []byte{0},
		ServerName:          "example.test",
		SupportedVersions:   []uint16{0x0304},
		PSKIdentities:       []PSKIdentity{{Identity: []byte("id"), ObfuscatedAge: 7}},
		PSKBinders:          [][]byte{make([]byte, 32)},
		SignatureAlgorithms: []uint16{0x0403},
		// pre_shared_key listed first must still be written last.
		ExtensionOrder: []uint16{ExtPreSharedKey, ExtSupportedVersions},
	}
	enc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseClientHello(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint16{ExtSupportedVersions, ExtServerName, ExtSignatureAlgorithms, ExtPreSharedKey}
	if !slices.Equal(got.ExtensionOrder, want) {
		t.Fatalf("order %v, want %v", got.ExtensionOrder, want)
	}
}

func TestMarshalRefuses(t *testing.T) {
	hello := func(f func(*ClientHello)) message {
		m := &ClientHello{CipherSuites: []uint16{0x1301}, CompressionMethods: []byte{0}}
		f(m)
		return m
	}
	cases := []struct {
		name string
		m    message
	}{
		{"long session id", hello(func(m *ClientHello) { m.SessionID = make([]byte, 33) })},
		{"no cipher suites", hello(func(m *ClientHello) { m.CipherSuites = nil })},
		{"empty ALPN name", hello(func(m *ClientHello) { m.ALPN = []string{"h2", ""} })},
		{"bad host name", hello(func(m *ClientHello) { m.ServerName = "a b" })},
		{"host name with a trailing dot", hello(func(m *ClientHello) { m.ServerName = "example.test." })},
		{"binder count", hello(func(m *ClientHello) { m.PSKIdentities = []PSKIdentity{{Identity: []byte{1}}} })},
		{"short binder", hello(func(m *ClientHello) {
			m.PSKIdentities, m.PSKBinders = []PSKIdentity{{Identity: []byte{1}}}, [][]byte{make([]byte, 31)}
		})},
		{"known type in Unknown", hello(func(m *ClientHello) { m.Unknown = []Extension{{Type: ExtCookie, Data: []byte{0, 1, 1}}} })},
		{"duplicate unknown", hello(func(m *ClientHello) { m.Unknown = []Extension{{Type: 999}, {Type: 999}} })},
		{"empty key share", hello(func(m *ClientHello) { m.KeyShares = []KeyShare{{Group: 29}} })},
		{"server hello compression", &ServerHello{CompressionMethod: 1}},
		{"HRR with key share", &ServerHello{Random: HelloRetryRequestRandom, KeyShare: KeyShare{29, []byte{1}}}},
		{"empty cert", &Certificate{Entries: []CertificateEntry{{}}}},
		{"no signature_algorithms", &CertificateRequest{}},
		{"empty ticket", &NewSessionTicket{}},
	}
	for _, c := range cases {
		if _, err := c.m.Marshal(); err == nil {
			t.Errorf("%s: Marshal succeeded", c.name)
		}
	}
}

func TestBinders(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 50 {
		m := randomClientHello(r).(*ClientHello)
		m.PSKIdentities = []PSKIdentity{{[]byte("a"), 1}, {[]byte("bb"), 2}}
		m.PSKBinders = [][]byte{make([]byte, 32), make([]byte, 48)}
		enc, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		trunc, err := m.TruncatedForBinders()
		if err != nil {
			t.Fatal(err)
		}
		// The binders list is 2 + (1+32) + (1+48) bytes at the very end.
		if len(trunc) != len(enc)-2-33-49 || !bytes.HasPrefix(enc, trunc) {
			t.Fatalf("truncated hello is %d of %d bytes", len(trunc), len(enc))
		}
		b0, b1 := bytes.Repeat([]byte{0xb0}, 32), bytes.Repeat([]byte{0xb1}, 48)
		if err := m.UpdateBinders([][]byte{b0, b1}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Raw[:len(trunc)], trunc) {
			t.Fatal("UpdateBinders changed bytes before the binders")
		}
		got, err := ParseClientHello(m.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.PSKBinders[0], b0) || !bytes.Equal(got.PSKBinders[1], b1) ||
			!bytes.Equal(m.PSKBinders[1], b1) {
			t.Fatal("binders not written")
		}
		if err := m.UpdateBinders([][]byte{b0}); err == nil {
			t.Fatal("UpdateBinders took one binder for two identities")
		}
		if err := m.UpdateBinders([][]byte{b0, b0}); err == nil {
			t.Fatal("UpdateBinders took a binder of another length")
		}
	}
	if _, err := (&ClientHello{}).TruncatedForBinders(); err == nil {
		t.Fatal("TruncatedForBinders without a PSK succeeded")
	}
}

func TestMessageHash(t *testing.T) {
	h := bytes.Repeat([]byte{0xab}, 32)
	got := MessageHash(h)
	want := append([]byte{254, 0, 0, 32}, h...)
	if !bytes.Equal(got, want) {
		t.Fatalf("MessageHash = %x", got)
	}
}

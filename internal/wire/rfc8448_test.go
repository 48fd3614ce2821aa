package wire

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// The messages of RFC 8448's traces, as the RFC prints them. The
// transcript hashes the RFC gives are checked over the parsed Raw bytes,
// so a mistyped byte here fails the test rather than hiding.

const rfc8448ClientHello = `
01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2 ef 62 83
02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01
00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 23 00 00 00 33 00
26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69
1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01
05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01`

const rfc8448ServerHello = `
02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e
d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1
56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04`

// rfc8448ServerFlight is the decrypted payload of the server's first
// protected record: EncryptedExtensions, Certificate, CertificateVerify
// and Finished in one record.
const rfc8448ServerFlight = `
08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 1c 00 02
40 01 00 00 00 00 0b 00 01 b9 00 00 01 b5 00 01 b0 30 82 01 ac 30 82 01 15 a0 03 02 01 02 02 01 02 30
0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05 00 30 0e 31 0c 30 0a 06 03 55 04 03 13 03 72 73 61 30 1e 17 0d
31 36 30 37 33 30 30 31 32 33 35 39 5a 17 0d 32 36 30 37 33 30 30 31 32 33 35 39 5a 30 0e 31 0c 30 0a
06 03 55 04 03 13 03 72 73 61 30 81 9f 30 0d 06 09 2a 86 48 86 f7 0d 01 01 01 05 00 03 81 8d 00 30 81
89 02 81 81 00 b4 bb 49 8f 82 79 30 3d 98 08 36 39 9b 36 c6 98 8c 0c 68 de 55 e1 bd b8 26 d3 90 1a 24
61 ea fd 2d e4 9a 91 d0 15 ab bc 9a 95 13 7a ce 6c 1a f1 9e aa 6a f9 8c 7c ed 43 12 09 98 e1 87 a8 0e
e0 cc b0 52 4b 1b 01 8c 3e 0b 63 26 4d 44 9a 6d 38 e2 2a 5f da 43 08 46 74 80 30 53 0e f0 46 1c 8c a9
d9 ef bf ae 8e a6 d1 d0 3e 2b d1 93 ef f0 ab 9a 80 02 c4 74 28 a6 d3 5a 8d 88 d7 9f 7f 1e 3f 02 03 01
00 01 a3 1a 30 18 30 09 06 03 55 1d 13 04 02 30 00 30 0b 06 03 55 1d 0f 04 04 03 02 05 a0 30 0d 06 09
2a 86 48 86 f7 0d 01 01 0b 05 00 03 81 81 00 85 aa d2 a0 e5 b9 27 6b 90 8c 65 f7 3a 72 67 17 06 18 a5
4c 5f 8a 7b 33 7d 2d f7 a5 94 36 54 17 f2 ea e8 f8 a5 8c 8f 81 72 f9 31 9c f3 6b 7f d6 c5 5b 80 f2 1a
03 01 51 56 72 60 96 fd 33 5e 5e 67 f2 db f1 02 70 2e 60 8c ca e6 be c1 fc 63 a4 2a 99 be 5c 3e b7 10
7c 3c 54 e9 b9 eb 2b d5 20 3b 1c 3b 84 e0 a8 b2 f7 59 40 9b a3 ea c9 d9 1d 40 2d cc 0c c8 f8 96 12 29
ac 91 87 b4 2b 4d e1 00 00 0f 00 00 84 08 04 00 80 5a 74 7c 5d 88 fa 9b d2 e5 5a b0 85 a6 10 15 b7 21
1f 82 4c d4 84 14 5a b3 ff 52 f1 fd a8 47 7b 0b 7a bc 90 db 78 e2 d3 3a 5c 14 1a 07 86 53 fa 6b ef 78
0c 5e a2 48 ee aa a7 85 c4 f3 94 ca b6 d3 0b be 8d 48 59 ee 51 1f 60 29 57 b1 54 11 ac 02 76 71 45 9e
46 44 5c 9e a5 8c 18 1e 81 8e 95 b8 c3 fb 0b f3 27 84 09 d3 be 15 2a 3d a5 04 3e 06 3d da 65 cd f5 ae
a2 0d 53 df ac d4 2f 74 f3 14 00 00 20 9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de da 4a b4 2c 30 95
72 cb 7f ff ee 54 54 b7 8f 07 18`

const rfc8448ClientFinished = `
14 00 00 20 a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76 94 fa c6 e9 85 27 b6 42 f2 ed d5
ce 61`

const rfc8448NewSessionTicket = `
04 00 00 c9 00 00 00 1e fa d6 aa c5 02 00 00 00 b2 2c 03 5d 82 93 59 ee 5f f7 af 4e c9 00 00 00 00 26
2a 64 94 dc 48 6d 2c 8a 34 cb 33 fa 90 bf 1b 00 70 ad 3c 49 88 83 c9 36 7c 09 a2 be 78 5a bc 55 cd 22
60 97 a3 a9 82 11 72 83 f8 2a 03 a1 43 ef d3 ff 5d d3 6d 64 e8 61 be 7f d6 1d 28 27 db 27 9c ce 14 50
77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0 37 25 a6 a4 da fc d0 fc 67 d2 ae a7 05 29 51 3e 3d a2 67 7f a5 90
6c 5b 3f 7d 8f 92 f2 28 bd a4 0d da 72 14 70 f9 fb f2 97 b5 ae a6 17 64 6f ac 5c 03 27 2e 97 07 27 c6
21 a7 91 41 ef 5f 7d e6 50 5e 5b fb c3 88 e9 33 43 69 40 93 93 4a e4 d3 57 00 08 00 2a 00 04 00 00 04
00`

// rfc8448ResumedClientHello is RFC 8448 §4's ClientHello, binder filled
// in.
const rfc8448ResumedClientHello = `
01 00 01 fc 03 03 1b c3 ce b6 bb e3 9c ff 93 83 55 b5 a5 0a db 6d b2 1b 7a 6a f6 49 d7 b4 bc 41 9d 78
76 48 7d 95 00 00 06 13 01 13 03 13 02 01 00 01 cd 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01
00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 33 00 26 00 24 00
1d 00 20 e4 ff b6 8a c0 5f 8d 96 c9 9d a2 66 98 34 6c 6b e1 64 82 ba dd da fe 05 1a 66 b4 f1 8d 66 8f
0b 00 2a 00 00 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01
05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01 00 15 00 57 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 29 00 dd 00 b8 00 b2 2c 03 5d 82 93 59 ee 5f f7 af 4e
c9 00 00 00 00 26 2a 64 94 dc 48 6d 2c 8a 34 cb 33 fa 90 bf 1b 00 70 ad 3c 49 88 83 c9 36 7c 09 a2 be
78 5a bc 55 cd 22 60 97 a3 a9 82 11 72 83 f8 2a 03 a1 43 ef d3 ff 5d d3 6d 64 e8 61 be 7f d6 1d 28 27
db 27 9c ce 14 50 77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0 37 25 a6 a4 da fc d0 fc 67 d2 ae a7 05 29 51 3e
3d a2 67 7f a5 90 6c 5b 3f 7d 8f 92 f2 28 bd a4 0d da 72 14 70 f9 fb f2 97 b5 ae a6 17 64 6f ac 5c 03
27 2e 97 07 27 c6 21 a7 91 41 ef 5f 7d e6 50 5e 5b fb c3 88 e9 33 43 69 40 93 93 4a e4 d3 57 fa d6 aa
cb 00 21 20 3a dd 4f b2 d8 fd f8 22 a0 ca 3c f7 67 8e f5 e8 8d ae 99 01 41 c5 92 4d 57 bb 6f a3 1b 9e
5f 9d`

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// remarshal checks that m re-encodes to exactly in.
func remarshal(t *testing.T, name string, m message, in []byte) {
	t.Helper()
	out, err := m.Marshal()
	if err != nil {
		t.Fatalf("%s: Marshal: %v", name, err)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("%s: Marshal changed the bytes\n got %x\nwant %x", name, out, in)
	}
}

func TestRFC8448Simple1RTT(t *testing.T) {
	chBytes := unhex(t, rfc8448ClientHello)
	ch, err := ParseClientHello(chBytes)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ServerName != "server" {
		t.Errorf("ServerName %q", ch.ServerName)
	}
	if !slices.Equal(ch.CipherSuites, []uint16{0x1301, 0x1303, 0x1302}) {
		t.Errorf("CipherSuites %04x", ch.CipherSuites)
	}
	if !slices.Equal(ch.SupportedVersions, []uint16{0x0304}) {
		t.Errorf("SupportedVersions %04x", ch.SupportedVersions)
	}
	wantKey := unhex(t, "99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c")
	if len(ch.KeyShares) != 1 || ch.KeyShares[0].Group != 0x001d || !bytes.Equal(ch.KeyShares[0].Data, wantKey) {
		t.Errorf("KeyShares %x", ch.KeyShares)
	}
	if !ch.TicketSupported || ch.SessionTicket != nil || !ch.SecureRenegotiationSupported ||
		!slices.Equal(ch.PSKModes, []byte{1}) || len(ch.SignatureAlgorithms) != 15 {
		t.Errorf("extensions misread: %+v", ch)
	}
	// record_size_limit (RFC 8449) is not interpreted: it survives raw.
	if len(ch.Unknown) != 1 || ch.Unknown[0].Type != ExtRecordSizeLimit || !bytes.Equal(ch.Unknown[0].Data, []byte{0x40, 0x01}) {
		t.Errorf("Unknown %v", ch.Unknown)
	}
	wantOrder := []uint16{ExtServerName, ExtRenegotiationInfo, ExtSupportedGroups, ExtSessionTicket, ExtKeyShare,
		ExtSupportedVersions, ExtSignatureAlgorithms, ExtPSKKeyExchangeModes, ExtRecordSizeLimit}
	if !slices.Equal(ch.ExtensionOrder, wantOrder) {
		t.Errorf("ExtensionOrder %v", ch.ExtensionOrder)
	}
	remarshal(t, "ClientHello", ch, chBytes)

	shBytes := unhex(t, rfc8448ServerHello)
	sh, err := ParseServerHello(shBytes)
	if err != nil {
		t.Fatal(err)
	}
	wantShare := unhex(t, "c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f")
	if sh.IsHelloRetryRequest() || sh.CipherSuite != 0x1301 || sh.SupportedVersion != 0x0304 ||
		sh.KeyShare.Group != 0x001d || !bytes.Equal(sh.KeyShare.Data, wantShare) || sh.SessionID != nil {
		t.Errorf("ServerHello misread: %+v", sh)
	}
	remarshal(t, "ServerHello", sh, shBytes)

	// The server flight arrives in one record: the Reassembler splits it.
	var r Reassembler
	r.Add(unhex(t, rfc8448ServerFlight))
	var flight [][]byte
	for {
		msg, ok, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		flight = append(flight, msg)
	}
	if len(flight) != 4 || r.Buffered() != 0 {
		t.Fatalf("server flight split into %d messages, %d bytes left", len(flight), r.Buffered())
	}
	ee, err := ParseEncryptedExtensions(flight[0])
	if err != nil {
		t.Fatal(err)
	}
	if !ee.ServerNameAck || len(ee.SupportedGroups) != 9 || ee.ALPN != "" || len(ee.Unknown) != 1 {
		t.Errorf("EncryptedExtensions misread: %+v", ee)
	}
	remarshal(t, "EncryptedExtensions", ee, flight[0])
	cert, err := ParseCertificate(flight[1])
	if err != nil {
		t.Fatal(err)
	}
	if cert.RequestContext != nil || len(cert.Entries) != 1 || len(cert.Entries[0].Data) != 0x1b0 {
		t.Errorf("Certificate misread")
	}
	remarshal(t, "Certificate", cert, flight[1])
	cv, err := ParseCertificateVerify(flight[2])
	if err != nil {
		t.Fatal(err)
	}
	if cv.Algorithm != 0x0804 || len(cv.Signature) != 128 {
		t.Errorf("CertificateVerify: scheme %04x, %d-byte signature", cv.Algorithm, len(cv.Signature))
	}
	remarshal(t, "CertificateVerify", cv, flight[2])
	fin, err := ParseFinished(flight[3])
	if err != nil {
		t.Fatal(err)
	}
	remarshal(t, "Finished", fin, flight[3])

	// Transcript hashes from RFC 8448 §3, over the parsed Raw bytes.
	h := sha256.New()
	h.Write(ch.Raw)
	h.Write(sh.Raw)
	if got, want := h.Sum(nil), unhex(t, "86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8"); !bytes.Equal(got, want) {
		t.Errorf("Transcript-Hash(CH, SH) = %x", got)
	}
	for _, m := range [][]byte{ee.Raw, cert.Raw, cv.Raw, fin.Raw} {
		h.Write(m)
	}
	if got, want := h.Sum(nil), unhex(t, "96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d aa e4 77 7a 76 86 c9 ff 83 df 13"); !bytes.Equal(got, want) {
		t.Errorf("Transcript-Hash(CH..server Finished) = %x", got)
	}

	cfinBytes := unhex(t, rfc8448ClientFinished)
	cfin, err := ParseFinished(cfinBytes)
	if err != nil {
		t.Fatal(err)
	}
	remarshal(t, "client Finished", cfin, cfinBytes)

	nstBytes := unhex(t, rfc8448NewSessionTicket)
	nst, err := ParseNewSessionTicket(nstBytes)
	if err != nil {
		t.Fatal(err)
	}
	if nst.Lifetime != 30 || nst.AgeAdd != 0xfad6aac5 || !bytes.Equal(nst.Nonce, []byte{0, 0}) ||
		len(nst.Ticket) != 0xb2 || !nst.EarlyData || nst.MaxEarlyData != 0x400 {
		t.Errorf("NewSessionTicket misread: %+v", nst)
	}
	remarshal(t, "NewSessionTicket", nst, nstBytes)
}

// TestRFC8448ResumedBinder recomputes RFC 8448 §4's PSK binder over
// TruncatedForBinders, from §3's resumption_master_secret and ticket: the
// binder must be the one in the message.
func TestRFC8448ResumedBinder(t *testing.T) {
	in := unhex(t, rfc8448ResumedClientHello)
	ch, err := ParseClientHello(in)
	if err != nil {
		t.Fatal(err)
	}
	remarshal(t, "resumed ClientHello", ch, in)
	if len(ch.PSKIdentities) != 1 || len(ch.PSKBinders) != 1 || !ch.EarlyData ||
		ch.PSKIdentities[0].ObfuscatedAge != 0xfad6aacb || len(ch.PSKIdentities[0].Identity) != 0xb2 {
		t.Fatalf("PSK offer misread: %+v", ch.PSKIdentities)
	}
	if got := ch.ExtensionOrder[len(ch.ExtensionOrder)-1]; got != ExtPreSharedKey {
		t.Fatalf("last extension %d", got)
	}
	trunc, err := ch.TruncatedForBinders()
	if err != nil {
		t.Fatal(err)
	}
	if len(trunc) != len(in)-(2+1+32) {
		t.Fatalf("truncated hello is %d bytes", len(trunc))
	}

	resMaster := unhex(t, "7d f2 35 f2 03 1d 2a 05 12 87 d0 2b 02 41 b0 bf da f8 6c c8 56 23 1f 2d 5a ba 46 c4 34 ec 19 6c")
	expandLabel := func(secret []byte, label string, context []byte) []byte {
		info := cat(u16(32), v8([]byte("tls13 "+label)), v8(context))
		out, err := hkdf.Expand(sha256.New, secret, string(info), 32)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	psk := expandLabel(resMaster, "resumption", []byte{0, 0})
	early, err := hkdf.Extract(sha256.New, psk, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	empty := sha256.Sum256(nil)
	finishedKey := expandLabel(expandLabel(early, "res binder", empty[:]), "finished", nil)
	th := sha256.Sum256(trunc)
	mac := hmac.New(sha256.New, finishedKey)
	mac.Write(th[:])
	binder := mac.Sum(nil)
	if !bytes.Equal(binder, ch.PSKBinders[0]) {
		t.Fatalf("binder over TruncatedForBinders is %x, message has %x", binder, ch.PSKBinders[0])
	}

	// A client's path: placeholder binder, then UpdateBinders.
	ch.PSKBinders = [][]byte{make([]byte, 32)}
	if _, err := ch.Marshal(); err != nil {
		t.Fatal(err)
	}
	if err := ch.UpdateBinders([][]byte{binder}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ch.Raw, in) {
		t.Fatal("UpdateBinders did not rebuild RFC 8448's ClientHello")
	}
}

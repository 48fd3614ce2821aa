package hkdf

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/holdfast-tls/holdfast/mem"
)

// unhex reads hex written the way the RFCs print it: spaced, wrapped.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad test hex %q: %v", s, err)
	}
	return b
}

// secretOf puts public test bytes into a mem.Secret.
func secretOf(t testing.TB, b []byte) *mem.Secret {
	t.Helper()
	s, err := mem.New(len(b))
	if err != nil {
		t.Fatal(err)
	}
	copy(s.Bytes(), b)
	t.Cleanup(func() {
		if !s.Freed() {
			s.Free()
		}
	})
	return s
}

func newSecret(t testing.TB, n int) *mem.Secret {
	t.Helper()
	s, err := mem.New(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !s.Freed() {
			s.Free()
		}
	})
	return s
}

func expectSecret(t *testing.T, name string, got *mem.Secret, want string) {
	t.Helper()
	if w := unhex(t, want); !got.EqualBytes(w) {
		t.Errorf("%s:\n got %x\nwant %x", name, got.Bytes(), w)
	}
}

func seq(from, to int) []byte {
	var b []byte
	for i := from; i <= to; i++ {
		b = append(b, byte(i))
	}
	return b
}

// RFC 5869 Appendix A, test cases 1 to 3 (the SHA-256 ones).
func TestRFC5869(t *testing.T) {
	cases := []struct {
		name            string
		ikm, salt, info []byte
		prk, okm        string
	}{
		{
			name: "A.1 basic", ikm: bytes.Repeat([]byte{0x0b}, 22), salt: seq(0x00, 0x0c), info: seq(0xf0, 0xf9),
			prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
			okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
		},
		{
			name: "A.2 longer inputs", ikm: seq(0x00, 0x4f), salt: seq(0x60, 0xaf), info: seq(0xb0, 0xff),
			prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
			okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
		},
		{
			name: "A.3 empty salt and info", ikm: bytes.Repeat([]byte{0x0b}, 22),
			prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
			okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var salt *mem.Secret
			if len(c.salt) > 0 {
				salt = secretOf(t, c.salt)
			}
			prk := newSecret(t, 32)
			if err := Extract(SHA256, prk, salt, secretOf(t, c.ikm)); err != nil {
				t.Fatal(err)
			}
			expectSecret(t, "PRK", prk, c.prk)
			okm := newSecret(t, len(unhex(t, c.okm)))
			if err := Expand(SHA256, okm, prk, c.info); err != nil {
				t.Fatal(err)
			}
			expectSecret(t, "OKM", okm, c.okm)
		})
	}
}

// TLS 1.2 PRF vectors for SHA-256 and SHA-384 as published with the TLS
// working group's PRF test vectors; each also reproduced by "openssl kdf
// TLS1-PRF" (see openssl_test.go).
func TestPRFVectors(t *testing.T) {
	cases := []struct {
		h                  Hash
		secret, seed, want string
	}{
		{SHA256, "9bbe436ba940f017b17652849a71db35", "a0ba9f936cda311827a6f796ffd5198c",
			"e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"},
		{SHA384, "b80b733d6ceefcdc71566ea48e5567df", "cd665cf6a8447dd6ff8b27555edb7465",
			"7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f"},
	}
	for _, c := range cases {
		t.Run(c.h.String(), func(t *testing.T) {
			out := newSecret(t, len(unhex(t, c.want)))
			seed := unhex(t, c.seed)
			// The seed in two parts must equal the seed in one.
			for _, parts := range [][][]byte{{seed}, {seed[:5], seed[5:]}} {
				if err := PRF(c.h, out, secretOf(t, unhex(t, c.secret)), "test label", parts...); err != nil {
					t.Fatal(err)
				}
				expectSecret(t, "PRF output", out, c.want)
			}
		})
	}
}

// RFC 8448 §3, "Simple 1-RTT Handshake", TLS_AES_128_GCM_SHA256 over
// X25519: the key schedule derived stage by stage from the trace's own
// inputs (the X25519 keys and the ClientHello and ServerHello bytes).
func TestRFC8448SimpleHandshake(t *testing.T) {
	clientPriv := unhex(t, "49 af 42 ba 7f 79 94 85 2d 71 3e f2 78 4b cb ca a7 91 1d e2 6a dc 56 42 cb 63 45 40 e7 ea 50 05")
	serverPub := unhex(t, "c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f")
	clientHello := unhex(t, `01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2
		1a 8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01
		00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00
		0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00
		23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e
		43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00
		03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06
		04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c
		00 02 40 01`)
	serverHello := unhex(t, `02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c
		d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00
		2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72
		e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04`)
	// Transcript hashes the trace logs for messages this test does not
	// carry in full (the server's encrypted flight, the client Finished).
	throughServerFinished := unhex(t, "96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d aa e4 77 7a 76 86 c9 ff 83 df 13")
	throughClientFinished := unhex(t, "20 91 45 a9 6e e8 e2 a1 22 ff 81 00 47 cc 95 26 84 65 8d 60 49 e8 64 29 42 6d b8 7c 54 ad 14 3d")

	early, err := NewEarlySecret(SHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Free()
	expectSecret(t, "early secret", early.s, "33 ad 0a 1c 60 7e c0 3b 09 e6 cd 98 93 68 0c e2 10 ad f3 00 aa 1f 26 60 e1 b2 2e 10 f1 70 f9 2a")

	priv, err := ecdh.X25519().NewPrivateKey(clientPriv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ecdh.X25519().NewPublicKey(serverPub)
	if err != nil {
		t.Fatal(err)
	}
	sharedBytes, err := priv.ECDH(pub)
	if err != nil {
		t.Fatal(err)
	}
	shared := secretOf(t, sharedBytes)
	expectSecret(t, "(EC)DHE shared secret", shared, "8b d4 05 4f b5 5b 9d 63 fd fb ac f9 f0 4b 9f 0d 35 e6 d6 3f 53 75 63 ef d4 62 72 90 0f 89 49 2d")

	hs, err := early.Handshake(shared)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Free()
	if early.s != nil {
		t.Fatal("early secret still held after moving to the handshake stage")
	}
	expectSecret(t, "handshake secret", hs.s, "1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f be ac")

	chsh := sha256.Sum256(append(append([]byte(nil), clientHello...), serverHello...))
	if want := unhex(t, "86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8"); !bytes.Equal(chsh[:], want) {
		t.Fatalf("transcript hash of ClientHello..ServerHello = %x, want %x", chsh, want)
	}
	cHS, err := hs.ClientTrafficSecret(chsh[:])
	if err != nil {
		t.Fatal(err)
	}
	defer cHS.Free()
	expectSecret(t, "client_handshake_traffic_secret", cHS, "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21")
	sHS, err := hs.ServerTrafficSecret(chsh[:])
	if err != nil {
		t.Fatal(err)
	}
	defer sHS.Free()
	expectSecret(t, "server_handshake_traffic_secret", sHS, "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38")

	key, iv := newSecret(t, 16), newSecret(t, 12)
	if err := TrafficKey(SHA256, key, iv, sHS); err != nil {
		t.Fatal(err)
	}
	expectSecret(t, "server handshake write key", key, "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
	expectSecret(t, "server handshake write iv", iv, "5d 31 3e b2 67 12 76 ee 13 00 0b 30")
	if err := TrafficKey(SHA256, key, iv, cHS); err != nil {
		t.Fatal(err)
	}
	expectSecret(t, "client handshake write key", key, "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01")
	expectSecret(t, "client handshake write iv", iv, "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f")

	finKey := newSecret(t, 32)
	if err := FinishedKey(SHA256, finKey, sHS); err != nil {
		t.Fatal(err)
	}
	expectSecret(t, "server finished_key", finKey, "00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 bf 49 2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8")
	if err := FinishedKey(SHA256, finKey, cHS); err != nil {
		t.Fatal(err)
	}
	expectSecret(t, "client finished_key", finKey, "b8 0a d0 10 15 fb 2f 0b d6 5f f7 d4 da 5d 6b f8 3f 84 82 1d 1f 87 fd c7 d3 c7 5b 5a 7b 42 d9 c4")
	verify := make([]byte, 32)
	if err := MAC(SHA256, verify, finKey, throughServerFinished); err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76 94 fa c6 e9 85 27 b6 42 f2 ed d5 ce 61"); !bytes.Equal(verify, want) {
		t.Errorf("client Finished verify_data = %x, want %x", verify, want)
	}

	ms, err := hs.Master()
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Free()
	expectSecret(t, "master secret", ms.s, "18 df 06 84 3d 13 a0 8b f2 a4 49 84 4c 5f 8a 47 80 01 bc 4d 4c 62 79 84 d5 a4 1d a8 d0 40 29 19")

	for _, c := range []struct {
		name   string
		derive func([]byte) (*mem.Secret, error)
		th     []byte
		want   string
	}{
		{"client_application_traffic_secret_0", ms.ClientTrafficSecret, throughServerFinished, "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5"},
		{"server_application_traffic_secret_0", ms.ServerTrafficSecret, throughServerFinished, "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43"},
		{"exporter_master_secret", ms.ExporterMasterSecret, throughServerFinished, "fe 22 f8 81 17 6e da 18 eb 8f 44 52 9e 67 92 c5 0c 9a 3f 89 45 2f 68 d8 ae 31 1b 43 09 d3 cf 50"},
		{"resumption_master_secret", ms.ResumptionMasterSecret, throughClientFinished, "7d f2 35 f2 03 1d 2a 05 12 87 d0 2b 02 41 b0 bf da f8 6c c8 56 23 1f 2d 5a ba 46 c4 34 ec 19 6c"},
	} {
		s, err := c.derive(c.th)
		if err != nil {
			t.Fatal(err)
		}
		expectSecret(t, c.name, s, c.want)
		switch c.name {
		case "server_application_traffic_secret_0":
			if err := TrafficKey(SHA256, key, iv, s); err != nil {
				t.Fatal(err)
			}
			expectSecret(t, "server application write key", key, "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56")
			expectSecret(t, "server application write iv", iv, "cf 78 2b 88 dd 83 54 9a ad f1 e9 84")
		case "client_application_traffic_secret_0":
			if err := TrafficKey(SHA256, key, iv, s); err != nil {
				t.Fatal(err)
			}
			expectSecret(t, "client application write key", key, "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51")
			expectSecret(t, "client application write iv", iv, "5b 78 92 3d ee 08 57 90 33 e5 23 d9")
		case "resumption_master_secret":
			psk := newSecret(t, 32)
			if err := ResumptionPSK(SHA256, psk, s, []byte{0, 0}); err != nil {
				t.Fatal(err)
			}
			expectSecret(t, "ticket PSK (nonce 00 00)", psk, "4e cd 0e b6 ec 3b 4d 87 f5 d6 02 8f 92 2c a4 c5 85 1a 27 7f d4 13 11 c9 e6 2d 2c 94 92 e1 c4 f3")
		}
		s.Free()
	}
	if hs.s != nil {
		t.Fatal("handshake secret still held after moving to the master stage")
	}
}

package wire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

func TestCachedInfoRoundTrip(t *testing.T) {
	h1, h2 := sha256.Sum256([]byte("chain one")), sha256.Sum256([]byte("chain two"))
	objs := []CachedObject{{Type: CachedCert, Hash: h1[:]}, {Type: CachedCert, Hash: h2[:]}, {Type: 200, Hash: []byte{1}}}
	body, err := MarshalClientCachedInfo(objs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseClientCachedInfo(body)
	if err != nil || len(back) != 3 || !bytes.Equal(back[1].Hash, h2[:]) || back[2].Type != 200 {
		t.Fatalf("client round trip: %v %+v", err, back)
	}
	sbody, _ := MarshalServerCachedInfo([]uint8{CachedCert})
	if types, err := ParseServerCachedInfo(sbody); err != nil || !bytes.Equal(types, []uint8{CachedCert}) {
		t.Fatalf("server round trip: %v %v", err, types)
	}
	msg, _ := MarshalCachedMessage(TypeCertificate, h1[:])
	if h, err := ParseCachedMessage(msg, TypeCertificate); err != nil || !bytes.Equal(h, h1[:]) {
		t.Fatalf("digest message round trip: %v", err)
	}
	for name, bad := range map[string][]byte{
		"empty list":        {0, 0},
		"empty hash":        {0, 2, 1, 0},
		"hash past the end": {0, 3, 1, 5, 1},
		"trailing byte":     append(append([]byte{}, body...), 0),
	} {
		if _, err := ParseClientCachedInfo(bad); !errors.Is(err, alert.ErrDecode) {
			t.Errorf("%s: %v, want decode_error", name, err)
		}
	}
	if _, err := ParseServerCachedInfo([]byte{0, 0}); !errors.Is(err, alert.ErrDecode) {
		t.Errorf("empty server list: %v", err)
	}
	if _, err := ParseCachedMessage([]byte{TypeCertificate, 0, 0, 1, 0}, TypeCertificate); !errors.Is(err, alert.ErrDecode) {
		t.Errorf("empty digest: %v", err)
	}
	if _, err := MarshalClientCachedInfo([]CachedObject{{Type: 1, Hash: make([]byte, 256)}}); err == nil {
		t.Error("a 256-byte hash_value was encoded")
	}
}

// FuzzCachedInfo feeds the three cached-info parsers arbitrary bytes; what
// parses must encode back to the same bytes.
func FuzzCachedInfo(f *testing.F) {
	h := sha256.Sum256([]byte("seed"))
	body, _ := MarshalClientCachedInfo([]CachedObject{{Type: CachedCert, Hash: h[:]}})
	f.Add(body)
	f.Add([]byte{0, 1, 1})
	f.Add([]byte{TypeCertificate, 0, 0, 2, 1, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if objs, err := ParseClientCachedInfo(data); err == nil {
			if again, err := MarshalClientCachedInfo(objs); err != nil || !bytes.Equal(again, data) {
				t.Fatalf("client cached_info does not round-trip: %v", err)
			}
		}
		if types, err := ParseServerCachedInfo(data); err == nil {
			if again, err := MarshalServerCachedInfo(types); err != nil || !bytes.Equal(again, data) {
				t.Fatalf("server cached_info does not round-trip: %v", err)
			}
		}
		if len(data) > 0 {
			if h, err := ParseCachedMessage(data, data[0]); err == nil {
				if again, err := MarshalCachedMessage(data[0], h); err != nil || !bytes.Equal(again, data) {
					t.Fatalf("digest message does not round-trip: %v", err)
				}
			}
		}
	})
}

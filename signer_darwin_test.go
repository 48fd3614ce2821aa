//go:build darwin

//lint:file-ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.

package holdfast

// The keychain: backend (signer_darwin.go) on macOS: each test generates
// permanent keys with SecKeyCreateRandomKey under a unique label, uses them
// through signer.Open, and deletes them with SecItemDelete at the end.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/holdfast-tls/holdfast/signer"
)

var secTest struct {
	SecKeyCreateRandomKey func(attrs uintptr, err *uintptr) uintptr
	SecItemDelete         func(query uintptr) int32
	CFNumberCreate        func(alloc uintptr, numberType int, value unsafe.Pointer) uintptr
	consts                map[string]uintptr
}

// loadSecTest resolves what only the tests need, after the backend's own.
func loadSecTest(t *testing.T) {
	t.Helper()
	if err := loadSecurity(); err != nil {
		t.Fatal(err)
	}
	if secTest.consts != nil {
		return
	}
	secLib, err := purego.Dlopen(securityPath, purego.RTLD_LAZY|purego.RTLD_GLOBAL)
	if err != nil {
		t.Fatal(err)
	}
	cfLib, err := purego.Dlopen(coreFoundationPath, purego.RTLD_LAZY|purego.RTLD_GLOBAL)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		lib  uintptr
		name string
		fptr any
	}{
		{secLib, "SecKeyCreateRandomKey", &secTest.SecKeyCreateRandomKey},
		{secLib, "SecItemDelete", &secTest.SecItemDelete},
		{cfLib, "CFNumberCreate", &secTest.CFNumberCreate},
	} {
		sym, err := purego.Dlsym(f.lib, f.name)
		if err != nil {
			t.Fatal(err)
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	secTest.consts = map[string]uintptr{}
	for _, name := range []string{"kSecAttrKeyType", "kSecAttrKeyTypeECSECPrimeRandom", "kSecAttrKeyTypeRSA",
		"kSecAttrKeySizeInBits", "kSecPrivateKeyAttrs", "kSecAttrIsPermanent"} {
		sym, err := purego.Dlsym(secLib, name)
		if err != nil {
			t.Fatal(err)
		}
		secTest.consts[name] = **(**uintptr)(unsafe.Pointer(&sym))
	}
}

// keychainTestKey generates a permanent key in the login keychain with a
// unique label and returns the label; the key is deleted when the test
// ends.
func keychainTestKey(t *testing.T, rsaKey bool, bits int32) string {
	t.Helper()
	loadSecTest(t)
	label := fmt.Sprintf("holdfast-test-%d", time.Now().UnixNano())
	priv := sec.CFDictionaryCreateMutable(0, 0, sec.keyCB, sec.valueCB)
	defer sec.CFRelease(priv)
	sec.CFDictionarySetValue(priv, secTest.consts["kSecAttrIsPermanent"], cfConst("kCFBooleanTrue"))
	l := cfString(label)
	sec.CFDictionarySetValue(priv, cfConst("kSecAttrLabel"), l)
	sec.CFRelease(l)
	attrs := sec.CFDictionaryCreateMutable(0, 0, sec.keyCB, sec.valueCB)
	defer sec.CFRelease(attrs)
	typ := secTest.consts["kSecAttrKeyTypeECSECPrimeRandom"]
	if rsaKey {
		typ = secTest.consts["kSecAttrKeyTypeRSA"]
	}
	sec.CFDictionarySetValue(attrs, secTest.consts["kSecAttrKeyType"], typ)
	n := secTest.CFNumberCreate(0, 3 /* kCFNumberSInt32Type */, unsafe.Pointer(&bits))
	sec.CFDictionarySetValue(attrs, secTest.consts["kSecAttrKeySizeInBits"], n)
	sec.CFRelease(n)
	sec.CFDictionarySetValue(attrs, secTest.consts["kSecPrivateKeyAttrs"], priv)
	var cfErr uintptr
	key := secTest.SecKeyCreateRandomKey(attrs, &cfErr)
	if key == 0 {
		t.Fatalf("SecKeyCreateRandomKey: %s", cfErrorText(cfErr))
	}
	sec.CFRelease(key)
	t.Cleanup(func() {
		q := sec.CFDictionaryCreateMutable(0, 0, sec.keyCB, sec.valueCB)
		defer sec.CFRelease(q)
		sec.CFDictionarySetValue(q, cfConst("kSecClass"), cfConst("kSecClassKey"))
		l := cfString(label)
		sec.CFDictionarySetValue(q, cfConst("kSecAttrLabel"), l)
		sec.CFRelease(l)
		if status := secTest.SecItemDelete(q); status != 0 {
			t.Errorf("SecItemDelete(%s): %s", label, osStatusText(status))
		}
	})
	return label
}

func keychainOpen(t *testing.T, uri string) signer.Key {
	t.Helper()
	k, err := signer.Open(context.Background(), uri)
	if err != nil {
		t.Fatalf("signer.Open(%q): %v", uri, err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func TestKeychainSignVerify(t *testing.T) {
	for _, c := range []struct {
		name string
		rsa  bool
		bits int32
	}{{"P256", false, 256}, {"P384", false, 384}, {"RSA2048", true, 2048}} {
		t.Run(c.name, func(t *testing.T) {
			uri := "keychain:label=" + keychainTestKey(t, c.rsa, c.bits)
			k := keychainOpen(t, uri)
			cases := tlsSchemesFor(k.Public())
			if got := k.(signer.SchemeLimiter).SignatureSchemes(); len(got) != len(cases) {
				t.Errorf("SignatureSchemes %#04x; want all %d of the key type's", got, len(cases))
			}
			for _, sc := range cases {
				if err := probeScheme(k, sc); err != nil {
					t.Errorf("scheme %#04x: %v", sc.scheme, err)
				}
			}
			d := sha256.Sum256([]byte("m"))
			if _, err := k.Sign(rand.Reader, d[:20], crypto.SHA256); err == nil || !strings.Contains(err.Error(), uri) {
				t.Errorf("short digest: %v; want an error naming %s", err, uri)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := k.SignContext(ctx, rand.Reader, d[:], crypto.SHA256); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled context: %v", err)
			}
			if pub, ok := k.Public().(*rsa.PublicKey); ok {
				secret := make([]byte, 48)
				rand.Read(secret)
				ct, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
				got, err := k.(crypto.Decrypter).Decrypt(rand.Reader, ct, nil)
				if err != nil || string(got) != string(secret) {
					t.Errorf("Decrypt: %x, %v", got, err)
				}
			}
			k.Close()
			if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); !errors.Is(err, signer.ErrClosed) {
				t.Errorf("Sign after Close: %v", err)
			}
		})
	}
}

func TestKeychainBadURIs(t *testing.T) {
	for _, c := range []struct{ uri, want string }{
		{"keychain:", "not name=value"},
		{"keychain:label=a;tag=b", "exactly one"},
		{"keychain:cert-sha256=abcd", "64 hex digits"},
		{"keychain:colour=blue", "unknown attribute"},
		{"keychain:label=holdfast-no-such-key-" + fmt.Sprint(time.Now().UnixNano()), "no matching item"},
	} {
		k, err := signer.Open(context.Background(), c.uri)
		if err == nil {
			k.Close()
			t.Errorf("signer.Open(%q) succeeded", c.uri)
			continue
		}
		if !strings.Contains(err.Error(), c.uri) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("signer.Open(%q): %v; want the URI and %q", c.uri, err, c.want)
		}
	}
}

// A Holdfast server whose key is in the keychain serves TLS 1.3 and 1.2
// (ECDHE and, with RSA, key transport decrypted by the keychain) to
// crypto/tls.
func TestKeychainServesTLS(t *testing.T) {
	pki := newTestPKI(t)
	for _, c := range []struct {
		rsa   bool
		bits  int32
		suite uint16 // 0: TLS 1.3
	}{{false, 256, 0}, {false, 256, 0xc02b}, {true, 2048, 0}, {true, 2048, 0xc02f}, {true, 2048, 0x009c}} {
		t.Run(fmt.Sprintf("rsa=%v/%#04x", c.rsa, c.suite), func(t *testing.T) {
			k := keychainOpen(t, "keychain:label="+keychainTestKey(t, c.rsa, c.bits))
			cfg := &Config{Certificates: []Certificate{pki.leaf(t, k, "server.test")}}
			if c.suite != 0 {
				cfg.MaxVersion, cfg.CipherSuites = VersionTLS12, []uint16{c.suite}
			}
			cerr, serr := pair(t, func(conn net.Conn) error {
				cc := &tls.Config{RootCAs: pki.pool, ServerName: "server.test"}
				if c.suite != 0 {
					cc.MaxVersion, cc.CipherSuites = tls.VersionTLS12, []uint16{c.suite}
				}
				cl := tls.Client(conn, cc)
				defer cl.Close()
				return sendAndCheck(cl, []byte("key in the keychain"))
			}, func(conn net.Conn) error {
				sv := Server(conn, cfg)
				defer sv.Close()
				return echoOnce(sv)
			})
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
		})
	}
}

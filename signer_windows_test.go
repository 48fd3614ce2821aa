//go:build windows

//lint:file-ignore SA1019 TLS 1.2 RSA key transport is PKCS #1 v1.5 encryption by definition.

package holdfast

// The cng: backend (signer_windows.go) against the Microsoft Software Key
// Storage Provider: each test creates persisted keys with
// NCryptCreatePersistedKey, uses them through signer.Open, and deletes
// them (and any certificate it put in the CurrentUser MY store) at the end.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/holdfast-tls/holdfast/signer"
)

var (
	procNCryptCreatePersistedKey          = ncrypt.NewProc("NCryptCreatePersistedKey")
	procNCryptFinalizeKey                 = ncrypt.NewProc("NCryptFinalizeKey")
	procNCryptDeleteKey                   = ncrypt.NewProc("NCryptDeleteKey")
	crypt32                               = windows.NewLazySystemDLL("crypt32.dll")
	procCertSetCertificateContextProperty = crypt32.NewProc("CertSetCertificateContextProperty")
)

func utf16p(t *testing.T, s string) *uint16 {
	t.Helper()
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// cngTestKey creates a persisted key (alg "ECDSA_P256", "ECDSA_P384" or
// "RSA" with bits) in the Software KSP and returns its name; the key is
// deleted when the test ends.
func cngTestKey(t *testing.T, alg string, bits uint32) string {
	t.Helper()
	name := fmt.Sprintf("holdfast-test-%s-%d", alg, time.Now().UnixNano())
	var prov, key uintptr
	if r, _, _ := procNCryptOpenStorageProvider.Call(uintptr(unsafe.Pointer(&prov)), uintptr(unsafe.Pointer(utf16p(t, cngProviders["software"]))), 0); uint32(r) != 0 {
		t.Fatal(cngErr("NCryptOpenStorageProvider", r))
	}
	defer procNCryptFreeObject.Call(prov)
	if r, _, _ := procNCryptCreatePersistedKey.Call(prov, uintptr(unsafe.Pointer(&key)), uintptr(unsafe.Pointer(utf16p(t, alg))),
		uintptr(unsafe.Pointer(utf16p(t, name))), 0, 0); uint32(r) != 0 {
		t.Fatal(cngErr("NCryptCreatePersistedKey", r))
	}
	if bits != 0 {
		if r, _, _ := procNCryptSetProperty.Call(key, uintptr(unsafe.Pointer(utf16p(t, "Length"))), uintptr(unsafe.Pointer(&bits)), 4, 0); uint32(r) != 0 {
			procNCryptFreeObject.Call(key)
			t.Fatal(cngErr("NCryptSetProperty(Length)", r))
		}
	}
	if r, _, _ := procNCryptFinalizeKey.Call(key, 0); uint32(r) != 0 {
		procNCryptFreeObject.Call(key)
		t.Fatal(cngErr("NCryptFinalizeKey", r))
	}
	procNCryptFreeObject.Call(key)
	t.Cleanup(func() {
		var prov, key uintptr
		procNCryptOpenStorageProvider.Call(uintptr(unsafe.Pointer(&prov)), uintptr(unsafe.Pointer(utf16p(t, cngProviders["software"]))), 0)
		defer procNCryptFreeObject.Call(prov)
		if r, _, _ := procNCryptOpenKey.Call(prov, uintptr(unsafe.Pointer(&key)), uintptr(unsafe.Pointer(utf16p(t, name))), 0, 0); uint32(r) != 0 {
			t.Errorf("reopening %s to delete it: %v", name, cngErr("NCryptOpenKey", r))
			return
		}
		// NCryptDeleteKey frees the handle too.
		if r, _, _ := procNCryptDeleteKey.Call(key, 0); uint32(r) != 0 {
			t.Errorf("deleting %s: %v", name, cngErr("NCryptDeleteKey", r))
		}
	})
	return name
}

func cngOpen(t *testing.T, uri string) signer.Key {
	t.Helper()
	k, err := signer.Open(context.Background(), uri)
	if err != nil {
		t.Fatalf("signer.Open(%q): %v", uri, err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// cngSignVerify signs under every scheme the key lists and verifies in Go.
func cngSignVerify(t *testing.T, k signer.Key) {
	t.Helper()
	cases := tlsSchemesFor(k.Public())
	if got := k.(signer.SchemeLimiter).SignatureSchemes(); len(got) != len(cases) {
		t.Errorf("SignatureSchemes %#04x; want all %d of the key type's", got, len(cases))
	}
	for _, c := range cases {
		if err := probeScheme(k, c); err != nil {
			t.Errorf("scheme %#04x: %v", c.scheme, err)
		}
	}
}

func TestCNGSignVerify(t *testing.T) {
	for _, c := range []struct {
		alg  string
		bits uint32
	}{{"ECDSA_P256", 0}, {"ECDSA_P384", 0}, {"RSA", 2048}} {
		t.Run(c.alg, func(t *testing.T) {
			uri := "cng:key=" + cngTestKey(t, c.alg, c.bits)
			k := cngOpen(t, uri)
			cngSignVerify(t, k)
			d := sha256.Sum256([]byte("m"))
			if _, err := k.Sign(rand.Reader, d[:20], crypto.SHA256); err == nil || !strings.Contains(err.Error(), uri) {
				t.Errorf("short digest: %v; want an error naming %s", err, uri)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := k.SignContext(ctx, rand.Reader, d[:], crypto.SHA256); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled context: %v", err)
			}
			pub, isRSA := k.Public().(*rsa.PublicKey)
			dec, isDec := k.(crypto.Decrypter)
			if isRSA != isDec {
				t.Fatalf("crypto.Decrypter %v for a %T key", isDec, k.Public())
			}
			if isRSA {
				secret := make([]byte, 48)
				rand.Read(secret)
				ct, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
				got, err := dec.Decrypt(rand.Reader, ct, nil)
				if err != nil || string(got) != string(secret) {
					t.Errorf("Decrypt: %x, %v", got, err)
				}
				ct[10] ^= 1
				if got, err := dec.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48}); err != nil || len(got) != 48 {
					t.Errorf("session-key mode on a spoiled ciphertext: %x, %v; want 48 random bytes", got, err)
				}
			}
			k.Close()
			if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); !errors.Is(err, signer.ErrClosed) {
				t.Errorf("Sign after Close: %v", err)
			}
		})
	}
}

func TestCNGBadURIs(t *testing.T) {
	for _, c := range []struct{ uri, want string }{
		{"cng:", "not name=value"},
		{"cng:key=a;key=b", "given twice"},
		{"cng:key=a;sha1=" + strings.Repeat("ab", 20), "exactly one"},
		{"cng:sha1=abcd", "40-digit"},
		{"cng:key=a;store=CurrentUser", "store= goes with"},
		{"cng:subject=x;provider=software", "provider= and scope="},
		{"cng:key=a;colour=blue", "unknown attribute"},
		{"cng:key=holdfast-no-such-key-" + fmt.Sprint(time.Now().UnixNano()), "NCryptOpenKey"},
		{"cng:sha1=" + strings.Repeat("00", 20), "no matching certificate"},
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

// A certificate in the CurrentUser MY store whose key is in the Software
// KSP: found by thumbprint and by subject.
func TestCNGCertificateStore(t *testing.T) {
	name := cngTestKey(t, "ECDSA_P256", 0)
	k := cngOpen(t, "cng:key="+name)
	cn := "holdfast-cng-test-" + fmt.Sprint(time.Now().UnixNano())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, &der[0], uint32(len(der)))
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CertFreeCertificateContext(ctx)
	store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0, windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(utf16p(t, "MY"))))
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CertCloseStore(store, 0)
	var added *windows.CertContext
	if err := windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, &added); err != nil {
		t.Fatal(err)
	}
	defer windows.CertDeleteCertificateFromStore(added)
	// CRYPT_KEY_PROV_INFO with provider type 0: a CNG key.
	info := struct {
		container, provider *uint16
		provType, flags     uint32
		nParams             uint32
		params              uintptr
		keySpec             uint32
	}{container: utf16p(t, name), provider: utf16p(t, cngProviders["software"])}
	const certKeyProvInfoPropID = 2
	if r, _, err := procCertSetCertificateContextProperty.Call(uintptr(unsafe.Pointer(added)), certKeyProvInfoPropID, 0, uintptr(unsafe.Pointer(&info))); r == 0 {
		t.Fatalf("CertSetCertificateContextProperty: %v", err)
	}
	thumb := sha1.Sum(der)
	for _, uri := range []string{"cng:sha1=" + hex.EncodeToString(thumb[:]), "cng:subject=" + cn + ";store=CurrentUser"} {
		ck := cngOpen(t, uri)
		if !ck.Public().(*ecdsa.PublicKey).Equal(k.Public()) {
			t.Errorf("%s: a different public key", uri)
		}
		cngSignVerify(t, ck)
	}
}

// A Holdfast server whose key is in the Software KSP serves TLS 1.3 and
// TLS 1.2 (ECDHE and, with RSA, key transport decrypted by CNG) to
// crypto/tls.
func TestCNGServesTLS(t *testing.T) {
	pki := newTestPKI(t)
	for _, c := range []struct {
		alg   string
		bits  uint32
		suite uint16 // 0: TLS 1.3
	}{{"ECDSA_P256", 0, 0}, {"ECDSA_P256", 0, 0xc02b}, {"RSA", 2048, 0}, {"RSA", 2048, 0xc02f}, {"RSA", 2048, 0x009c}} {
		t.Run(fmt.Sprintf("%s/%#04x", c.alg, c.suite), func(t *testing.T) {
			k := cngOpen(t, "cng:key="+cngTestKey(t, c.alg, c.bits))
			cert := pki.leaf(t, k, "server.test")
			cfg := &Config{Certificates: []Certificate{cert}}
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
				return sendAndCheck(cl, []byte("key in CNG"))
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

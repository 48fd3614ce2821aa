// Package softhsm sets up a SoftHSM token in a temporary directory for
// tests: the real PKCS#11 backend Holdfast's HSM support is tested against,
// never a mock. It is a test helper; nothing outside tests imports it.
package softhsm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// TB is the part of testing.TB the helper uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	TempDir() string
	Setenv(key, value string)
}

// Token is an initialized SoftHSM token with key pairs made by
// pkcs11-tool.
type Token struct {
	Module  string // path of libsofthsm2.so
	Label   string
	PINFile string // holds the user PIN
}

// URI returns the pkcs11: URI of the private key labelled object.
func (tk *Token) URI(object string) string {
	return "pkcs11:token=" + tk.Label + ";object=" + object + ";type=private?module-path=" + tk.Module + "&pin-source=file:" + tk.PINFile
}

// New makes a token labelled "holdfast" holding the key pairs named by
// keys (label → pkcs11-tool key type, e.g. "EC:prime256v1", "rsa:2048"),
// with SOFTHSM2_CONF pointing at a temporary store for the test's life.
func New(t TB, keys map[string]string) *Token {
	t.Helper()
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (ci/test.sh installs softhsm2 and opensc): %v", tool, err)
		}
	}
	tk := &Token{Label: "holdfast"}
	for _, m := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(m); err == nil {
			tk.Module = m
			break
		}
	}
	if tk.Module == "" {
		t.Fatalf("libsofthsm2.so not found (ci/test.sh installs softhsm2)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatalf("%v", err)
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatalf("%v", err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("softhsm2-util", "--init-token", "--free", "--label", tk.Label, "--pin", "1234", "--so-pin", "5678")
	tk.PINFile = filepath.Join(dir, "pin")
	id := 1
	for label, typ := range keys {
		AddKey(t, tk, label, typ, fmt.Sprintf("%02x", id))
		id++
	}
	if err := os.WriteFile(tk.PINFile, []byte("1234\n"), 0o600); err != nil {
		t.Fatalf("%v", err)
	}
	return tk
}

// AddKey makes another key pair on the token with the given label,
// pkcs11-tool key type and hex id, and returns the token. Extra
// pkcs11-tool arguments follow, such as "--allowed-mechanisms", "RSA-PKCS".
func AddKey(t TB, tk *Token, label, typ, id string, extra ...string) *Token {
	t.Helper()
	args := []string{"--module", tk.Module, "--token-label", tk.Label, "--login", "--pin", "1234",
		"--keypairgen", "--key-type", typ, "--label", label, "--id", id}
	args = append(args, extra...)
	if out, err := exec.Command("pkcs11-tool", args...).CombinedOutput(); err != nil {
		t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return tk
}

// ImportKey puts the PKCS#8 PEM key pair in pemPath on the token with the
// given label and hex id, as softhsm2-util --import does; tests use it to
// bring back the same key after deleting it or re-initialising the token.
func ImportKey(t TB, tk *Token, label, id, pemPath string) {
	t.Helper()
	args := []string{"--import", pemPath, "--token", tk.Label, "--label", label, "--id", id, "--pin", "1234"}
	if out, err := exec.Command("softhsm2-util", args...).CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// DeleteKey removes both halves of the key pair labelled label.
func DeleteKey(t TB, tk *Token, label string) {
	t.Helper()
	for _, typ := range []string{"privkey", "pubkey"} {
		args := []string{"--module", tk.Module, "--token-label", tk.Label, "--login", "--pin", "1234",
			"--delete-object", "--type", typ, "--label", label}
		if out, err := exec.Command("pkcs11-tool", args...).CombinedOutput(); err != nil {
			t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Reinit re-initialises the token in place, erasing every object on it,
// as an operator resetting the HSM would.
func Reinit(t TB, tk *Token) {
	t.Helper()
	args := []string{"--init-token", "--token", tk.Label, "--label", tk.Label, "--so-pin", "5678", "--pin", "1234"}
	if out, err := exec.Command("softhsm2-util", args...).CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// AddKEK makes an AES-256 key-encryption key on the token with the given
// label and hex id: sensitive, never extractable, allowed to wrap and
// unwrap, as an operator would make the key that wraps a farm's ticket
// keys. Its URI is KEKURI(label).
func AddKEK(t TB, tk *Token, label, id string) {
	t.Helper()
	args := []string{"--module", tk.Module, "--token-label", tk.Label, "--login", "--pin", "1234",
		"--keygen", "--key-type", "AES:32", "--label", label, "--id", id, "--usage-wrap", "--sensitive"}
	if out, err := exec.Command("pkcs11-tool", args...).CombinedOutput(); err != nil {
		t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// KEKURI returns the pkcs11: URI of the secret key labelled object.
func (tk *Token) KEKURI(object string) string {
	return "pkcs11:token=" + tk.Label + ";object=" + object + ";type=secret-key?module-path=" + tk.Module + "&pin-source=file:" + tk.PINFile
}

//go:build cgo

package signer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/holdfast-tls/holdfast/internal/softhsm"
)

// A token that appears after start is found when a URI names it: every
// Open (and every repair) lists the slots afresh. The token here is
// initialised through the module in this process, in the free slot
// SoftHSM keeps, as a card inserted into a reader would appear; the key
// already open on the first token keeps working.
//
// A token that another process creates is not listed by SoftHSM until the
// module is loaded again, which happens once every key using it is
// closed: Open says so, and succeeds after that.
func TestPKCS11TokenAppearsAfterStart(t *testing.T) {
	tk := softhsm.New(t, map[string]string{"first": "EC:prime256v1"})
	first, err := Open(context.Background(), tk.URI("first"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if first != nil {
			first.Close()
		}
	}()
	d := sha256.Sum256([]byte("late"))

	inserted := &softhsm.Token{Module: tk.Module, Label: "inserted", PINFile: tk.PINFile}
	if _, err := Open(context.Background(), inserted.URI("k")); err == nil || !strings.Contains(err.Error(), "token=inserted") {
		t.Fatalf("Open before the token exists: %v; want an error naming the token", err)
	}
	initTokenInProcess(t, tk.Module, "inserted", "k")
	k, err := Open(context.Background(), inserted.URI("k"))
	if err != nil {
		t.Fatalf("Open after the token appeared in a slot: %v", err)
	}
	if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		t.Fatalf("the first token's key after another token appeared: %v", err)
	}

	// Made by another process while the module is loaded here.
	other := &softhsm.Token{Module: tk.Module, Label: "other", PINFile: tk.PINFile}
	if out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", "other", "--pin", "1234", "--so-pin", "5678").CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util: %v\n%s", err, out)
	}
	softhsm.AddKey(t, other, "o", "EC:prime256v1", "09")
	if _, err := Open(context.Background(), other.URI("o")); err == nil || !strings.Contains(err.Error(), "loaded afresh once every key using it is closed") {
		t.Fatalf("Open of a token made by another process: %v; want the advice", err)
	}
	k.Close()
	first.Close()
	first = nil
	k, err = Open(context.Background(), other.URI("o"))
	if err != nil {
		t.Fatalf("Open once the module was loaded afresh: %v", err)
	}
	defer k.Close()
	if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
}

// initTokenInProcess initialises SoftHSM's free slot as token label, with
// user PIN 1234, and makes a P-256 key pair labelled key on it, through
// the module already loaded in this process.
func initTokenInProcess(t *testing.T, module, label, key string) {
	t.Helper()
	c := pkcs11.New(module)
	if err := c.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		t.Fatal(err)
	}
	slots, err := c.GetSlotList(false)
	if err != nil {
		t.Fatal(err)
	}
	free := -1
	for _, s := range slots {
		if ti, err := c.GetTokenInfo(s); err == nil && ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			free = int(s)
		}
	}
	if free < 0 {
		t.Fatal("SoftHSM shows no free slot")
	}
	slot := uint(free)
	if err := c.InitToken(slot, "5678", label); err != nil {
		t.Fatalf("C_InitToken: %v", err)
	}
	so, err := c.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseSession(so)
	if err := c.Login(so, pkcs11.CKU_SO, "5678"); err != nil {
		t.Fatal(err)
	}
	if err := c.InitPIN(so, "1234"); err != nil {
		t.Fatalf("C_InitPIN: %v", err)
	}
	c.Logout(so)
	if err := c.Login(so, pkcs11.CKU_USER, "1234"); err != nil {
		t.Fatal(err)
	}
	defer c.Logout(so)
	p256, _ := asn1.Marshal(oidP256)
	_, _, err = c.GenerateKeyPair(so, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p256), pkcs11.NewAttribute(pkcs11.CKA_LABEL, key),
		},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, key),
		})
	if err != nil {
		t.Fatalf("C_GenerateKeyPair: %v", err)
	}
}

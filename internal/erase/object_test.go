package erase

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

func TestObjectWipesFlatObjects(t *testing.T) {
	key := bytes.Repeat([]byte{0xA5}, 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	if !Object(block) || !Object(aead) {
		t.Fatalf("crypto/aes block (%T) or GCM (%T) was not wiped: their layout now holds pointers", block, aead)
	}
	type flat struct {
		a [4]uint32
		b int
	}
	f := &flat{a: [4]uint32{1, 2, 3, 4}, b: 5}
	if !Object(f) || *f != (flat{}) {
		t.Fatalf("flat struct not wiped: %+v", *f)
	}
	type withPointer struct {
		a [4]byte
		p *int
	}
	n := 7
	w := &withPointer{a: [4]byte{1}, p: &n}
	if Object(w) || w.p == nil || w.a[0] != 1 {
		t.Fatal("an object holding pointers was wiped")
	}
	if Object(flat{}) || Object(nil) || Object((*flat)(nil)) {
		t.Fatal("a non-pointer or nil was accepted")
	}
}

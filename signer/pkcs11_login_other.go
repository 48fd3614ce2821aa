//go:build cgo && !unix

package signer

import (
	"github.com/miekg/pkcs11"

	"github.com/holdfast-tls/holdfast/mem"
)

// loginModule logs in through miekg/pkcs11, whose API takes the PIN as a
// Go string: on this platform the PIN passes through the Go heap at each
// login (on Unix it goes from locked memory straight to the module).
func loginModule(m *p11Module, s pkcs11.SessionHandle, pin *mem.Secret) error {
	var p string
	if pin != nil {
		p = string(pin.Bytes())
	}
	return m.ctx.Login(s, pkcs11.CKU_USER, p)
}

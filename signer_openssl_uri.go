//go:build cgo && unix && !darwin

package holdfast

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// opensslURI is a parsed "openssl:" key URI:
//
//	openssl:STORE-URI[#PARAM&PARAM...]
//
// STORE-URI is handed to OSSL_STORE_open_ex unchanged: "file:/path/key.pem"
// (or a bare path), or a URI of a provider's store such as tpm2-openssl's
// "handle:0x81000001" or "object:/path/key.tss2", including any query it
// has of its own ("handle:0x81000001?pass"). The parameters come after the
// last '#', because a '?' belongs to the store URI; a store URI that itself
// contains '#' is named by ending the whole URI with an empty parameter
// list ("openssl:file:/keys/a#b.pem#"). Parameters are key=value pairs
// joined by '&', with %XX escapes:
//
//	provider=NAME       load provider NAME (repeat for several, in order)
//	                    into a private library context; only the listed
//	                    providers are loaded, so list "default" too when the
//	                    store or key needs it (tpm2 does)
//	propq=QUERY         OpenSSL property query for fetching the store
//	                    loader and the signature and decryption
//	                    implementations (e.g. propq=?provider=tpm2; a
//	                    value may contain '=', and '&' is written %26)
//	pass-source=file:PATH
//	                    the passphrase of an encrypted key (or a provider
//	                    object's auth value), read from PATH into locked
//	                    memory; one trailing LF or CRLF is dropped
//
// Without provider parameters OpenSSL's default library context is used,
// with whatever providers its configuration file loads.
type opensslURI struct {
	raw        string // as given, for errors: it holds no secret
	store      string
	providers  []string
	propq      string
	passSource string // file:PATH, or ""
}

func parseOpenSSLURI(raw string) (*opensslURI, error) {
	rest, ok := strings.CutPrefix(raw, "openssl:")
	if !ok {
		return nil, fmt.Errorf("signer: %q is not an openssl: URI", raw)
	}
	u := &opensslURI{raw: raw, store: rest}
	if i := strings.LastIndexByte(rest, '#'); i >= 0 {
		u.store = rest[:i]
		if err := u.parseParams(rest[i+1:]); err != nil {
			return nil, fmt.Errorf("signer: %s: %w", raw, err)
		}
	}
	if u.store == "" {
		return nil, fmt.Errorf("signer: %q names no key: want openssl:file:/path/key.pem or a provider store URI such as openssl:handle:0x81000001", raw)
	}
	return u, nil
}

func (u *opensslURI) parseParams(params string) error {
	if params == "" {
		return nil
	}
	vals, err := url.ParseQuery(params)
	if err != nil {
		return fmt.Errorf("parameters after '#': %w", err)
	}
	for name, vs := range vals {
		for _, v := range vs {
			if v == "" {
				return fmt.Errorf("parameter %s has an empty value", name)
			}
		}
		if name != "provider" && len(vs) > 1 {
			return fmt.Errorf("parameter %s is given %d times", name, len(vs))
		}
		switch name {
		case "provider":
			u.providers = vs
		case "propq":
			u.propq = vs[0]
		case "pass-source":
			if !strings.HasPrefix(vs[0], "file:") || len(vs[0]) == len("file:") {
				return errors.New("pass-source must be file:PATH")
			}
			u.passSource = vs[0]
		default:
			return fmt.Errorf("unknown parameter %q (known: provider, propq, pass-source)", name)
		}
	}
	// url.ParseQuery keeps repeated values in order, so the providers load
	// in the order they are written.
	return nil
}

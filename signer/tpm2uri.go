package signer

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// TPMURI is a parsed "tpm2:" key URI. The grammar is
//
//	tpm2-uri  = "tpm2:" key-attr [ "?" query ]
//	key-attr  = "handle=" handle          ; a persistent key, 0x81000000-0x81FFFFFF
//	          / "file=" path              ; a TSS2 PEM key file (percent-encoded)
//	query     = q-attr *( "&" q-attr )
//	q-attr    = "device=" device          ; default /dev/tpmrm0
//	          / "pin-source=file:" path   ; the key's auth value, first line of the file
//	          / "pin-value=" value        ; the auth value itself (tests only)
//	device    = "/dev/" name              ; a TPM character device
//	          / "swtpm://" host ":" port  ; swtpm's TCP command port
//
// for example "tpm2:handle=0x81000002", "tpm2:file=/etc/holdfast/key.pem"
// or "tpm2:file=/tmp/key.pem?device=swtpm://127.0.0.1:2321&pin-source=file:/etc/holdfast/key.pin".
// A handle is hexadecimal with 0x or decimal. Without pin-source or
// pin-value the key's auth value is empty. The auth value is never shown:
// String prints pin-value as "redacted".
type TPMURI struct {
	Handle    uint32 // persistent handle of the key, or 0
	File      string // TSS2 key file, or ""
	Device    string // "/dev/tpmrm0" when not given
	PINSource string // "file:PATH", or ""
	pin       []byte // pin-value; kept out of String and errors
}

// ParseTPMURI parses a "tpm2:" URI. Errors name the attribute at fault,
// never a pin-value.
func ParseTPMURI(raw string) (*TPMURI, error) {
	rest, ok := strings.CutPrefix(raw, "tpm2:")
	if !ok {
		return nil, errors.New("signer: not a TPM key URI (want tpm2:handle=... or tpm2:file=...)")
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &TPMURI{Device: tpmDefaultDevice}
	name, value, ok := strings.Cut(path, "=")
	if !ok || strings.Contains(value, ";") {
		return nil, fmt.Errorf("signer: tpm2:%s: want exactly one of handle=0x81...... or file=PATH", redactTPMPath(path))
	}
	switch name {
	case "handle":
		h, err := strconv.ParseUint(value, 0, 32)
		if err != nil || h < 0x81000000 || h > 0x81ffffff {
			return nil, fmt.Errorf("signer: tpm2:handle=%s: not a persistent handle (0x81000000 to 0x81FFFFFF)", value)
		}
		u.Handle = uint32(h)
	case "file":
		p, err := url.PathUnescape(value)
		if err != nil || p == "" {
			return nil, fmt.Errorf("signer: tpm2:file=%s: bad path", value)
		}
		u.File = p
	default:
		return nil, fmt.Errorf("signer: tpm2: unknown attribute %q (want handle= or file=)", name)
	}
	if query == "" {
		return u, nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		v, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("signer: tpm2: bad escape in %s", k)
		}
		if seen[k] {
			return nil, fmt.Errorf("signer: tpm2: %s given twice", k)
		}
		seen[k] = true
		switch k {
		case "device":
			if err := checkTPMDevice(v); err != nil {
				return nil, fmt.Errorf("signer: tpm2: device=%s: %w", v, err)
			}
			u.Device = v
		case "pin-source":
			if !strings.HasPrefix(v, "file:") || len(v) == len("file:") {
				return nil, errors.New("signer: tpm2: pin-source must be file:PATH")
			}
			u.PINSource = v
		case "pin-value":
			u.pin = []byte(v)
		default:
			return nil, fmt.Errorf("signer: tpm2: unknown query attribute %q (want device, pin-source or pin-value)", k)
		}
	}
	if u.PINSource != "" && u.pin != nil {
		return nil, errors.New("signer: tpm2: give pin-source or pin-value, not both")
	}
	return u, nil
}

func checkTPMDevice(v string) error {
	if addr, ok := strings.CutPrefix(v, "swtpm://"); ok {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return errors.New("want swtpm://HOST:PORT")
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return errors.New("bad port")
		}
		return nil
	}
	if strings.HasPrefix(v, "/") {
		return nil
	}
	return errors.New("want a device path such as /dev/tpmrm0 or swtpm://HOST:PORT")
}

// redactTPMPath keeps a malformed path attribute out of errors only when
// it could hold a secret; it never does, but a pasted pin might.
func redactTPMPath(p string) string {
	if strings.Contains(strings.ToLower(p), "pin") {
		return "[redacted]"
	}
	return p
}

// String returns the URI with any pin-value redacted.
func (u *TPMURI) String() string {
	var b strings.Builder
	b.WriteString("tpm2:")
	if u.File != "" {
		b.WriteString("file=" + (&url.URL{Path: u.File}).EscapedPath())
	} else {
		fmt.Fprintf(&b, "handle=0x%08x", u.Handle)
	}
	var q []string
	if u.Device != tpmDefaultDevice {
		q = append(q, "device="+u.Device)
	}
	if u.PINSource != "" {
		q = append(q, "pin-source="+u.PINSource)
	}
	if u.pin != nil {
		q = append(q, "pin-value=redacted")
	}
	if len(q) > 0 {
		b.WriteString("?" + strings.Join(q, "&"))
	}
	return b.String()
}

// readAuth returns the key's auth value from pin-source or pin-value; the
// caller wipes it.
func (u *TPMURI) readAuth() ([]byte, error) {
	if src, ok := strings.CutPrefix(u.PINSource, "file:"); ok {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("reading pin-source: %w", err)
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		auth := append([]byte(nil), bytes.TrimRight(line, "\r")...)
		clear(b)
		return auth, nil
	}
	return append([]byte(nil), u.pin...), nil
}

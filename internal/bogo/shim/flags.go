package main

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// kind is how a flag of BoringSSL's shim protocol takes its value: a bool
// flag stands alone, the others are followed by one argument.
type kind int

const (
	boolFlag kind = iota
	stringFlag
	base64Flag // a string given in base64, stored decoded
	intFlag
	intListFlag // repeated: each occurrence appends one integer
)

// known lists every flag this shim implements. The runner passes many more
// (BoringSSL's shim has several hundred); any flag not listed here makes
// the shim exit with exitUnimplemented before it connects, so a test that
// needs a feature Holdfast lacks is reported as unimplemented, never run
// with the flag ignored.
var known = map[string]kind{
	// The runner's plumbing.
	"-port":                    stringFlag,
	"-shim-id":                 intFlag,
	"-ipv6":                    boolFlag,
	"-server":                  boolFlag,
	"-is-handshaker-supported": boolFlag,

	// Credentials and verification. -new-x509-credential starts a
	// credential of the list BoringSSL chooses from in order (the one
	// given without it comes last); the credential flags after it belong
	// to it.
	"-new-x509-credential":            boolFlag,
	"-expect-selected-credential":     intFlag,
	"-cert-file":                      stringFlag,
	"-key-file":                       stringFlag,
	"-trust-cert":                     stringFlag,
	"-signing-prefs":                  intListFlag,
	"-verify-prefs":                   intListFlag,
	"-verify-peer":                    boolFlag,
	"-require-any-client-certificate": boolFlag,
	"-use-custom-verify-callback":     boolFlag,
	"-verify-fail":                    boolFlag,
	"-expect-peer-cert-file":          stringFlag,

	// OCSP stapling: a client asks only with -enable-ocsp-stapling (a
	// no-op on a server, as in BoringSSL); a server staples -ocsp-response.
	"-enable-ocsp-stapling": boolFlag,
	"-ocsp-response":        base64Flag,
	"-expect-ocsp-response": base64Flag,
	// The client's OCSP callback (VerifyOCSPResponse); a server's, which
	// staples, declines or fails per handshake (GetCertificate).
	"-use-ocsp-callback":     boolFlag,
	"-fail-ocsp-callback":    boolFlag,
	"-set-ocsp-in-callback":  boolFlag,
	"-decline-ocsp-callback": boolFlag,

	// The early and certificate callbacks (callbacks.go).
	"-use-early-callback":           boolFlag,
	"-fail-early-callback":          boolFlag,
	"-fail-cert-callback":           boolFlag,
	"-use-old-client-cert-callback": boolFlag,
	"-reverify-on-resume":           boolFlag,

	// Negotiation.
	"-min-version":           intFlag,
	"-max-version":           intFlag,
	"-no-tls1":               boolFlag,
	"-no-tls11":              boolFlag,
	"-no-tls12":              boolFlag,
	"-no-tls13":              boolFlag,
	"-curves":                intListFlag,
	"-cipher":                stringFlag,
	"-advertise-alpn":        stringFlag,
	"-select-alpn":           stringFlag,
	"-decline-alpn":          boolFlag,
	"-host-name":             stringFlag,
	"-async":                 boolFlag,
	"-implicit-handshake":    boolFlag,
	"-handshake-twice":       boolFlag,
	"-no-op-extra-handshake": boolFlag,
	"-fips-202205":           boolFlag,
	"-wpa-202304":            boolFlag,

	// Expectations checked after the handshake.
	"-expect-version":                  intFlag,
	"-expect-curve-id":                 intFlag,
	"-expect-alpn":                     stringFlag,
	"-expect-server-name":              stringFlag,
	"-expect-hrr":                      boolFlag,
	"-expect-no-hrr":                   boolFlag,
	"-expect-extended-master-secret":   boolFlag,
	"-expect-peer-signature-algorithm": intFlag,

	// What the shim does with the connection.
	"-export-keying-material": intFlag,
	"-export-label":           stringFlag,
	"-export-context":         stringFlag,
	"-use-export-context":     boolFlag,
	"-shim-writes-first":      boolFlag,
	"-shim-shuts-down":        boolFlag,
	"-check-close-notify":     boolFlag,
	"-read-size":              intFlag,
	"-key-update":             boolFlag,
	"-key-update-before-read": boolFlag,

	// Sessions: see resume.go.
	"-resume-count":                      intFlag,
	"-resumption-delay":                  intFlag,
	"-expect-session-miss":               boolFlag,
	"-expect-no-session":                 boolFlag,
	"-expect-session-id":                 boolFlag,
	"-expect-no-session-id":              boolFlag,
	"-expect-ticket-renewal":             boolFlag,
	"-expect-verify-result":              boolFlag,
	"-no-ticket":                         boolFlag,
	"-expect-no-offer-early-data":        boolFlag,
	"-expect-early-data-reason":          stringFlag,
	"-expect-ticket-supports-early-data": boolFlag,
}

// flags is a parsed command line: bools present, strings, ints and integer
// lists by name.
type flags struct {
	bools   map[string]bool
	strings map[string]string
	ints    map[string]int64
	lists   map[string][]int64
	// creds are the -new-x509-credential credentials, in order, each
	// with its own credential flags.
	creds []*flags
}

// credentialFlags belong to the latest -new-x509-credential, if any.
var credentialFlags = map[string]bool{"-cert-file": true, "-key-file": true, "-ocsp-response": true, "-signing-prefs": true}

// errUnimplemented reports a flag the shim does not implement.
type errUnimplemented struct{ flag, why string }

func (e *errUnimplemented) Error() string {
	if e.why == "" {
		return fmt.Sprintf("unimplemented flag %s", e.flag)
	}
	return fmt.Sprintf("unimplemented: %s: %s", e.flag, e.why)
}

// cmdline is the parsed command line: BoringSSL's shim keeps three
// configurations, one for the first connection, one for the resumption
// connections (-resume-count) and one for the connection retried after
// 0-RTT is rejected. A flag applies to all three unless prefixed with
// -on-initial, -on-resume or -on-retry.
type cmdline struct {
	initial, resume, retry *flags
	// split is set when a prefixed flag made initial and resume differ,
	// so they need Configs of their own.
	split bool
}

func newFlags() *flags {
	return &flags{
		bools:   map[string]bool{},
		strings: map[string]string{},
		ints:    map[string]int64{},
		lists:   map[string][]int64{},
	}
}

// cutPrefix removes "-on-<what>" from the front of a flag name that
// continues with another "-".
func cutPrefix(name, what string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "-on-"+what)
	if !ok || !strings.HasPrefix(rest, "-") {
		return name, false
	}
	return rest, true
}

// parseFlags reads the runner's arguments. An unknown flag gives
// *errUnimplemented; a known flag with a missing or malformed value gives
// a plain error (the runner's mistake or ours, not a missing feature).
//
// -on-shim- flags apply here; -on-handshaker- flags are for the split
// handshake's handshaker process, which this shim has none of
// (-is-handshaker-supported answers No), so they are checked for a known
// name and dropped.
func parseFlags(args []string) (*cmdline, error) {
	cl := &cmdline{initial: newFlags(), resume: newFlags(), retry: newFlags()}
	for i := 0; i < len(args); i++ {
		name := args[i]
		skip := false
		if rest, ok := cutPrefix(name, "shim"); ok {
			name = rest
		} else if rest, ok := cutPrefix(name, "handshaker"); ok {
			name, skip = rest, true
		}
		targets := []*flags{cl.initial, cl.resume, cl.retry}
		if rest, ok := cutPrefix(name, "initial"); ok {
			name, targets, cl.split = rest, targets[:1], true
		} else if rest, ok := cutPrefix(name, "resume"); ok {
			name, targets, cl.split = rest, targets[1:2], true
		} else if rest, ok := cutPrefix(name, "retry"); ok {
			name, targets = rest, targets[2:]
		}
		k, ok := known[name]
		if !ok {
			return nil, &errUnimplemented{flag: args[i]}
		}
		value := ""
		if k != boolFlag {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("flag %s needs a value", args[i])
			}
			i++
			value = args[i]
		}
		if skip {
			continue
		}
		for _, f := range targets {
			if name == "-new-x509-credential" {
				f.creds = append(f.creds, newFlags())
				continue
			}
			if credentialFlags[name] && len(f.creds) > 0 {
				f = f.creds[len(f.creds)-1]
			}
			if err := f.set(name, k, value); err != nil {
				return nil, err
			}
		}
	}
	return cl, nil
}

// set records one flag.
func (f *flags) set(name string, k kind, v string) error {
	switch k {
	case boolFlag:
		f.bools[name] = true
	case stringFlag:
		f.strings[name] = v
	case base64Flag:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return fmt.Errorf("flag %s: %q is not base64", name, v)
		}
		f.strings[name] = string(b)
	case intFlag, intListFlag:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("flag %s: %q is not an integer", name, v)
		}
		if k == intFlag {
			f.ints[name] = n
		} else {
			f.lists[name] = append(f.lists[name], n)
		}
	}
	return nil
}

func (f *flags) has(name string) bool {
	_, s := f.strings[name]
	_, i := f.ints[name]
	_, l := f.lists[name]
	return f.bools[name] || s || i || l
}

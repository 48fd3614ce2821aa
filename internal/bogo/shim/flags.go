package main

import (
	"fmt"
	"strconv"
)

// kind is how a flag of BoringSSL's shim protocol takes its value: a bool
// flag stands alone, the others are followed by one argument.
type kind int

const (
	boolFlag kind = iota
	stringFlag
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

	// Credentials and verification.
	"-cert-file":                      stringFlag,
	"-key-file":                       stringFlag,
	"-trust-cert":                     stringFlag,
	"-signing-prefs":                  intListFlag,
	"-verify-peer":                    boolFlag,
	"-require-any-client-certificate": boolFlag,
	"-use-custom-verify-callback":     boolFlag,
	"-verify-fail":                    boolFlag,
	"-expect-peer-cert-file":          stringFlag,

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

	// Expectations checked after the handshake.
	"-expect-version":                intFlag,
	"-expect-curve-id":               intFlag,
	"-expect-alpn":                   stringFlag,
	"-expect-server-name":            stringFlag,
	"-expect-hrr":                    boolFlag,
	"-expect-no-hrr":                 boolFlag,
	"-expect-extended-master-secret": boolFlag,

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
}

// flags is a parsed command line: bools present, strings, ints and integer
// lists by name.
type flags struct {
	bools   map[string]bool
	strings map[string]string
	ints    map[string]int64
	lists   map[string][]int64
}

// errUnimplemented reports a flag the shim does not implement.
type errUnimplemented struct{ flag, why string }

func (e *errUnimplemented) Error() string {
	if e.why == "" {
		return fmt.Sprintf("unimplemented flag %s", e.flag)
	}
	return fmt.Sprintf("unimplemented: %s: %s", e.flag, e.why)
}

// parseFlags reads the runner's arguments. An unknown flag gives
// *errUnimplemented; a known flag with a missing or malformed value gives
// a plain error (the runner's mistake or ours, not a missing feature).
func parseFlags(args []string) (*flags, error) {
	f := &flags{
		bools:   map[string]bool{},
		strings: map[string]string{},
		ints:    map[string]int64{},
		lists:   map[string][]int64{},
	}
	for i := 0; i < len(args); i++ {
		name := args[i]
		k, ok := known[name]
		if !ok {
			return nil, &errUnimplemented{flag: name}
		}
		if k == boolFlag {
			f.bools[name] = true
			continue
		}
		if i+1 >= len(args) {
			return nil, fmt.Errorf("flag %s needs a value", name)
		}
		i++
		v := args[i]
		switch k {
		case stringFlag:
			f.strings[name] = v
		case intFlag, intListFlag:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("flag %s: %q is not an integer", name, v)
			}
			if k == intFlag {
				f.ints[name] = n
			} else {
				f.lists[name] = append(f.lists[name], n)
			}
		}
	}
	return f, nil
}

func (f *flags) has(name string) bool {
	_, s := f.strings[name]
	_, i := f.ints[name]
	_, l := f.lists[name]
	return f.bools[name] || s || i || l
}

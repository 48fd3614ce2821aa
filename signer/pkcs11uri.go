package signer

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PKCS11URI is a parsed RFC 7512 URI naming a token object.
//
// An attribute the URI gave with an empty value ("serial=") is kept apart
// from one it did not give: see Has. Values are stored percent-decoded.
//
// The PIN is unexported and is never printed: String and every fmt verb
// (%v, %+v, %#v, %s, %q, %x, %d, ...) show "pin-value=redacted". Vendor
// attributes whose names contain "pin" or "pass" are redacted the same way.
type PKCS11URI struct {
	// Path attributes (RFC 7512 §2.3).
	Token, Manufacturer, Serial, Model string
	LibraryManufacturer                string
	LibraryDescription                 string
	// LibraryVersion is "major" or "major.minor", each part 0-255.
	LibraryVersion                    string
	SlotDescription, SlotManufacturer string
	Object                            string
	// ID is the CKA_ID, raw bytes after percent-decoding.
	ID []byte
	// Type is "", or one of public, private, cert, secret-key, data.
	Type string
	// SlotID is non-nil when slot-id was given.
	SlotID *uint64

	// Query attributes. ModulePath, when given, is an absolute path;
	// ModuleName never contains '/'.
	ModulePath, ModuleName string
	PINSource              string
	pin                    []byte // pin-value; never printed

	// Vendor holds the path attributes this parser does not know, and
	// VendorQuery the query attributes, by name. RFC 7512 §2.3 lets
	// either component carry vendor-specific attributes under any name
	// made of letters, digits, '-' and '_' that is not a standard one
	// (the old "x-" prefix is deprecated by BCP 178, and the RFC's own
	// example uses "vendor-aaa"), so they are kept rather than refused,
	// and nothing is silently dropped. Under RFC 7512 §2.5 an unknown path
	// attribute should make the URI match no object.
	Vendor, VendorQuery map[string]string

	given map[string]bool // standard attributes present in the parsed URI
}

// PKCS11URIError reports what is wrong with a PKCS#11 URI. It never holds
// the PIN or any part of a value that might be one.
type PKCS11URIError struct {
	// Attribute is the name of the offending attribute, or "" when the
	// problem is the scheme or an element with no usable name.
	Attribute string
	reason    string
}

func (e *PKCS11URIError) Error() string {
	if e.Attribute == "" {
		return "signer: pkcs11 URI: " + e.reason
	}
	return fmt.Sprintf("signer: pkcs11 URI: attribute %q: %s", e.Attribute, e.reason)
}

func uriErr(attr, format string, args ...any) error {
	return &PKCS11URIError{Attribute: attr, reason: fmt.Sprintf(format, args...)}
}

type attrKind uint8

const (
	kindText attrKind = iota
	kindID
	kindType
	kindSlotID
	kindVersion
	kindModulePath
	kindModuleName
	kindPIN
)

type attrSpec struct {
	query bool
	kind  attrKind
}

// pkcs11Attrs lists the standard attributes of RFC 7512 §2.3.
var pkcs11Attrs = map[string]attrSpec{
	"token":                {kind: kindText},
	"manufacturer":         {kind: kindText},
	"serial":               {kind: kindText},
	"model":                {kind: kindText},
	"library-manufacturer": {kind: kindText},
	"library-description":  {kind: kindText},
	"library-version":      {kind: kindVersion},
	"slot-id":              {kind: kindSlotID},
	"slot-description":     {kind: kindText},
	"slot-manufacturer":    {kind: kindText},
	"object":               {kind: kindText},
	"id":                   {kind: kindID},
	"type":                 {kind: kindType},
	"module-path":          {query: true, kind: kindModulePath},
	"module-name":          {query: true, kind: kindModuleName},
	"pin-source":           {query: true, kind: kindText},
	"pin-value":            {query: true, kind: kindPIN},
}

// The canonical order String writes attributes in.
var (
	pkcs11PathOrder = []string{"token", "manufacturer", "serial", "model",
		"library-manufacturer", "library-description", "library-version",
		"slot-id", "slot-description", "slot-manufacturer", "object", "type", "id"}
	pkcs11QueryOrder = []string{"module-name", "module-path", "pin-source", "pin-value"}
)

var pkcs11Types = []string{"public", "private", "cert", "secret-key", "data"}

// Characters a value may carry unescaped (RFC 7512 §2.3 pk11-pchar and
// pk11-qchar): RFC 3986 unreserved, pk11-res-avail, plus "&" in the path
// and "/", "?" and "|" in the query.
var pathChars, queryChars = uriCharset("&"), uriCharset("/?|")

func uriCharset(extra string) *[256]bool {
	var t [256]bool
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~:[]@!$'()*+,=" + extra {
		t[c] = true
	}
	return &t
}

// validAttrName is 1*pk11-v-attr-nm-char.
func validAttrName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// secretAttr reports whether an attribute's value must never be shown.
func secretAttr(name string) bool {
	l := strings.ToLower(name)
	return l == "pin-value" || (strings.Contains(l, "pin") && l != "pin-source") || strings.Contains(l, "pass")
}

// ParsePKCS11URI parses an RFC 7512 PKCS#11 URI such as
// "pkcs11:token=prod;object=tls-key;type=private?pin-source=file:/run/pin".
// "pkcs11:" alone is valid and matches everything. Errors name the
// offending attribute and never contain the PIN.
func ParsePKCS11URI(s string) (*PKCS11URI, error) {
	const scheme = "pkcs11:"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return nil, uriErr("", `the URI does not start with "pkcs11:"`)
	}
	path, query, _ := strings.Cut(s[len(scheme):], "?")
	u := &PKCS11URI{}
	err := u.parseComponent(path, ";", false)
	if err == nil {
		err = u.parseComponent(query, "&", true)
	}
	if err == nil && u.given["pin-value"] && u.given["pin-source"] {
		err = uriErr("pin-value", "pin-value and pin-source are mutually exclusive (RFC 7512 §2.3); keep pin-source")
	}
	if err != nil {
		clear(u.pin)
		return nil, err
	}
	return u, nil
}

func (u *PKCS11URI) parseComponent(comp, sep string, query bool) error {
	if comp == "" {
		return nil
	}
	where := "path"
	if query {
		where = "query"
	}
	for i, elem := range strings.Split(comp, sep) {
		pos := i + 1
		if elem == "" {
			return uriErr("", "%s attribute %d is empty (a stray %q)", where, pos, sep)
		}
		name, raw, hasEq := strings.Cut(elem, "=")
		if !validAttrName(name) {
			// The query may hold a PIN that was not percent-encoded, so
			// a query element is pointed at by position, never shown.
			if query {
				return uriErr("", "query attribute %d has no valid name (want letters, digits, '-' or '_' followed by \"=\")", pos)
			}
			return uriErr("", "path attribute %d (%q) has no valid name (want letters, digits, '-' or '_' followed by \"=\")", pos, elem)
		}
		if !hasEq {
			if query {
				return uriErr("", "query attribute %d has no \"=\"", pos)
			}
			return uriErr(name, "has no \"=\" and value")
		}
		if err := u.setAttr(name, raw, query); err != nil {
			return err
		}
	}
	return nil
}

func (u *PKCS11URI) setAttr(name, raw string, query bool) error {
	chars := pathChars
	if query {
		chars = queryChars
	}
	spec, known := pkcs11Attrs[name]
	if !known {
		for std := range pkcs11Attrs {
			if strings.EqualFold(std, name) {
				return uriErr(name, "unknown attribute; attribute names are case-sensitive (did you mean %q?)", std)
			}
		}
		val, err := pctDecode(name, raw, chars)
		if err != nil {
			return err
		}
		m := &u.Vendor
		if query {
			m = &u.VendorQuery
		}
		if _, dup := (*m)[name]; dup {
			return uriErr(name, "appears more than once")
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[name] = string(val)
		return nil
	}
	if spec.query != query {
		if query {
			return uriErr(name, "is a path attribute; it belongs before the \"?\"")
		}
		return uriErr(name, "is a query attribute; it belongs after the \"?\"")
	}
	if u.given[name] {
		return uriErr(name, "appears more than once")
	}
	val, err := pctDecode(name, raw, chars)
	if err != nil {
		return err
	}
	switch spec.kind {
	case kindPIN:
		u.pin = val
	case kindID:
		u.ID = val
	default:
		if !utf8.Valid(val) {
			clear(val)
			return uriErr(name, "value is not valid UTF-8 after percent-decoding")
		}
		if err := u.setText(name, spec.kind, string(val)); err != nil {
			return err
		}
	}
	if u.given == nil {
		u.given = map[string]bool{}
	}
	u.given[name] = true
	return nil
}

func (u *PKCS11URI) setText(name string, kind attrKind, v string) error {
	switch kind {
	case kindType:
		if !slices.Contains(pkcs11Types, v) {
			return uriErr(name, "value %q is not one of %s", v, strings.Join(pkcs11Types, ", "))
		}
		u.Type = v
	case kindSlotID:
		if v == "" || strings.Trim(v, "0123456789") != "" {
			return uriErr(name, "value %q is not a decimal number", v)
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return uriErr(name, "value %q does not fit in 64 bits", v)
		}
		u.SlotID = &n
	case kindVersion:
		major, minor, dot := strings.Cut(v, ".")
		if !versionPart(major) || (dot && !versionPart(minor)) {
			return uriErr(name, "value %q is not a version (want major[.minor], each 0-255, e.g. 1.23)", v)
		}
		u.LibraryVersion = v
	case kindModulePath:
		if !strings.HasPrefix(v, "/") {
			return uriErr(name, "value %q is not an absolute path", v)
		}
		u.ModulePath = v
	case kindModuleName:
		if v == "" || strings.Contains(v, "/") {
			return uriErr(name, "value %q is not a module name (use module-path for a path)", v)
		}
		u.ModuleName = v
	default:
		*u.textField(name) = v
	}
	return nil
}

func versionPart(s string) bool {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return err == nil && n <= 255
}

// textField returns the field of a plain text attribute.
func (u *PKCS11URI) textField(name string) *string {
	switch name {
	case "token":
		return &u.Token
	case "manufacturer":
		return &u.Manufacturer
	case "serial":
		return &u.Serial
	case "model":
		return &u.Model
	case "library-manufacturer":
		return &u.LibraryManufacturer
	case "library-description":
		return &u.LibraryDescription
	case "slot-description":
		return &u.SlotDescription
	case "slot-manufacturer":
		return &u.SlotManufacturer
	case "object":
		return &u.Object
	case "pin-source":
		return &u.PINSource
	case "library-version":
		return &u.LibraryVersion
	case "type":
		return &u.Type
	case "module-path":
		return &u.ModulePath
	case "module-name":
		return &u.ModuleName
	}
	panic("signer: no text field for pkcs11 attribute " + name)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// pctDecode decodes raw, the value of attribute name, refusing malformed
// escapes and characters that must be escaped. Errors about a secret
// attribute say where, never what.
func pctDecode(name, raw string, chars *[256]bool) ([]byte, error) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			var hi, lo byte
			okHi, okLo := false, false
			if i+2 < len(raw) {
				hi, okHi = unhex(raw[i+1])
				lo, okLo = unhex(raw[i+2])
			}
			if !okHi || !okLo {
				clear(out)
				if secretAttr(name) {
					return nil, uriErr(name, "%s is malformed: a '%%' at byte %d is not followed by two hex digits (value not shown)", name, i)
				}
				end := min(i+3, len(raw))
				return nil, uriErr(name, "malformed escape %q at byte %d of the value (want %%XX with two hex digits)", raw[i:end], i)
			}
			out = append(out, hi<<4|lo)
			i += 2
			continue
		}
		if !chars[c] {
			clear(out)
			if secretAttr(name) {
				return nil, uriErr(name, "%s is malformed: byte %d must be percent-encoded (value not shown)", name, i)
			}
			return nil, uriErr(name, "character %q at byte %d of the value must be percent-encoded as %%%02X", raw[i:i+1], i, c)
		}
		out = append(out, c)
	}
	return out, nil
}

// Has reports whether the parsed URI gave the standard attribute name,
// even with an empty value, or whether its field is now set.
func (u *PKCS11URI) Has(name string) bool {
	if u.given[name] {
		return true
	}
	switch name {
	case "id":
		return len(u.ID) > 0
	case "slot-id":
		return u.SlotID != nil
	case "pin-value":
		return u.pin != nil
	}
	if _, ok := pkcs11Attrs[name]; !ok {
		return false
	}
	return *u.textField(name) != ""
}

// PIN returns the pin-value, or nil. The slice is the URI's own; callers
// should prefer pin-source, and may wipe the PIN with clear(u.PIN()) once
// used. It is never printed.
func (u *PKCS11URI) PIN() []byte { return u.pin }

// String returns the canonical form of u: standard attributes in a fixed
// order, then vendor ones sorted by name, values percent-encoded where
// RFC 7512 requires and id encoded in full, and the pin-value written as
// "redacted". It has a value receiver so that printing a PKCS11URI value,
// not only a pointer, goes through it.
func (u PKCS11URI) String() string {
	var b strings.Builder
	b.WriteString("pkcs11:")
	n := 0
	write := func(sep byte, name string, val []byte, chars *[256]bool, all bool) {
		if n > 0 {
			b.WriteByte(sep)
		}
		n++
		b.WriteString(name)
		b.WriteByte('=')
		for _, c := range val {
			if !all && chars[c] {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
	}
	for _, name := range pkcs11PathOrder {
		if !u.Has(name) {
			continue
		}
		switch name {
		case "id":
			write(';', name, u.ID, pathChars, true)
		case "slot-id":
			v := ""
			if u.SlotID != nil {
				v = strconv.FormatUint(*u.SlotID, 10)
			}
			write(';', name, []byte(v), pathChars, false)
		default:
			write(';', name, []byte(*u.textField(name)), pathChars, false)
		}
	}
	writeVendor := func(sep byte, m map[string]string, chars *[256]bool) {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			v := m[name]
			if secretAttr(name) {
				v = "redacted"
			}
			write(sep, name, []byte(v), chars, false)
		}
	}
	writeVendor(';', u.Vendor, pathChars)
	n = 0
	start := b.Len()
	b.WriteByte('?')
	for _, name := range pkcs11QueryOrder {
		if !u.Has(name) {
			continue
		}
		v := []byte("redacted")
		if name != "pin-value" {
			v = []byte(*u.textField(name))
		}
		write('&', name, v, queryChars, false)
	}
	writeVendor('&', u.VendorQuery, queryChars)
	s := b.String()
	if n == 0 {
		s = s[:start]
	}
	return s
}

// Format makes every fmt verb print String, so no verb (%#v, %d, %x)
// can reach the unexported PIN.
func (u PKCS11URI) Format(f fmt.State, verb rune) {
	s := u.String()
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}

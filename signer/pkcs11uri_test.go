package signer

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func u64(n uint64) *uint64 { return &n }

// withoutPIN returns a copy of u with the PIN and presence record of
// pin-value removed, for comparisons where only the PIN may differ.
func withoutPIN(u *PKCS11URI) PKCS11URI {
	c := *u
	c.pin = nil
	if c.given != nil {
		g := map[string]bool{}
		for k, v := range c.given {
			if k != "pin-value" {
				g[k] = v
			}
		}
		c.given = g
	}
	return c
}

// rfc7512Examples are the URIs of RFC 7512 §3, with the fields each must
// parse to.
var rfc7512Examples = []struct {
	uri   string
	want  PKCS11URI
	pin   string // "" = no pin-value
	given []string
}{
	{uri: "pkcs11:", given: nil},
	{uri: "pkcs11:object=my-pubkey;type=public",
		want:  PKCS11URI{Object: "my-pubkey", Type: "public"},
		given: []string{"object", "type"}},
	{uri: "pkcs11:object=my-key;type=private?pin-source=file:/etc/token",
		want:  PKCS11URI{Object: "my-key", Type: "private", PINSource: "file:/etc/token"},
		given: []string{"object", "type", "pin-source"}},
	{uri: "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
		want: PKCS11URI{Token: "The Software PKCS#11 Softtoken", Manufacturer: "Snake Oil, Inc.", Model: "1.0",
			Object: "my-certificate", Type: "cert", ID: []byte{0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91},
			PINSource: "file:/etc/token_pin"},
		given: []string{"token", "manufacturer", "model", "object", "type", "id", "serial", "pin-source"}},
	{uri: "pkcs11:object=my-sign-key;type=private?module-name=mypkcs11",
		want:  PKCS11URI{Object: "my-sign-key", Type: "private", ModuleName: "mypkcs11"},
		given: []string{"object", "type", "module-name"}},
	{uri: "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
		want:  PKCS11URI{Object: "my-sign-key", Type: "private", ModulePath: "/mnt/libmypkcs11.so.1"},
		given: []string{"object", "type", "module-path"}},
	{uri: "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
		want:  PKCS11URI{Token: "Software PKCS#11 softtoken", Manufacturer: "Snake Oil, Inc."},
		pin:   "the-pin",
		given: []string{"token", "manufacturer", "pin-value"}},
	{uri: "pkcs11:slot-description=Sun%20Metaslot",
		want:  PKCS11URI{SlotDescription: "Sun Metaslot"},
		given: []string{"slot-description"}},
	{uri: "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23",
		want:  PKCS11URI{LibraryManufacturer: "Snake Oil, Inc.", LibraryDescription: "Soft Token Library", LibraryVersion: "1.23"},
		given: []string{"library-manufacturer", "library-description", "library-version"}},
	{uri: "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
		want:  PKCS11URI{Token: "A name with a substring %;", Object: "my-certificate", Type: "cert"},
		given: []string{"token", "object", "type"}},
	{uri: "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
		want:  PKCS11URI{Token: "Name with a small A with acute: \u00e1", Object: "my-certificate", Type: "cert"},
		given: []string{"token", "object", "type"}},
	{uri: "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token&vendor-bbb=value-b",
		want: PKCS11URI{Token: "my-token", Object: "my-certificate", Type: "cert", PINSource: "file:/etc/token",
			Vendor: map[string]string{"vendor-aaa": "value-a"}, VendorQuery: map[string]string{"vendor-bbb": "value-b"}},
		given: []string{"token", "object", "type", "pin-source"}},
	// Not from the RFC: slot-id, the deprecated x- prefix, empty query.
	{uri: "pkcs11:slot-id=0042;x-foo=a%2Fb?",
		want:  PKCS11URI{SlotID: u64(42), Vendor: map[string]string{"x-foo": "a/b"}},
		given: []string{"slot-id"}},
}

func TestParsePKCS11URIValid(t *testing.T) {
	for _, tc := range rfc7512Examples {
		t.Run(tc.uri, func(t *testing.T) {
			u, err := ParsePKCS11URI(tc.uri)
			if err != nil {
				t.Fatalf("ParsePKCS11URI: %v", err)
			}
			// Field by field, so a failure names the field.
			got, want := reflect.ValueOf(*u), reflect.ValueOf(tc.want)
			for i := 0; i < got.NumField(); i++ {
				f := got.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				if !reflect.DeepEqual(got.Field(i).Interface(), want.Field(i).Interface()) {
					t.Errorf("%s = %#v, want %#v", f.Name, got.Field(i).Interface(), want.Field(i).Interface())
				}
			}
			if string(u.PIN()) != tc.pin || (tc.pin == "") != (u.PIN() == nil) {
				t.Errorf("PIN() = %q, want %q", u.PIN(), tc.pin)
			}
			for name := range pkcs11Attrs {
				if want := contains(tc.given, name); u.Has(name) != want {
					t.Errorf("Has(%q) = %v, want %v", name, u.Has(name), want)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestParsePKCS11URIInvalid(t *testing.T) {
	const pin = "Qx7Wv9PIN"
	for _, tc := range []struct {
		uri  string
		attr string // the name the error must mention and report
		says string // a further part the message must mention
	}{
		{"http:object=a", "", `"pkcs11:"`},
		{"pkcs11", "", `"pkcs11:"`},
		{"pkcs11:type=key", "type", `value "key" is not one of public, private, cert, secret-key, data`},
		{"pkcs11:type=Private", "type", "not one of"},
		{"pkcs11:object=a;object=b", "object", "more than once"},
		{"pkcs11:type=cert;type=cert", "type", "more than once"},
		{"pkcs11:x-a=1;x-a=2", "x-a", "more than once"},
		{"pkcs11:?module-name=a&module-name=b", "module-name", "more than once"},
		{"pkcs11:token=a%2", "token", "malformed escape"},
		{"pkcs11:token=a%zz", "token", `"%zz"`},
		{"pkcs11:id=%6", "id", "malformed escape"},
		{"pkcs11:token=%FF", "token", "UTF-8"},
		{"pkcs11:object=my key", "object", "percent-encoded"},
		{"pkcs11:object=a/b", "object", "percent-encoded"},
		{"pkcs11:object=a#frag", "object", "percent-encoded"},
		{"pkcs11:slot-id=12a", "slot-id", "decimal"},
		{"pkcs11:slot-id=-1", "slot-id", "decimal"},
		{"pkcs11:slot-id=", "slot-id", "decimal"},
		{"pkcs11:slot-id=18446744073709551616", "slot-id", "64 bits"},
		{"pkcs11:library-version=1.2.3", "library-version", "version"},
		{"pkcs11:library-version=1.256", "library-version", "version"},
		{"pkcs11:library-version=.1", "library-version", "version"},
		{"pkcs11:Type=cert", "Type", "case-sensitive"},
		{"pkcs11:object=a?object=b", "object", "path attribute"},
		{"pkcs11:object", "object", `"="`},
		{"pkcs11:obj.ect=1", "", `"obj.ect=1"`},
		{"pkcs11:object=a;;type=cert", "", "path attribute 2 is empty"},
		{"pkcs11:object=a;", "", "path attribute 2 is empty"},
		{"pkcs11:?module-path=lib.so", "module-path", "absolute"},
		{"pkcs11:?module-path=", "module-path", "absolute"},
		{"pkcs11:?module-name=../lib", "module-name", "module name"},
		// The PIN is never in the message, even when it is what is wrong.
		{"pkcs11:object=a?pin-value=" + pin + "&pin-source=file:/x", "pin-value", "mutually exclusive"},
		{"pkcs11:object=a?pin-source=file:/x&pin-value=" + pin, "pin-value", "pin-source"},
		{"pkcs11:object=a?pin-value=" + pin + "%zz", "pin-value", "pin-value is malformed"},
		{"pkcs11:object=a?pin-value=" + pin + "%2", "pin-value", "pin-value is malformed"},
		{"pkcs11:object=a?pin-value=" + pin + "%20 " + pin, "pin-value", "pin-value is malformed"},
		{"pkcs11:object=a?pin-value=" + pin + "&pin-value=" + pin, "pin-value", "more than once"},
		{"pkcs11:pin-value=" + pin, "pin-value", "query attribute"},
		{"pkcs11:object=a?PIN-VALUE=" + pin, "PIN-VALUE", "case-sensitive"},
		{"pkcs11:object=a?x-pin=" + pin + "%z", "x-pin", "x-pin is malformed"},
		{"pkcs11:?pin-value=ab&" + pin, "", "query attribute 2 has no"},
		{"pkcs11:?pin-value=ab&" + pin + ".x=1", "", "query attribute 2 has no valid name"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			u, err := ParsePKCS11URI(tc.uri)
			if err == nil {
				t.Fatalf("ParsePKCS11URI accepted it: %v", u)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "signer: pkcs11 URI: ") {
				t.Errorf("error %q lacks the package prefix", msg)
			}
			if tc.attr != "" && !strings.Contains(msg, `"`+tc.attr+`"`) {
				t.Errorf("error %q does not name attribute %q", msg, tc.attr)
			}
			if !strings.Contains(msg, tc.says) {
				t.Errorf("error %q does not say %q", msg, tc.says)
			}
			perr, ok := errors.AsType[*PKCS11URIError](err)
			if !ok {
				t.Fatalf("error %T is not a *PKCS11URIError", err)
			}
			if perr.Attribute != tc.attr {
				t.Errorf("Attribute = %q, want %q", perr.Attribute, tc.attr)
			}
			for _, secret := range []string{pin, "Qx7", "%zz", "%20", "%2"} {
				if strings.Contains(tc.uri, pin) && strings.Contains(msg, secret) {
					t.Errorf("error %q contains PIN material %q", msg, secret)
				}
			}
		})
	}
}

func TestPKCS11URIRoundTrip(t *testing.T) {
	uris := []string{
		"pkcs11:token=a%3Bb%3Fc%26d%25;object=%C3%A1;id=%00%FF?pin-source=file:/p%26q&module-name=m%3Bn",
		"pkcs11:x-pin=secret?vendor-pass=secret",
	}
	for _, tc := range rfc7512Examples {
		uris = append(uris, tc.uri)
	}
	for _, s := range uris {
		u, err := ParsePKCS11URI(s)
		if err != nil {
			// The hand-written ones must parse too.
			t.Fatalf("ParsePKCS11URI(%q): %v", s, err)
		}
		out := u.String()
		back, err := ParsePKCS11URI(out)
		if err != nil {
			t.Fatalf("String() = %q does not re-parse: %v", out, err)
		}
		if out2 := back.String(); out2 != out {
			t.Errorf("String() is not canonical: %q then %q", out, out2)
		}
		if u.PIN() != nil && string(back.PIN()) != "redacted" {
			t.Errorf("%q: re-parsed PIN is %q, want the placeholder", out, back.PIN())
		}
		a, b := withoutPIN(u), withoutPIN(back)
		// Vendor attributes that look like PINs are redacted as well.
		for _, m := range []map[string]string{a.Vendor, a.VendorQuery} {
			for k := range m {
				if secretAttr(k) {
					m[k] = "redacted"
				}
			}
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("round trip of %q through %q:\n got %#v\nwant %#v", s, out, fmtFields(b), fmtFields(a))
		}
	}

	// A URI built in code, not parsed, prints too.
	built := PKCS11URI{Token: "t o", ID: []byte{1, 2}, SlotID: u64(7), Type: "private", ModulePath: "/lib/p11.so"}
	if got, want := built.String(), "pkcs11:token=t%20o;slot-id=7;type=private;id=%01%02?module-path=/lib/p11.so"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// fmtFields prints the exported fields; %#v on the URI itself is redacted.
func fmtFields(u PKCS11URI) string {
	v := reflect.ValueOf(u)
	var b strings.Builder
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).IsExported() {
			fmt.Fprintf(&b, "%s:%#v ", v.Type().Field(i).Name, v.Field(i).Interface())
		}
	}
	return b.String()
}

func TestPKCS11URINeverPrintsPIN(t *testing.T) {
	const pin = "Zk4PINsecret"
	u, err := ParsePKCS11URI("pkcs11:object=k?pin-value=" + pin)
	if err != nil {
		t.Fatal(err)
	}
	if string(u.PIN()) != pin {
		t.Fatalf("PIN() = %q", u.PIN())
	}
	if got, want := u.String(), "pkcs11:object=k?pin-value=redacted"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	hexPIN := fmt.Sprintf("%x", pin)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		for _, arg := range []any{u, *u, []any{u}, struct{ U PKCS11URI }{*u}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, pin) || strings.Contains(strings.ToLower(out), hexPIN) || strings.Contains(out, "90 107 52") {
				t.Errorf("Sprintf(%q, %T) = %q shows the PIN", verb, arg, out)
			}
		}
	}
}

// pinSentinel is put at the start of every pin-value in fuzz inputs; it
// must then never be seen in String, fmt output or an error.
const pinSentinel = "Sx9PINq"

// withPINSentinel puts pinSentinel at the start of every pin-value
// attribute of s, keeping its structure.
func withPINSentinel(s string) string {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return s
	}
	head, rest := s[:i+1], s[i+1:]
	path, query, hasQuery := strings.Cut(rest, "?")
	mark := func(comp, sep string) string {
		elems := strings.Split(comp, sep)
		for j, e := range elems {
			if v, ok := strings.CutPrefix(e, "pin-value="); ok {
				elems[j] = "pin-value=" + pinSentinel + v
			}
		}
		return strings.Join(elems, sep)
	}
	out := head + mark(path, ";")
	if hasQuery {
		out += "?" + mark(query, "&")
	}
	return out
}

func FuzzParsePKCS11URI(f *testing.F) {
	for _, tc := range rfc7512Examples {
		f.Add(tc.uri)
	}
	for _, s := range []string{
		"pkcs11:?pin-value=a%zz", "pkcs11:pin-value=1234", "pkcs11:?pin-value=12&34",
		"pkcs11:?pin-value=1&pin-source=x", "pkcs11:slot-id=99999999999999999999",
		"PKCS11:type=data;id=", "pkcs11:?PIN-value=x", "pkcs11:?x-pass=p%20w",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := ParsePKCS11URI(s); err == nil {
			out := u.String()
			back, err := ParsePKCS11URI(out)
			if err != nil {
				t.Fatalf("String() of %q = %q does not re-parse: %v", s, out, err)
			}
			if out2 := back.String(); out2 != out {
				t.Fatalf("String() not canonical: %q then %q", out, out2)
			}
		}
		if strings.Contains(s, pinSentinel) {
			return
		}
		m := withPINSentinel(s)
		u, err := ParsePKCS11URI(m)
		if err != nil {
			if strings.Contains(err.Error(), pinSentinel) {
				t.Fatalf("error for %q shows the PIN: %v", m, err)
			}
			return
		}
		for _, out := range []string{u.String(), fmt.Sprintf("%v", u), fmt.Sprintf("%#v", *u), fmt.Sprintf("%+v", u)} {
			if strings.Contains(out, pinSentinel) {
				t.Fatalf("output for %q shows the PIN: %q", m, out)
			}
		}
	})
}

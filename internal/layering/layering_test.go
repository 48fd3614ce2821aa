package layering

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/holdfast-tls/holdfast"

// allowed maps a package (relative to the module) to the module packages it
// may import directly. A package without a row fails the test until one is
// added here and in docs/ARCHITECTURE.md.
var allowed = map[string][]string{
	"mem":                                {},
	"hkdf":                               {"internal/erase", "mem"},
	"internal/erase":                     {},
	"internal/kex":                       {"internal/alert", "internal/erase", "mem"},
	"internal/alert":                     {},
	"internal/record":                    {"internal/alert", "internal/erase", "mem"},
	"internal/sigscheme":                 {"internal/alert"},
	"internal/wire":                      {"internal/alert"},
	"internal/params":                    {"certcompress", "internal/alert", "internal/kex", "internal/session", "internal/sigscheme", "mem"},
	"internal/session":                   {"mem"},
	"internal/tls13":                     {"certcompress", "hkdf", "internal/alert", "internal/kex", "internal/params", "internal/record", "internal/session", "internal/sigscheme", "internal/wire", "mem"},
	".":                                  {"certcompress", "hkdf", "internal/alert", "internal/kex", "internal/offthread", "internal/params", "internal/record", "internal/sigscheme", "internal/session", "internal/tls13", "internal/wire", "mem", "signer", "tickets", "tls12"},
	"tls12":                              {"certcompress", "hkdf", "internal/alert", "internal/erase", "internal/kex", "internal/params", "internal/record", "internal/session", "internal/sigscheme", "internal/wire", "mem"},
	"signer":                             {"internal/erase", "internal/offthread", "mem"},
	"internal/offthread":                 {},
	"internal/softhsm":                   {},
	"internal/swtpm":                     {"internal/testdaemon"},
	"internal/redistest":                 {"internal/testdaemon"},
	"internal/testdaemon":                {},
	"tickets/farm":                       {"mem", "signer", "tickets"},
	"tickets":                            {"internal/erase", "mem"},
	"internal/residue":                   {"mem"},
	"internal/layering":                  {},
	"certcompress":                       {},
	"certcompress/brotli":                {"certcompress"},
	"certcompress/zstd":                  {"certcompress"},
	"certcompress/internal/compresstest": {"certcompress"},
	"internal/bogo/shim":                 {".", "signer", "tickets"},
	"examples/server":                    {".", "signer"},
	"examples/client":                    {"."},
	"examples/tpmkey":                    {"signer"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "" {
			rel = "."
		}
		may, ok := allowed[rel]
		if !ok {
			t.Errorf("package %q has no row in the layering table; add one here and in docs/ARCHITECTURE.md", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") && imp != module {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if dep == "" {
				dep = "."
			}
			if !contains(may, dep) {
				t.Errorf("%s imports %s, which the layering table forbids", rel, dep)
			}
		}
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

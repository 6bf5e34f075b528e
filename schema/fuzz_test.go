package schema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func addSeeds(f *testing.F, ext string) {
	for _, pat := range []string{"../examples/*" + ext, "testdata/diag/*" + ext} {
		files, _ := filepath.Glob(pat)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(okInstance))
}

// fuzzOne decodes, validates, renders, resolves and formats src; none of it
// may panic, formatting must be idempotent, and ParseLean must agree with
// Parse.
func fuzzOne(t *testing.T, name string, src []byte) {
	cfg, diags := Parse(Sources{name: src})
	_ = RenderString(Sources{name: src}, diags)
	lean, leanDiags := ParseLean(Sources{name: src})
	if d := cmp.Diff(diagTexts(diags), diagTexts(leanDiags)); d != "" {
		t.Fatalf("diagnostics differ (-Parse +ParseLean):\n%s", d)
	}
	if d := cmp.Diff(cfg, lean, cacheCmpOpts); d != "" {
		t.Fatalf("configs differ (-Parse +ParseLean):\n%s", d)
	}
	if cfg != nil && !diags.HasErrors() {
		for _, n := range append(cfg.NodeNames(), "") {
			if n == "" && len(cfg.Nodes) > 0 {
				continue
			}
			if _, err := Resolve(cfg, n); err != nil {
				t.Fatalf("resolve %q of a valid config: %v", n, err)
			}
		}
	}
	out, fd := FormatSource(name, src)
	if fd.HasErrors() {
		return
	}
	again, fd := FormatSource(name, out)
	if fd.HasErrors() {
		t.Fatalf("formatted output does not parse: %v\n%s", fd, out)
	}
	if string(again) != string(out) {
		t.Fatalf("formatting is not idempotent:\n%s\n---\n%s", out, again)
	}
}

func FuzzDecodeHCL(f *testing.F) {
	addSeeds(f, ".hcl")
	f.Fuzz(func(t *testing.T, src []byte) { fuzzOne(t, "f.hcl", src) })
}

func FuzzDecodeYAML(f *testing.F) {
	addSeeds(f, ".yaml")
	f.Fuzz(func(t *testing.T, src []byte) { fuzzOne(t, "f.yaml", src) })
}

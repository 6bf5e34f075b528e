package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../examples/*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if FormatOf(f) != "" {
			out = append(out, f)
		}
	}
	if len(out) < 6 {
		t.Fatalf("found only %d example configs: %v", len(out), out)
	}
	return out
}

// TestExamplesValidate loads every example and resolves it for every node
// it declares.
func TestExamplesValidate(t *testing.T) {
	for _, f := range exampleFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, srcs, diags := Load(f)
			if len(diags) > 0 {
				t.Fatalf("diagnostics:\n%s", RenderString(srcs, diags))
			}
			nodes := cfg.NodeNames()
			if len(nodes) == 0 {
				nodes = []string{""}
			}
			for _, n := range nodes {
				r, err := Resolve(cfg, n)
				if err != nil {
					t.Fatalf("resolve %q: %v", n, err)
				}
				if len(r.Instances)+len(r.VirtualServers) == 0 {
					t.Errorf("node %q: example configures nothing", n)
				}
			}
		})
	}
}

// TestExampleTwins checks that each example written in both HCL and YAML
// decodes to the same config.
func TestExampleTwins(t *testing.T) {
	twins := 0
	for _, f := range exampleFiles(t) {
		if FormatOf(f) != FormatHCL {
			continue
		}
		y := strings.TrimSuffix(f, ".hcl") + ".yaml"
		if _, err := os.Stat(y); err != nil {
			continue
		}
		twins++
		h, hs, hd := Load(f)
		ya, ys, yd := Load(y)
		if hd.HasErrors() || yd.HasErrors() {
			t.Fatalf("diagnostics:\n%s\n%s", RenderString(hs, hd), RenderString(ys, yd))
		}
		if diff := cmp.Diff(h, ya, cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateComparable(netipTypes...)); diff != "" {
			t.Errorf("%s and %s differ (-hcl +yaml):\n%s", f, y, diff)
		}
	}
	if twins == 0 {
		t.Fatal("no HCL/YAML example twins found")
	}
}

// TestExamplesFormatted keeps the shipped examples in canonical format.
func TestExamplesFormatted(t *testing.T) {
	for _, f := range exampleFiles(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, diags := FormatSource(f, src)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", f, diags)
		}
		if diff := cmp.Diff(string(src), string(out)); diff != "" {
			t.Errorf("%s is not formatted (-have +formatted):\n%s", f, diff)
		}
	}
}

package schema

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseLean: ParseLean finds problems in exactly the configs Parse
// finds them in, and reports them as Parse does; it returns the config
// Parse returns, with the ranges of its zero values only. The configs
// write values as their zero value, which validation tells apart from
// values not written, and non-zero values it checks only when written.
func TestParseLean(t *testing.T) {
	inst := func(extra string) string {
		return strings.Replace(okInstance, "  interface", extra+"  interface", 1)
	}
	tests := []struct {
		name, src string
		problems  bool
	}{
		{"valid", okInstance, false},
		{"priority written as 0", inst("  priority = 0\n"), true},
		{"priority out of range", inst("  priority = 300\n"), true},
		{"priority valid", inst("  priority = 150\n"), false},
		{"virtual_router_id written as 0", strings.Replace(okInstance, "= 51", "= 0", 1), true},
		{"virtual_router_id missing", strings.Replace(okInstance, "  virtual_router_id = 51\n", "", 1), true},
		{"interface written empty", strings.Replace(okInstance, `"eth0"`, `""`, 1), false},
		{"interface missing", strings.Replace(okInstance, "  interface         = \"eth0\"\n", "", 1), true},
		{"no virtual addresses", strings.Replace(okInstance, `["192.0.2.10/24"]`, `[]`, 1), false},
		{"advert_int written as 0", inst("  advert_int = \"0s\"\n"), true},
		{"empty check", `virtual_server "web" {
  address = "192.0.2.10:80"
  real_server "203.0.113.5:80" {
    tcp_check {}
  }
}
`, false},
		{"fwmark written as 0", `virtual_server "web" {
  fwmark = 0
  real_server "203.0.113.5:80" {}
}
`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcs := Sources{"c.hcl": []byte(tt.src)}
			full, fullDiags := Parse(srcs)
			lean, leanDiags := ParseLean(srcs)
			if got := len(fullDiags) > 0; got != tt.problems {
				t.Fatalf("Parse: problems %v, want %v: %v", got, tt.problems, diagTexts(fullDiags))
			}
			if d := cmp.Diff(diagTexts(fullDiags), diagTexts(leanDiags)); d != "" {
				t.Errorf("diagnostics differ (-Parse +ParseLean):\n%s", d)
			}
			if d := cmp.Diff(full, lean, cacheCmpOpts); d != "" {
				t.Errorf("configs differ (-Parse +ParseLean):\n%s", d)
			}
			if tt.problems {
				if lean.src.lean {
					t.Errorf("a config with problems has a lean source map")
				}
				return
			}
			if !lean.src.lean {
				t.Fatal("a valid config was decoded with every range")
			}
			if n, all := lean.src.len(), full.src.len(); n*4 > all {
				t.Errorf("the lean source map holds %d ranges of %d", n, all)
			}
		})
	}
}

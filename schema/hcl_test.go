package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestHCLChunks parses a large config in chunks of every size and compares
// the result, positions included, with one whole parse.
func TestHCLChunks(t *testing.T) {
	var b strings.Builder
	b.WriteString("# a comment with a } brace\n// and { another\nglobal_defs {\n  router_id = \"a{b}c#d\"\n}\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "virtual_server \"vs%d\" { # trailing } comment\n  address = \"192.0.2.%d:%d\"\n  quorum_up = \"/bin/echo \\\"}\\\" {\"\n", i, i%250+1, 1000+i)
		for j := 0; j < 3; j++ {
			fmt.Fprintf(&b, "  real_server \"198.51.100.%d:80\" {\n    weight = %d\n  }\n", j+1, j+1)
		}
		b.WriteString("}\n")
		if i%7 == 0 {
			b.WriteString("\n\n")
		}
	}
	src := []byte(b.String())
	whole, diags := parseHCLChunks("c.hcl", src, len(src)+1)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	chunkCounts := map[int]bool{}
	for _, size := range []int{1, 50, 300, 1000, 5000} {
		chunks := hclChunks(src, size)
		chunkCounts[len(chunks)] = true
		got, diags := parseHCLChunks("c.hcl", src, size)
		if diags.HasErrors() {
			t.Fatalf("size %d: %v", size, diags)
		}
		if diff := cmp.Diff(whole.entries, got.entries, cmp.AllowUnexported(value{}, entry{}), cmpopts.IgnoreFields(value{}, "rng")); diff != "" {
			t.Fatalf("size %d: entries differ (-whole +chunked):\n%s", size, diff)
		}
		for i := range whole.entries {
			if whole.entries[i].keyRange != got.entries[i].keyRange {
				t.Fatalf("size %d: entry %d at %v, want %v", size, i, got.entries[i].keyRange, whole.entries[i].keyRange)
			}
		}
	}
	if len(chunkCounts) < 3 {
		t.Errorf("chunking never cut the file: %v", chunkCounts)
	}
	// Syntax errors are reported at the same place.
	bad := []byte(strings.Replace(string(src), `address = "192.0.2.41:1040"`, `address = = "x"`, 1))
	_, d1 := parseHCLChunks("c.hcl", bad, len(bad)+1)
	_, d2 := parseHCLChunks("c.hcl", bad, 300)
	if len(d1) == 0 || len(d2) == 0 || d1[0].Subject.Start != d2[0].Subject.Start {
		t.Errorf("syntax error positions differ: whole %v, chunked %v", d1, d2)
	}
	// Files the cutter cannot follow stay whole.
	for _, tricky := range []string{"x = <<EOT\n}\nEOT\n", "x = \"${y}\"\n", "/* } */\n"} {
		if n := len(hclChunks([]byte(strings.Repeat(tricky, 200)), 10)); n != 1 {
			t.Errorf("%q: cut into %d chunks", tricky, n)
		}
	}
}

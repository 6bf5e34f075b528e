package schema

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestRenderGolden renders the diagnostics of each broken config under
// testdata/diag and compares them with its .golden file.
func TestRenderGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/diag/*")
	n := 0
	for _, f := range files {
		if FormatOf(f) == "" {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := "testdata/diag/" + filepath.Base(f)
			_, diags := Parse(Sources{name: src})
			if !diags.HasErrors() {
				t.Fatalf("%s: expected errors", f)
			}
			got := RenderString(Sources{name: src}, diags)
			golden := f + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("rendered diagnostics (-want +got):\n%s", diff)
			}
		})
	}
	if n < 2 {
		t.Fatalf("only %d golden inputs", n)
	}
}

func TestCaret(t *testing.T) {
	src := Sources{"a.hcl": []byte("x = 1\n\ty = \"abc\"\n")}
	d := RenderString(src, hclDiags("a.hcl", 2, 6, 11, "Bad"))
	want := "a.hcl:2:6: error: Bad\n  2 | \ty = \"abc\"\n    | \t    ^^^^^\n  detail\n"
	if d != want {
		t.Errorf("got\n%q\nwant\n%q", d, want)
	}
	if !strings.Contains(RenderString(nil, hclDiags("gone.hcl", 9, 1, 2, "Bad")), "gone.hcl:9:1: error: Bad") {
		t.Error("diagnostic without source lost its position")
	}
}

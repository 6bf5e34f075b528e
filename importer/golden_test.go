package importer

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dump renders a tree and its diagnostics as stable text for golden files.
func dump(f *File, diags hcl.Diagnostics) string {
	var b strings.Builder
	b.WriteString("# diagnostics\n")
	for _, d := range sortDiags(diags) {
		b.WriteString(fmtDiag(d))
		b.WriteString("\n")
	}
	b.WriteString("# tree\n")
	dumpBody(&b, f.Body, 0)
	return b.String()
}

func sortDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	out := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Subject, out[j].Subject
		if a == nil || b == nil {
			return a == nil && b != nil
		}
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}

func fmtDiag(d *hcl.Diagnostic) string {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	at := "-"
	if d.Subject != nil {
		at = fmtRange(*d.Subject)
	}
	return fmt.Sprintf("%s: %s: %s: %s", at, sev, d.Summary, d.Detail)
}

func fmtRange(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d-%d,%d", filepath.Base(r.Filename), r.Start.Line, r.Start.Column, r.End.Line, r.End.Column)
}

func dumpBody(b *strings.Builder, body []*Stmt, depth int) {
	ind := strings.Repeat("  ", depth)
	for _, s := range body {
		for _, c := range s.Comments {
			fmt.Fprintf(b, "%s# %s\n", ind, c)
		}
		fmt.Fprintf(b, "%s%s", ind, tokStr(s.Keyword))
		for _, a := range s.Args {
			fmt.Fprintf(b, " %s", tokStr(a))
		}
		if s.HasBlock {
			fmt.Fprintf(b, " {  @%s\n", fmtRange(s.Range))
			dumpBody(b, s.Block, depth+1)
			fmt.Fprintf(b, "%s}\n", ind)
		} else {
			fmt.Fprintf(b, "  @%s\n", fmtRange(s.Range))
		}
	}
}

func tokStr(t Token) string {
	if t.Quoted {
		return fmt.Sprintf("%q", t.Text)
	}
	return t.Text
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.conf")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "testdata/include/main.conf")
	if len(files) < 5 {
		t.Fatalf("only %d fixtures found", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, diags := Parse(path, Options{ConfigID: "lb1"})
			diags = append(diags, Check(f)...)
			got := dump(f, diags)
			golden := strings.TrimSuffix(path, ".conf") + ".tree.txt"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
			}
		})
	}
}

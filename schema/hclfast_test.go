package schema

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// fastCorpus is every HCL source the repository has, plus generated ones.
func fastCorpus(t testing.TB) map[string][]byte {
	srcs := map[string][]byte{}
	for _, pat := range []string{"../examples/*.hcl", "testdata/diag/*.hcl", "../importer/testdata/*.hcl", "../importer/testdata/*/*.hcl"} {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			srcs[f] = b
		}
	}
	var b strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "virtual_server \"vs%d\" { # c\n  address  = \"192.0.2.%d:%d\"\n  quorum = -%d\n  x = [1, \"a\\\"b\", { k = 1, \"q\" = true }, null]\n", i, i%250+1, 1000+i, i)
		fmt.Fprintf(&b, "  obj = {\n    a = 1\n    b: [\n      2,\n    ]\n  }\n  real_server \"198.51.100.%d:80\" {}\n  nested lbl \"two\" {\n    // comment\n    w = %d\n  }\n}\n\n", i+1, i)
	}
	srcs["generated.hcl"] = []byte(b.String())
	return srcs
}

// TestFastHCLMatchesHCLSyntax: wherever the fast parser takes a file, it
// gives exactly the tree and ranges hclsyntax gives.
func TestFastHCLMatchesHCLSyntax(t *testing.T) {
	taken := 0
	for name, src := range fastCorpus(t) {
		fast, ok := fastHCL(name, src)
		slow, diags := parseHCLChunks(name, src, len(src)+1)
		if !ok {
			continue
		}
		if diags.HasErrors() {
			t.Errorf("%s: fast parser took a file hclsyntax rejects: %v", name, diags)
			continue
		}
		taken++
		if d := treeDiff("", slow, fast); d != "" {
			t.Errorf("%s: trees differ: %s", name, d)
		}
	}
	t.Logf("fast parser took %d files", taken)
	if taken < 5 {
		t.Errorf("the fast parser took only %d files", taken)
	}
}

// TestFastHCLFallsBack: what the fast parser does not know goes to
// hclsyntax.
func TestFastHCLFallsBack(t *testing.T) {
	for _, src := range []string{
		"x = \"${var}\"\n", "x = <<EOT\na\nEOT\n", "x = 1.5\n", "x = y\n", "/* c */\nx = 1\n",
		"b { x = 1 }\n", "x = \"a\\nb\"\n", "x = \"é\"\n", "b \"l\"\n{\n}\n", "x = 1 y = 2\n", "x = [1 2]\n",
		"b {\n  x = 1 }\n",
	} {
		if _, ok := fastHCL("c.hcl", []byte(src)); ok {
			t.Errorf("fast parser took %q", src)
		}
	}
}

func FuzzFastHCL(f *testing.F) {
	for _, src := range fastCorpus(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		fast, ok := fastHCL("f.hcl", src)
		if !ok {
			return
		}
		slow, diags := parseHCLChunks("f.hcl", src, len(src)+1)
		if diags.HasErrors() {
			t.Fatalf("fast parser took a file hclsyntax rejects: %v", diags)
		}
		if d := treeDiff("", slow, fast); d != "" {
			t.Fatalf("trees differ: %s", d)
		}
	})
}

// treeDiff returns where two trees first differ (hclsyntax's a, the fast
// parser's b), or "". It walks iteratively deep trees cmp.Diff is slow on.
func treeDiff(path string, a, b *value) string {
	if a.kind != b.kind || a.text != b.text || a.boolean != b.boolean || a.rng != b.rng || a.block != b.block ||
		len(a.list) != len(b.list) || len(a.entries) != len(b.entries) {
		return fmt.Sprintf("at %q: hclsyntax %+v, fast %+v", path, *a, *b)
	}
	for i := range a.list {
		if d := treeDiff(fmt.Sprintf("%s[%d]", path, i), a.list[i], b.list[i]); d != "" {
			return d
		}
	}
	for i := range a.entries {
		ea, eb := a.entries[i], b.entries[i]
		if ea.key != eb.key || ea.keyRange != eb.keyRange {
			return fmt.Sprintf("at %q entry %d: hclsyntax %q %v, fast %q %v", path, i, ea.key, ea.keyRange, eb.key, eb.keyRange)
		}
		if d := treeDiff(path+"."+ea.key, ea.val, eb.val); d != "" {
			return d
		}
	}
	return ""
}

// TestDecodeStreamingMatchesTree: decoding HCL entry by entry as it is
// parsed gives the config, source ranges and diagnostics decoding the
// whole tree gives, for single files and for a directory's worth.
func TestDecodeStreamingMatchesTree(t *testing.T) {
	corpus := fastCorpus(t)
	var sets []Sources
	all := Sources{}
	for name, src := range corpus {
		sets = append(sets, Sources{name: src})
		if strings.HasPrefix(name, "../examples/") {
			all[name] = src
		}
	}
	sets = append(sets, all)
	streamed := 0
	for _, srcs := range sets {
		names := slices.Sorted(maps.Keys(srcs))
		got, gotDiags, ok := decodeStreaming(srcs, names, false)
		if !ok {
			continue
		}
		streamed++
		want, wantDiags := decodeTree(srcs, names, false)
		if d := cmp.Diff(want, got, cacheCmpOpts); d != "" {
			t.Errorf("%v: configs differ (-tree +streaming):\n%s", names, d)
		}
		if d := cmp.Diff(diagTexts(wantDiags), diagTexts(gotDiags)); d != "" {
			t.Errorf("%v: diagnostics differ (-tree +streaming):\n%s", names, d)
		}
		if want.src.len() != got.src.len() {
			t.Errorf("%v: %d source ranges, want %d", names, got.src.len(), want.src.len())
		}
		for _, vs := range got.VirtualServers {
			gr, gok := got.Range(vs)
			if !gok {
				t.Errorf("%v: virtual server %s has no range", names, vs.Name)
			}
			for _, wvs := range want.VirtualServers {
				if wvs.Name == vs.Name {
					if wr, _ := want.Range(wvs); wr != gr {
						t.Errorf("%v: virtual server %s at %v, want %v", names, vs.Name, gr, wr)
					}
				}
			}
		}
	}
	if streamed < 5 {
		t.Errorf("only %d sets were decoded streaming", streamed)
	}
}

func diagTexts(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.Error())
	}
	return out
}

package importer

import (
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hacfg/hacfg/schema"
	"github.com/hashicorp/hcl/v2"
)

// fixture is one import test case: a keepalived.conf, or a directory
// NAME.cluster holding one file per node (the node is the file's name).
type fixture struct {
	name   string   // golden files are name + ".golden.{hcl,yaml,txt}"
	files  []string // inputs
	nodes  []string // node names, nil for a single file
	golden string   // path prefix of the golden files
}

func fixtures(t *testing.T) []fixture {
	t.Helper()
	var out []fixture
	files, err := filepath.Glob("testdata/*.conf")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "testdata/include/main.conf")
	for _, f := range files {
		out = append(out, fixture{name: filepath.Base(f), files: []string{f}, golden: strings.TrimSuffix(f, ".conf")})
	}
	dirs, err := filepath.Glob("testdata/*.cluster")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		nf, err := filepath.Glob(filepath.Join(d, "*.conf"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(nf)
		fx := fixture{name: filepath.Base(d), files: nf, golden: d}
		for _, f := range nf {
			fx.nodes = append(fx.nodes, strings.TrimSuffix(filepath.Base(f), ".conf"))
		}
		out = append(out, fx)
	}
	if len(out) < 25 {
		t.Fatalf("only %d import fixtures; the importer promises at least 25", len(out))
	}
	return out
}

func (fx fixture) imp() (*schema.Config, schema.EncodeOptions, hcl.Diagnostics, schema.Sources) {
	srcs := schema.Sources{}
	cfg, eo, diags := Import(fx.files, ImportOptions{Nodes: fx.nodes, ConfigID: "lb1", Sources: srcs})
	return cfg, eo, diags, srcs
}

// cmpConfig compares configs as the schema sees them.
var cmpConfig = cmp.Options{cmpopts.IgnoreUnexported(schema.Config{}), cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, netip.AddrPort{})}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if got == "" {
			_ = os.Remove(path)
			return
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if got == "" {
		if err == nil {
			t.Errorf("%s exists but the import has errors; run with -update", path)
		}
		return
	}
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestImportGolden imports every fixture and compares the HCL, the YAML and
// the rendered warnings and errors with the golden files; the HCL and YAML
// must decode and validate to the imported config.
func TestImportGolden(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			cfg, eo, diags, srcs := fx.imp()
			checkGolden(t, fx.golden+".golden.txt", schema.RenderString(srcs, diags))
			for _, format := range []schema.Format{schema.FormatHCL, schema.FormatYAML} {
				var got string
				if !diags.HasErrors() {
					b, err := schema.Encode(cfg, format, eo)
					if err != nil {
						t.Fatal(err)
					}
					got = string(b)
					back, d := schema.Parse(schema.Sources{"x." + string(format): b})
					if d.HasErrors() {
						t.Fatalf("%s output does not validate:\n%s", format, schema.RenderString(schema.Sources{"x." + string(format): b}, d))
					}
					if diff := cmp.Diff(cfg, back, cmpConfig); diff != "" {
						t.Errorf("%s output decodes differently (-import +decoded):\n%s", format, diff)
					}
				}
				checkGolden(t, fx.golden+".golden."+string(format), got)
			}
		})
	}
}

// TestImportClusterReproducesEachInput checks that each node's view of a
// merged cluster equals the import of that node's file alone, with and
// without keepalived's defaults filled in.
func TestImportClusterReproducesEachInput(t *testing.T) {
	n := 0
	for _, fx := range fixtures(t) {
		if fx.nodes == nil {
			continue
		}
		cfg, _, diags, _ := fx.imp()
		if diags.HasErrors() {
			continue
		}
		n++
		for i, node := range fx.nodes {
			t.Run(fx.name+"/"+node, func(t *testing.T) {
				single, _, d := Import(fx.files[i:i+1], ImportOptions{ConfigID: "lb1"})
				if d.HasErrors() {
					t.Fatal(d)
				}
				view, err := NodeView(cfg, node)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(single, view, cmpConfig); diff != "" {
					t.Errorf("node view differs from the node's own file (-file +view):\n%s", diff)
				}
				r1, err := schema.Resolve(cfg, node)
				if err != nil {
					t.Fatal(err)
				}
				r2, err := schema.Resolve(single, "")
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(r2, r1, cmpConfig); diff != "" {
					t.Errorf("Resolve differs (-file +cluster):\n%s", diff)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no cluster fixture imported without errors")
	}
}

func TestImportMergeErrors(t *testing.T) {
	base := `global_defs {
    router_id R
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.10/24
    }
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    real_server 203.0.113.1 80 {
        weight 1
    }
}
`
	tests := []struct {
		name    string
		lb1     string // "" for base
		lb2     string
		want    string // "file:line:col" of the error, "" for none
		wantMsg string
	}{
		{name: "per-node values only", lb2: strings.NewReplacer("MASTER", "BACKUP", "priority 150", "priority 100", "eth0", "eth1", "router_id R", "router_id S").Replace(base)},
		{name: "different VIP", lb2: strings.Replace(base, "192.0.2.10/24", "192.0.2.11/24", 1), want: "lb2.conf:10:9", wantMsg: "virtual_ipaddress"},
		{name: "different VRID", lb2: strings.Replace(base, "virtual_router_id 51", "virtual_router_id 52", 1), want: "lb2.conf:7:5", wantMsg: "virtual_router_id"},
		{name: "different weight", lb2: strings.Replace(base, "weight 1", "weight 2", 1), want: "lb2.conf:16:9", wantMsg: "weight"},
		{name: "check in one file only", lb2: strings.Replace(base, "weight 1", "weight 1\n        TCP_CHECK {\n            connect_timeout 3\n        }", 1), want: "lb2.conf:17:9", wantMsg: "real_server.tcp_check"},
		{name: "checks differ", lb2: strings.Replace(base, "weight 1", "weight 1\n        TCP_CHECK {\n            connect_timeout 3\n        }", 1), lb1: strings.Replace(base, "weight 1", "weight 1\n        TCP_CHECK {\n            connect_timeout 4\n        }", 1), want: "lb2.conf:18:13", wantMsg: "real_server.tcp_check.connect_timeout"},
		{name: "global setting", lb2: strings.Replace(base, "router_id R", "router_id R\n    vrrp_strict", 1), want: "lb2.conf:3:5", wantMsg: "global_defs"},
		{name: "missing instance", lb2: base[strings.Index(base, "virtual_server"):], want: "lb1.conf:4:1", wantMsg: `has vrrp_instance "VI_1", but lb2.conf`},
		{name: "extra virtual server", lb2: base + "virtual_server 192.0.2.10 443 {\n    protocol TCP\n}\n", want: "lb2.conf:19:1", wantMsg: `virtual_server "192.0.2.10_443"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lb1 := tt.lb1
			if lb1 == "" {
				lb1 = base
			}
			files := map[string]string{"lb1.conf": lb1, "lb2.conf": tt.lb2}
			read := func(name string) ([]byte, error) {
				if s, ok := files[name]; ok {
					return []byte(s), nil
				}
				return nil, os.ErrNotExist
			}
			cfg, _, diags := Import([]string{"lb1.conf", "lb2.conf"}, ImportOptions{Nodes: []string{"lb1", "lb2"}, ReadFile: read})
			var errs []string
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					at := "-"
					if d.Subject != nil {
						at = fmtPos(*d.Subject)
					}
					errs = append(errs, at+": "+d.Detail)
				}
			}
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %q", errs)
				}
				for _, node := range []string{"lb1", "lb2"} {
					single, _, _ := Import([]string{node + ".conf"}, ImportOptions{ReadFile: read})
					view, err := NodeView(cfg, node)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(single, view, cmpConfig); diff != "" {
						t.Errorf("%s (-file +view):\n%s", node, diff)
					}
				}
				return
			}
			if len(errs) != 1 || !strings.HasPrefix(errs[0], tt.want+": ") || !strings.Contains(errs[0], tt.wantMsg) {
				t.Errorf("errors = %q, want one at %s mentioning %q", errs, tt.want, tt.wantMsg)
			}
		})
	}
}

func fmtPos(r hcl.Range) string {
	return filepath.Base(r.Filename) + ":" + strconv.Itoa(r.Start.Line) + ":" + strconv.Itoa(r.Start.Column)
}

func TestImportOptionsErrors(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		nodes []string
		want  string
	}{
		{name: "no files", want: "No files"},
		{name: "two files without nodes", files: []string{"a", "b"}, want: "Node names needed"},
		{name: "one file two nodes", files: []string{"a"}, nodes: []string{"x", "y"}, want: "Too many node names"},
		{name: "duplicate nodes", files: []string{"a", "b"}, nodes: []string{"x", "x"}, want: "Invalid node names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, diags := Import(tt.files, ImportOptions{Nodes: tt.nodes})
			if len(diags) != 1 || diags[0].Summary != tt.want {
				t.Errorf("diags = %v, want one %q", diags, tt.want)
			}
		})
	}
}

func TestImportStrict(t *testing.T) {
	src := "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    debug 1\n    virtual_ipaddress {\n        192.0.2.1/24\n    }\n}\n"
	read := func(string) ([]byte, error) { return []byte(src), nil }
	for _, strict := range []bool{false, true} {
		_, _, diags := Import([]string{"k.conf"}, ImportOptions{ReadFile: read, Strict: strict})
		if len(diags) != 1 {
			t.Fatalf("strict=%v: diags = %v, want one", strict, diags)
		}
		d := diags[0]
		wantSev := hcl.DiagWarning
		if strict {
			wantSev = hcl.DiagError
		}
		if d.Severity != wantSev || d.Summary != "Not carried by hacfg" || fmtPos(*d.Subject) != "k.conf:4:5" || !strings.Contains(d.Detail, `"debug"`) {
			t.Errorf("strict=%v: got %s %v %s %q", strict, fmtPos(*d.Subject), d.Severity, d.Summary, d.Detail)
		}
	}
}

// TestImportValidationPositions checks that the schema's validation errors
// point into the keepalived file.
func TestImportValidationPositions(t *testing.T) {
	src := "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    version 3\n    virtual_ipaddress {\n        192.0.2.1/24\n    }\n    authentication {\n        auth_type PASS\n        auth_pass 123456789\n    }\n}\n"
	read := func(string) ([]byte, error) { return []byte(src), nil }
	_, _, diags := Import([]string{"k.conf"}, ImportOptions{ReadFile: read})
	var got []string
	for _, d := range diags {
		at := "-"
		if d.Subject != nil {
			at = fmtPos(*d.Subject)
		}
		got = append(got, at+" "+d.Summary)
	}
	sort.Strings(got)
	want := []string{"k.conf:10:9 auth_pass too long", "k.conf:9:9 Authentication with VRRPv3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzImport feeds arbitrary text through the whole import: it must never
// panic, and a config imported without errors must export.
func FuzzImport(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.conf")
	more, _ := filepath.Glob("testdata/*/*.conf")
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		read := func(string) ([]byte, error) { return src, nil }
		cfg, _, diags := Import([]string{"k.conf"}, ImportOptions{ReadFile: read, Glob: func(string) ([]string, error) { return nil, nil }})
		if diags.HasErrors() || cfg == nil {
			return
		}
		if _, err := Export(cfg); err != nil {
			t.Fatalf("export of an imported config: %v", err)
		}
	})
}

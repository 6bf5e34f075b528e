package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hacfg/hacfg/schema"
)

func TestImportCommand(t *testing.T) {
	const td = "../../importer/testdata/"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErrOut []string // substrings of stderr
	}{
		{
			name:    "single file to HCL",
			args:    []string{"import", td + "vrrp_basic.conf"},
			wantOut: []string{`vrrp_instance "VI_1" {`, `virtual_ipaddress = ["192.0.2.16", "192.0.2.17", "192.0.2.18"]`, "# Configuration File for keepalived"},
		},
		{
			name:    "YAML",
			args:    []string{"import", "--format", "yaml", td + "vrrp_basic.conf"},
			wantOut: []string{"vrrp_instance:\n  VI_1:\n"},
		},
		{
			name:    "cluster with --node after the files",
			args:    []string{"import", td + "web.cluster/lb1.conf", td + "web.cluster/lb2.conf", "--node", "lb1", "--node", "lb2"},
			wantOut: []string{`node "lb1" {`, `node "lb2" {`, `state          = "BACKUP"`},
		},
		{
			name:       "warnings go to stderr, the config to stdout",
			args:       []string{"import", td + "uncarried_root.conf"},
			wantOut:    []string{`vrrp_instance "VI_1"`},
			wantErrOut: []string{"uncarried_root.conf:2:1: warning: Not carried by hacfg", "0 errors, 9 warnings."},
		},
		{
			name:       "strict turns warnings into errors",
			args:       []string{"import", "--strict", td + "uncarried_root.conf"},
			wantCode:   1,
			wantErrOut: []string{"uncarried_root.conf:2:1: error: Not carried by hacfg", "9 errors, 0 warnings."},
		},
		{
			name:       "errors exit 1 with positions",
			args:       []string{"import", td + "errors_values.conf"},
			wantCode:   1,
			wantErrOut: []string{"errors_values.conf:8:11: error: Invalid value", `"state" expects MASTER or BACKUP; found "PRIMARY".`},
		},
		{
			name:       "conflicting cluster files",
			args:       []string{"import", "--node", "lb1", "--node", "lb2", td + "conflict.cluster/lb1.conf", td + "conflict.cluster/lb2.conf"},
			wantCode:   1,
			wantErrOut: []string{"conflict.cluster/lb2.conf:6:9: error: Files differ in more than per-node values"},
		},
		{
			name:       "two files without node names",
			args:       []string{"import", td + "web.cluster/lb1.conf", td + "web.cluster/lb2.conf"},
			wantCode:   1,
			wantErrOut: []string{"Node names needed"},
		},
		{name: "no files", args: []string{"import"}, wantCode: 2, wantErrOut: []string{"Usage: hacfg import"}},
		{name: "bad format", args: []string{"import", "--format", "toml", td + "vrrp_basic.conf"}, wantCode: 1, wantErrOut: []string{`unknown --format "toml"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.wantErrOut {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			if tt.wantCode != 0 && r.stdout != "" {
				t.Errorf("a failed import wrote to stdout:\n%s", r.stdout)
			}
		})
	}
}

// TestImportExportCommands imports a cluster to a file with -o, checks that
// it validates, exports each node and imports the exports again: the
// result is the same config.
func TestImportExportCommands(t *testing.T) {
	dir := t.TempDir()
	const td = "../../importer/testdata/web.cluster/"
	out := filepath.Join(dir, "cluster.hcl")
	if r := runCmd(t, "import", "-o", out, "--node", "lb1", "--node", "lb2", td+"lb1.conf", td+"lb2.conf"); r.code != 0 || r.stdout != "" {
		t.Fatalf("import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCmd(t, "validate", "-c", out, "--node", "lb2"); r.code != 0 {
		t.Fatalf("validate: exit %d\n%s", r.code, r.stderr)
	}
	var files []string
	for _, n := range []string{"lb1", "lb2"} {
		r := runCmd(t, "export", "--format", "keepalived", "-c", out, "--node", n)
		if r.code != 0 {
			t.Fatalf("export %s: exit %d\n%s", n, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "vrrp_instance VI_WEB {") || !strings.Contains(r.stdout, "unicast_src_ip") {
			t.Errorf("export %s lacks the instance:\n%s", n, r.stdout)
		}
		p := filepath.Join(dir, n+".conf")
		if err := os.WriteFile(p, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	out2 := filepath.Join(dir, "again.hcl")
	if r := runCmd(t, "import", "-o", out2, "--node", "lb1", "--node", "lb2", files[0], files[1]); r.code != 0 {
		t.Fatalf("re-import: exit %d\n%s", r.code, r.stderr)
	}
	a, _, _ := schema.Load(out)
	b, _, _ := schema.Load(out2)
	ea, _ := schema.Encode(a, schema.FormatHCL, schema.EncodeOptions{})
	eb, _ := schema.Encode(b, schema.FormatHCL, schema.EncodeOptions{})
	if string(ea) != string(eb) {
		t.Errorf("import(export(import(files))) differs:\n%s\n---\n%s", ea, eb)
	}
	r := runCmd(t, "export", "--format", "json", "-c", out, "--node", "lb1")
	if r.code != 1 || !strings.Contains(r.stderr, `unknown --format "json"`) {
		t.Errorf("export --format json: exit %d, %s", r.code, r.stderr)
	}
	r = runCmd(t, "export", "-c", out, "--node", "lb9")
	if r.code != 1 || !strings.Contains(r.stderr, "lb9") {
		t.Errorf("export --node lb9: exit %d, %s", r.code, r.stderr)
	}
}

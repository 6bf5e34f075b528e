package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" },
		hostname: func() (string, error) { return "lb1", nil }}
	code := run(e, args)
	return result{code, out.String(), errb.String()}
}

func TestValidateCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantErrOut []string
	}{
		{
			name:    "valid example, node from hostname",
			args:    []string{"validate", "-c", "../../examples/web-tcp.hcl"},
			wantOut: `../../examples/web-tcp.hcl: valid (node "lb1" of 2; 1 VRRP instance, 1 virtual server, 3 real servers).` + "\n",
		},
		{
			name:    "path as argument and --node after it",
			args:    []string{"validate", "../../examples/web-tcp.yaml", "--node", "lb2"},
			wantOut: `../../examples/web-tcp.yaml: valid (node "lb2" of 2; 1 VRRP instance, 1 virtual server, 3 real servers).` + "\n",
		},
		{
			name:       "unknown node",
			args:       []string{"validate", "-c", "../../examples/web-tcp.hcl", "--node", "lb9"},
			wantCode:   1,
			wantErrOut: []string{`error: select node "lb9": no such node`},
		},
		{
			name:     "broken config: every error with caret",
			args:     []string{"validate", "-c", "../../schema/testdata/diag/broken.hcl"},
			wantCode: 1,
			wantErrOut: []string{
				"../../schema/testdata/diag/broken.hcl:17:5: error: Unknown argument\n  17 |     autp_pass = \"1111\"\n     |     ^^^^^^^^^\n",
				`Did you mean "auth_pass"?`,
				"../../schema/testdata/diag/broken.hcl:10:23: error: Invalid virtual_router_id",
				"\n12 errors, 0 warnings.\n",
			},
		},
		{
			name:       "missing config",
			args:       []string{"validate", "-c", "/nonexistent/hacfg"},
			wantCode:   1,
			wantErrOut: []string{"error: Cannot read config", "no such file or directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if tt.wantOut != "" && r.stdout != tt.wantOut {
				t.Errorf("stdout %q, want %q", r.stdout, tt.wantOut)
			}
			for _, w := range tt.wantErrOut {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

func TestFmtCommand(t *testing.T) {
	dir := t.TempDir()
	messy := "vrrp_instance \"VI_1\" {\ninterface=\"eth0\"\n  virtual_router_id   = 51\n}\n"
	clean := "vrrp_instance \"VI_1\" {\n  interface         = \"eth0\"\n  virtual_router_id = 51\n}\n"
	y := "virtual_server:\n  web:\n    lb_algo: rr\n    address: 192.0.2.10:80\n"
	yclean := "virtual_server:\n  web:\n    address: 192.0.2.10:80\n    lb_algo: rr\n"
	must(t, os.WriteFile(filepath.Join(dir, "a.hcl"), []byte(messy), 0o640))
	must(t, os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(y), 0o644))

	r := runCmd(t, "fmt", "--check", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "a.hcl") || !strings.Contains(r.stdout, "b.yaml") {
		t.Fatalf("fmt --check: %+v", r)
	}
	r = runCmd(t, "fmt", dir, "--check", "--diff")
	if r.code != 1 || !strings.Contains(r.stdout, "-interface=\"eth0\"\n-  virtual_router_id   = 51\n+  interface         = \"eth0\"") {
		t.Fatalf("fmt --check --diff: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.hcl")); string(b) != messy {
		t.Fatal("fmt --check changed a file")
	}
	if r = runCmd(t, "fmt", dir); r.code != 0 {
		t.Fatalf("fmt: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.hcl")); string(b) != clean {
		t.Errorf("a.hcl formatted to %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b.yaml")); string(b) != yclean {
		t.Errorf("b.yaml formatted to %q", b)
	}
	if st, _ := os.Stat(filepath.Join(dir, "a.hcl")); st.Mode().Perm() != 0o640 {
		t.Errorf("fmt changed the file mode to %v", st.Mode().Perm())
	}
	if r = runCmd(t, "fmt", "--check", dir); r.code != 0 || r.stdout != "" {
		t.Fatalf("fmt --check after fmt: %+v", r)
	}
	must(t, os.WriteFile(filepath.Join(dir, "c.hcl"), []byte("x = {\n"), 0o644))
	if r = runCmd(t, "fmt", "--check", dir); r.code != 1 || !strings.Contains(r.stderr, "c.hcl:") {
		t.Fatalf("fmt of broken file: %+v", r)
	}
}

func TestSchemaCommand(t *testing.T) {
	r := runCmd(t, "schema")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatal(err)
	}
	get := func(m any, k string) any {
		mm, _ := m.(map[string]any)
		return mm[k]
	}
	inst, _ := get(get(get(get(s, "properties"), "vrrp_instance"), "additionalProperties"), "properties").(map[string]any)
	for _, k := range []string{"virtual_router_id", "priority", "advert_int", "virtual_ipaddress", "authentication", "node", "track_script", "notify_master"} {
		if _, ok := inst[k]; !ok {
			t.Errorf("JSON schema of vrrp_instance lacks %q", k)
		}
	}
}

func TestMiscCommands(t *testing.T) {
	if r := runCmd(t, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "hacfg ") {
		t.Errorf("version: %+v", r)
	}
	if r := runCmd(t, "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "complete -o filenames -F _hacfg hacfg") || !strings.Contains(r.stdout, "validate") {
		t.Errorf("completion bash: %+v", r)
	}
	if r := runCmd(t, "completion", "fish"); r.code != 1 {
		t.Errorf("completion fish: %+v", r)
	}
	if r := runCmd(t, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %+v", r)
	}
	if r := runCmd(t, "help", "validate"); r.code != 0 || !strings.Contains(r.stdout, "-node") {
		t.Errorf("help validate: %+v", r)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package schema

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestEncodeRoundTrip encodes every example in both formats and decodes it
// back to an equal config; the output is already canonically formatted.
func TestEncodeRoundTrip(t *testing.T) {
	for _, f := range exampleFiles(t) {
		cfg, srcs, diags := Load(f)
		if diags.HasErrors() {
			t.Fatal(RenderString(srcs, diags))
		}
		for _, format := range []Format{FormatHCL, FormatYAML} {
			name := "out." + string(format)
			b, err := Encode(cfg, format, EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			back, diags := Parse(Sources{name: b})
			if diags.HasErrors() {
				t.Fatalf("%s → %s does not parse:\n%s\n%s", f, format, RenderString(Sources{name: b}, diags), b)
			}
			if diff := cmp.Diff(cfg, back, cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateComparable(netipTypes...)); diff != "" {
				t.Errorf("%s → %s → decode differs (-orig +back):\n%s\n%s", f, format, diff, b)
			}
			formatted, fd := FormatSource(name, b)
			if fd.HasErrors() || string(formatted) != string(b) {
				t.Errorf("%s → %s is not canonically formatted:\n%s", f, format, cmp.Diff(string(b), string(formatted)))
			}
		}
	}
}

func TestEncodeComments(t *testing.T) {
	cfg, diags := Parse(Sources{"c.hcl": []byte(okInstance)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	in := cfg.Instances[0]
	opts := EncodeOptions{
		Header:   []string{"Imported from keepalived.conf"},
		Comments: map[any][]string{in: {"the web VIP"}, &in.VirtualRouterID: {"same on every node"}},
	}
	for _, format := range []Format{FormatHCL, FormatYAML} {
		b, err := Encode(cfg, format, opts)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, want := range []string{"# Imported from keepalived.conf", "# the web VIP", "# same on every node"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s output lacks %q:\n%s", format, want, s)
			}
		}
		if strings.Index(s, "# same on every node") > strings.Index(s, "virtual_router_id") {
			t.Errorf("%s: comment not before its attribute:\n%s", format, s)
		}
	}
}

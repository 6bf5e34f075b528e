package importer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hacfg/hacfg/schema"
)

// exportNormal returns view as Export writes it, so that a round trip can
// be compared exactly: keepalived-defaulted virtual server settings made
// explicit (a fwmark service has no protocol in keepalived), and
// global_defs' vrrp_advert_int (which keepalived lacks) moved into the
// instances. view is not modified.
func exportNormal(view *schema.Config) *schema.Config {
	out := *view
	var adv schema.Duration
	if view.Global != nil {
		g := *view.Global
		adv = g.AdvertInt
		g.AdvertInt = 0
		out.Global = &g
	}
	out.Instances = nil
	for _, in := range view.Instances {
		c := *in
		if c.AdvertInt == 0 {
			c.AdvertInt = adv
		}
		out.Instances = append(out.Instances, &c)
	}
	out.VirtualServers = nil
	for _, vs := range view.VirtualServers {
		c := *vs
		c.Protocol = or(c.Protocol, schema.DefaultProtocol)
		if c.FwMark != 0 {
			c.Protocol = ""
		}
		c.LBAlgo = or(c.LBAlgo, schema.DefaultLBAlgo)
		c.LBKind = or(c.LBKind, schema.DefaultLBKind)
		out.VirtualServers = append(out.VirtualServers, &c)
	}
	return &out
}

// exportAll exports the view of every node of cfg ("" for a config without
// nodes) and returns the files by name, the file names and node names.
func exportAll(t *testing.T, cfg *schema.Config) (map[string][]byte, []string, []string) {
	t.Helper()
	nodes := cfg.NodeNames()
	if len(nodes) == 0 {
		nodes = []string{""}
	}
	out := map[string][]byte{}
	var names []string
	for _, n := range nodes {
		view, err := NodeView(cfg, n)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Export(view)
		if err != nil {
			t.Fatal(err)
		}
		name := "keepalived.conf"
		if n != "" {
			name = n + ".conf"
		}
		out[name] = b
		names = append(names, name)
	}
	return out, names, nodes
}

// roundTrip checks import(export(cfg)) == cfg, node by node, and that the
// exported files import without any diagnostic.
func roundTrip(t *testing.T, cfg *schema.Config) {
	t.Helper()
	files, names, nodes := exportAll(t, cfg)
	read := func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return b, nil
		}
		return nil, os.ErrNotExist
	}
	opts := ImportOptions{ReadFile: read}
	if nodes[0] != "" {
		opts.Nodes = nodes
	}
	srcs := schema.Sources{}
	opts.Sources = srcs
	back, _, diags := Import(names, opts)
	if len(diags) > 0 {
		t.Fatalf("the exported files import with diagnostics:\n%s", schema.RenderString(srcs, diags))
	}
	for _, n := range nodes {
		want, err := NodeView(cfg, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := NodeView(back, n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(exportNormal(want), got, cmpConfig); diff != "" {
			t.Errorf("node %q: import(export(c)) differs (-c +round trip):\n%s\nexported:\n%s", n, diff, files[names[0]])
		}
	}
}

func TestRoundTripFixtures(t *testing.T) {
	n := 0
	for _, fx := range fixtures(t) {
		cfg, _, diags, _ := fx.imp()
		if diags.HasErrors() {
			continue
		}
		n++
		t.Run(fx.name, func(t *testing.T) { roundTrip(t, cfg) })
	}
	if n < 20 {
		t.Errorf("only %d fixtures import without errors", n)
	}
}

func TestRoundTripExamples(t *testing.T) {
	paths, err := filepath.Glob("../examples/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range paths {
		if schema.FormatOf(p) == "" {
			continue
		}
		n++
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, srcs, diags := schema.Load(p)
			if diags.HasErrors() {
				t.Fatal(schema.RenderString(srcs, diags))
			}
			roundTrip(t, cfg)
		})
	}
	if n == 0 {
		t.Fatal("no examples found")
	}
}

func TestExportRefusesClusterConfig(t *testing.T) {
	cfg := &schema.Config{Nodes: []*schema.Node{{Name: "a"}}}
	if _, err := Export(cfg); err == nil {
		t.Error("Export of a config with nodes succeeded")
	}
	cfg = &schema.Config{Instances: []*schema.VRRPInstance{{Name: "VI", NodeValues: []*schema.InstanceNode{{Name: "a"}}}}}
	if _, err := Export(cfg); err == nil {
		t.Error("Export of an instance with per-node values succeeded")
	}
	if _, err := NodeView(&schema.Config{Nodes: []*schema.Node{{Name: "a"}}}, "b"); err == nil {
		t.Error("NodeView of an undeclared node succeeded")
	}
}

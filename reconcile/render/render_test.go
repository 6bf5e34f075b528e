package render_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hacfg/hacfg/reconcile"
	"github.com/hacfg/hacfg/reconcile/render"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/schema"
)

var update = flag.Bool("update", false, "rewrite golden files")

// plan makes a plan with every kind of change: creates, an in-place
// update, a replace, deletes and a conflict.
func plan(t *testing.T) *reconcile.Plan {
	t.Helper()
	k := fake.NewKernel("eth0")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := &reconcile.Reconciler{Kernel: k, Inventory: reconcile.NewInventory(), Now: func() time.Time { return now }}
	load := func(src string) *schema.Config {
		cfg, diags := schema.Parse(schema.Sources{"c.hcl": []byte(src)})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		res, err := schema.Resolve(cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := load(`
vrrp_instance "VI_1" {
  state = "MASTER"
  interface = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24", "192.0.2.11/24"]
}
virtual_server "web" {
  address = "192.0.2.10:80"
  real_server "203.0.113.5:80" {}
  real_server "203.0.113.6:80" {}
}`)
	if _, _, err := r.Reconcile(first, runtime.Facts{}, reconcile.PlanOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := k.AddService(runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.12"), Port: 443, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	second := load(`
vrrp_instance "VI_1" {
  state = "MASTER"
  interface = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24", { address = "192.0.2.11/24", label = "eth0:web" }, "192.0.2.12/24"]
}
virtual_server "web" {
  address = "192.0.2.10:80"
  real_server "203.0.113.5:80" {
    weight = 5
  }
}
virtual_server "tls" {
  address = "192.0.2.12:443"
  lb_algo = "wrr"
}`)
	p, err := r.Plan(second, runtime.Facts{}, reconcile.PlanOptions{Node: "lb1"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := render.Text(&b, plan(t), render.Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", b.Bytes())
}

func TestJSON(t *testing.T) {
	p := plan(t)
	var b bytes.Buffer
	if err := render.JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", b.Bytes())
	var back reconcile.Plan
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Fingerprint != p.Fingerprint || len(back.Changes) != len(p.Changes) {
		t.Errorf("JSON round trip lost data: %+v", back)
	}
}

func TestSummary(t *testing.T) {
	if got := render.Summary(plan(t)); got != "Plan: 2 to add, 1 to change, 2 to destroy." {
		t.Errorf("summary %q", got)
	}
}

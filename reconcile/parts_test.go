package reconcile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/schema"
)

// partsSetup is a kernel and inventory a first config was applied to and
// that then drifted, and a second config with some virtual servers renamed,
// and facts with some real servers down. The same seed makes the same.
func partsSetup(t *testing.T, seed uint64) (*fake.Kernel, *Reconciler, *schema.Config, runtime.Facts) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	fk := fake.NewKernel("eth0")
	rec, now := newTestReconciler(fk)
	n := 4 + r.IntN(12)
	first := config1 + randomIPVSConfig(r, n)
	if _, _, err := rec.Reconcile(loadConfig(t, first, ""), runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}, PlanOptions{}); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	driftIPVS(t, r, fk)
	for _, id := range rec.Inventory.IDs() {
		if r.IntN(12) == 0 {
			rec.Inventory.Remove(id)
		}
	}
	rec.Inventory.Set("ipvs:udp/192.0.2.250:53", Entry{Owner: "virtual_server.gone", Kind: KindService})
	must(t, fk.AddService(runtime.Service{Protocol: runtime.ProtocolUDP, Addr: netip.MustParseAddr("192.0.2.250"), Port: 53, Scheduler: "rr"}))
	*now = now.Add(time.Second)

	// The second config: fewer virtual servers, some renamed (their
	// objects move to an owner that may fall in another part), the
	// instance's routes dropped.
	second := randomIPVSConfig(r, n-r.IntN(3))
	// Renames: to a new name, or v1 and v2 swapped (each takes over
	// what the other owns, and one of them comes first).
	second = strings.NewReplacer(`virtual_server "v1"`, `virtual_server "v2"`, `virtual_server "v2"`, `virtual_server "v1"`).Replace(second)
	second = regexp.MustCompile(`virtual_server "v(\d+)"`).ReplaceAllStringFunc(second, func(s string) string {
		if r.IntN(3) == 0 && s != `virtual_server "v1"` && s != `virtual_server "v2"` {
			return strings.Replace(s, `"v`, `"renamed`, 1)
		}
		return s
	})
	second = strings.Replace(config1, `  virtual_routes    = [{ to = "198.51.100.0/24", via = "192.0.2.1" }]`+"\n", "", 1) + second
	cfg := loadConfig(t, second, "")
	facts := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}, Health: map[runtime.RealServerID]runtime.Health{}}
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			if r.IntN(5) == 0 {
				facts.Health[runtime.RealServerID{VirtualServer: vs.Name, Addr: rs.Address}] = runtime.Health{Up: false}
			}
		}
	}
	return fk, rec, cfg, facts
}

// inventoryString lists an inventory's entries, one a line.
func inventoryString(inv *Inventory) string {
	var b strings.Builder
	for _, id := range inv.IDs() {
		e, _ := inv.Get(id)
		fmt.Fprintf(&b, "%s %s %s draining=%v\n", id, e.Owner, e.Kind, e.DrainingSince != nil)
	}
	return b.String()
}

// TestReconcileInPartsMatchesReconcile: whatever the kernel, inventory,
// config and facts, reconciling in parts of any size leaves the kernel and
// the inventory as one Reconcile does, including objects moving to a
// renamed virtual server (taken over, not deleted and made again), drains,
// and owners gone from the config.
func TestReconcileInPartsMatchesReconcile(t *testing.T) {
	for seed := range uint64(40) {
		fk, rec, cfg, facts := partsSetup(t, seed)
		_, _, err := rec.Reconcile(cfg, facts, PlanOptions{AllowEmpty: true})
		if err != nil {
			t.Fatalf("seed %d: reconcile: %v", seed, err)
		}
		want, wantInv, wantOps := fk.String(), inventoryString(rec.Inventory), fk.Ops()

		size := 1 + int(seed%7)
		fk2, rec2, cfg2, facts2 := partsSetup(t, seed)
		if fk2.String() == want && seed < 5 {
			t.Fatalf("seed %d: nothing to reconcile tests nothing", seed)
		}
		parts, ok := rec2.parts(cfg2, Scope{}, size)
		if !ok || len(parts) < 3 {
			t.Fatalf("seed %d: %d parts (ok %v) of size %d, want several", seed, len(parts), ok, size)
		}
		fk2.ResetOps()
		n, err := rec2.ReconcileInParts(cfg2, facts2, PlanOptions{AllowEmpty: true}, size)
		if err != nil {
			t.Fatalf("seed %d, size %d: reconcile in parts: %v", seed, size, err)
		}
		if n == 0 {
			t.Errorf("seed %d: no change applied", seed)
		}
		if got := fk2.String(); got != want {
			t.Errorf("seed %d, size %d: kernel in parts:\n%s\nwant (one reconcile):\n%s", seed, size, got, want)
		}
		if got := inventoryString(rec2.Inventory); got != wantInv {
			t.Errorf("seed %d, size %d: inventory in parts:\n%s\nwant (one reconcile):\n%s", seed, size, got, wantInv)
		}
		// The same writes: nothing deleted and made again.
		for _, op := range []string{"AddService", "DelService", "UpdateService", "AddDestination", "DelDestination", "UpdateDestination"} {
			if got, want := fk2.Ops()[op], wantOps[op]-countOps(t, seed, op); got != want {
				t.Errorf("seed %d, size %d: %d %s in parts, want %d", seed, size, got, op, want)
			}
		}
	}
}

// countOps counts op in the setup of seed, before any reconcile of the
// second config.
func countOps(t *testing.T, seed uint64, op string) int {
	t.Helper()
	fk, _, _, _ := partsSetup(t, seed)
	return fk.Ops()[op]
}

// TestReconcileInPartsRename: a renamed virtual server's service and real
// servers are taken over by the new name, whichever of the two names' parts
// comes first: nothing is deleted or made again.
func TestReconcileInPartsRename(t *testing.T) {
	cfgOf := func(name string) *schema.Config {
		a := "a"
		if name == "a" { // swapped
			a = "b"
		}
		return loadConfig(t, `
virtual_server "`+a+`" {
  address = "192.0.2.1:80"
  real_server "203.0.113.1:80" {}
}
virtual_server "`+name+`" {
  address = "192.0.2.2:80"
  real_server "203.0.113.2:80" {}
  real_server "203.0.113.3:80" {}
}
virtual_server "c" {
  address = "192.0.2.3:80"
  real_server "203.0.113.4:80" {}
}
`, "")
	}
	fk := fake.NewKernel("eth0")
	rec, _ := newTestReconciler(fk)
	if _, err := rec.ReconcileInParts(cfgOf("b"), runtime.Facts{}, PlanOptions{AllowEmpty: true}, 1); err != nil {
		t.Fatal(err)
	}
	before := fk.String()
	// A name whose part comes after the old one's, one before, and a and
	// b swapping their services: a's part, first, owns what b desires.
	for _, name := range []string{"z", "a0", "b", "a"} {
		fk.ResetOps()
		n, err := rec.ReconcileInParts(cfgOf(name), runtime.Facts{}, PlanOptions{AllowEmpty: true}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 || fk.String() != before {
			t.Errorf("rename to %s: %d changes, kernel:\n%s\nwant it unchanged:\n%s", name, n, fk.String(), before)
		}
		for op, count := range fk.Ops() {
			if strings.HasPrefix(op, "Add") || strings.HasPrefix(op, "Del") || strings.HasPrefix(op, "Update") {
				t.Errorf("rename to %s: %d %s", name, count, op)
			}
		}
		for _, id := range []string{"ipvs:tcp/192.0.2.2:80", "rs:tcp/192.0.2.2:80/203.0.113.3:80"} {
			if e, _ := rec.Inventory.Get(id); e.Owner != VirtualServerOwner(name) {
				t.Errorf("rename to %s: %s owned by %q", name, id, e.Owner)
			}
		}
	}
}

// TestReconcileInPartsFailure: a part that fails stops the reconcile; the
// error names the part, the parts before it are applied, those after not.
func TestReconcileInPartsFailure(t *testing.T) {
	cfg := loadConfig(t, config1+`
virtual_server "b" {
  address = "192.0.2.2:80"
  real_server "203.0.113.2:80" {}
}
virtual_server "c" {
  address = "192.0.2.3:80"
  real_server "203.0.113.4:80" {}
}
`, "")
	fk := fake.NewKernel("eth0")
	rec, _ := newTestReconciler(fk)
	boom := errors.New("boom")
	fk.FailOn(func(op fake.Op) error {
		if op.Name == "AddService" && strings.Contains(op.ID, "192.0.2.2:80") {
			return boom
		}
		return nil
	})
	facts := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}
	n, err := rec.ReconcileInParts(cfg, facts, PlanOptions{AllowEmpty: true}, 2)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "part 3 of 4 (virtual_server b)") {
		t.Fatalf("err = %v, want boom in part 3 of 4 (virtual_server b)", err)
	}
	got := fk.String()
	for _, want := range []string{"192.0.2.10/24", "-t 192.0.2.10:80 -r 203.0.113.6:80"} {
		if !strings.Contains(got, want) {
			t.Errorf("kernel lacks %q of the parts before the failure:\n%s", want, got)
		}
	}
	if strings.Contains(got, "192.0.2.3:80") {
		t.Errorf("the part after the failure was applied:\n%s", got)
	}
	if n < 6 {
		t.Errorf("%d changes counted, want those of the first two parts", n)
	}
}

// TestReconcileInPartsFallsBack: a scope naming owners, a plan guarding
// against emptying, an inventory owner no part covers: one Reconcile.
func TestReconcileInPartsFallsBack(t *testing.T) {
	cfg := loadConfig(t, config1, "")
	fk := fake.NewKernel("eth0", "eth1")
	rec, _ := newTestReconciler(fk)
	if _, ok := rec.parts(cfg, Scope{VirtualServers: []string{"web"}}, 1); ok {
		t.Error("a scope naming owners is cut into parts")
	}
	rec.Inventory.Set("vip:eth0/192.0.2.99/24", Entry{Owner: "someone", Kind: KindAddress})
	if _, ok := rec.parts(cfg, Scope{}, 1); ok {
		t.Error("an inventory owner no part covers is cut into parts")
	}
	rec.Inventory.Remove("vip:eth0/192.0.2.99/24")
	if parts, ok := rec.parts(cfg, Scope{}, 1); !ok || len(parts) != 2 {
		t.Errorf("parts = %v, %v; want the instances' and web's", parts, ok)
	}
	facts := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}
	n, err := rec.ReconcileInParts(cfg, facts, PlanOptions{}, 1)
	if err != nil || n != 7 {
		t.Fatalf("reconcile = %d, %v; want 7 changes", n, err)
	}
	if got := fk.String(); got != state1 {
		t.Errorf("kernel:\n%s\nwant:\n%s", got, state1)
	}
}

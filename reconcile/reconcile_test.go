package reconcile

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/schema"
)

// loadConfig parses an HCL config and resolves it for node.
func loadConfig(t *testing.T, src, node string) *schema.Config {
	t.Helper()
	cfg, diags := schema.Parse(schema.Sources{"c.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatalf("config:\n%s", schema.RenderString(schema.Sources{"c.hcl": []byte(src)}, diags))
	}
	r, err := schema.Resolve(cfg, node)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const config1 = `
vrrp_instance "VI_1" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24", { address = "192.0.2.11/24", label = "eth0:vip" }]
  virtual_routes    = [{ to = "198.51.100.0/24", via = "192.0.2.1" }]
  virtual_rules     = [{ from = "192.0.2.10/32", table = 100, priority = 1000 }]
}

virtual_server "web" {
  address = "192.0.2.10:80"
  lb_algo = "wrr"
  lb_kind = "DR"
  real_server "203.0.113.5:80" {
    weight = 3
  }
  real_server "203.0.113.6:80" {}
}
`

const state1 = `ip link add eth0 up
ip link add eth1 up
ip addr add 192.0.2.10/24 dev eth0
ip addr add 192.0.2.11/24 dev eth0 label eth0:vip
ip route add 198.51.100.0/24 via 192.0.2.1 dev eth0 proto 18
ip rule add priority 1000 from 192.0.2.10/32 lookup 100
ipvsadm -A -t 192.0.2.10:80 -s wrr
ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 3
ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.6:80 -g -w 1
`

func newTestReconciler(k runtime.Kernel) (*Reconciler, *time.Time) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := &Reconciler{Kernel: k, Inventory: NewInventory(), Now: func() time.Time { return now }}
	return r, &now
}

func mustReconcile(t *testing.T, r *Reconciler, cfg *schema.Config, facts runtime.Facts) *Plan {
	t.Helper()
	p, _, err := r.Reconcile(cfg, facts, PlanOptions{})
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return p
}

func stateLines(t *testing.T, k *fake.Kernel) string {
	t.Helper()
	return k.String()
}

func TestApplyFromEmptyAndIdempotent(t *testing.T) {
	k := fake.NewKernel("eth0", "eth1")
	r, _ := newTestReconciler(k)
	cfg := loadConfig(t, config1, "")
	p := mustReconcile(t, r, cfg, runtime.Facts{})
	if add, ch, del := p.Counts(); add != 7 || ch != 0 || del != 0 {
		t.Errorf("counts = %d/%d/%d, want 7/0/0", add, ch, del)
	}
	if diff := cmp.Diff(state1, stateLines(t, k)); diff != "" {
		t.Errorf("kernel (-want +got):\n%s", diff)
	}
	// Order: address before route; service before destinations.
	var order []string
	for _, c := range p.Changes {
		order = append(order, c.ID)
	}
	idx := func(prefix string) int {
		for i, id := range order {
			if strings.HasPrefix(id, prefix) {
				return i
			}
		}
		t.Fatalf("no %s in %v", prefix, order)
		return -1
	}
	if !(idx("vip:") < idx("route:") && idx("ipvs:") < idx("rs:")) {
		t.Errorf("bad order: %v", order)
	}
	again, err := r.Plan(cfg, runtime.Facts{}, PlanOptions{})
	if err != nil || !again.Empty() {
		t.Fatalf("second plan not empty: %+v, %v", again, err)
	}
	if got := len(r.Inventory.IDs()); got != 7 {
		t.Errorf("inventory has %d objects, want 7: %v", got, r.Inventory.IDs())
	}
	if len(p.Assumptions) != 2 {
		t.Errorf("assumptions = %q", p.Assumptions)
	}
}

// TestSteps is a step-sequence test: each step changes the config, the
// facts or the kernel behind hacfg's back, reconciles, and checks the kernel.
func TestSteps(t *testing.T) {
	config2 := strings.Replace(config1, "weight = 3", "weight = 5", 1)
	config3 := strings.Replace(config2, `lb_algo = "wrr"`, `lb_algo = "wlc"`, 1)
	config4 := strings.Replace(config3, `  real_server "203.0.113.6:80" {}`+"\n", "", 1)
	master := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}
	backup := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleBackup}}
	down6 := runtime.Facts{VRRP: master.VRRP, Health: map[runtime.RealServerID]runtime.Health{
		{VirtualServer: "web", Addr: netip.MustParseAddrPort("203.0.113.6:80")}: {Up: false, Weight: -1},
	}}
	k := fake.NewKernel("eth0", "eth1")
	r, _ := newTestReconciler(k)
	steps := []struct {
		name    string
		config  string
		facts   runtime.Facts
		before  func()
		wantLog []string // kernel changes made by the step
	}{
		{name: "apply config 1 as master", config: config1, facts: master},
		{name: "real server down", config: config1, facts: down6,
			wantLog: []string{"ipvsadm -d -t 192.0.2.10:80 -r 203.0.113.6:80"}},
		{name: "real server up again", config: config1, facts: master,
			wantLog: []string{"ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.6:80 -g -w 1"}},
		{name: "weight change is one in-place edit", config: config2, facts: master,
			wantLog: []string{"ipvsadm -e -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 5"}},
		{name: "scheduler change is one in-place edit", config: config3, facts: master,
			wantLog: []string{"ipvsadm -E -t 192.0.2.10:80 -s wlc"}},
		{name: "drift: VIP deleted by hand is restored", config: config3, facts: master,
			before: func() {
				if err := k.DelAddr(runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.11/24"), Label: "eth0:vip"}); err != nil {
					t.Fatal(err)
				}
			},
			wantLog: []string{"ip addr add 192.0.2.11/24 dev eth0 label eth0:vip"}},
		{name: "backup drops addresses, routes and rules only", config: config3, facts: backup,
			wantLog: []string{
				"ip rule del priority 1000 from 192.0.2.10/32 lookup 100",
				"ip route del 198.51.100.0/24 via 192.0.2.1 dev eth0 proto 18",
				"ip addr del 192.0.2.10/24 dev eth0",
				"ip addr del 192.0.2.11/24 dev eth0",
			}},
		{name: "master again", config: config3, facts: master},
		{name: "real server removed from config", config: config4, facts: master,
			wantLog: []string{"ipvsadm -d -t 192.0.2.10:80 -r 203.0.113.6:80"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			logBefore := len(k.Log())
			mustReconcile(t, r, loadConfig(t, st.config, ""), st.facts)
			got := k.Log()[logBefore:]
			if st.wantLog != nil {
				if diff := cmp.Diff(st.wantLog, got); diff != "" {
					t.Errorf("kernel changes (-want +got):\n%s", diff)
				}
			}
			p, err := r.Plan(loadConfig(t, st.config, ""), st.facts, PlanOptions{})
			if err != nil || !p.Empty() {
				t.Fatalf("plan after step not empty: %v %+v", err, p)
			}
		})
	}
}

// TestRandomOrderReplays drives the kernel through the same states in
// random orders; every transition must end with an empty plan and the
// kernel equal to what a fresh apply of that state gives.
func TestRandomOrderReplays(t *testing.T) {
	type state struct {
		config string
		facts  runtime.Facts
	}
	rs := func(a string) runtime.RealServerID {
		return runtime.RealServerID{VirtualServer: "web", Addr: netip.MustParseAddrPort(a)}
	}
	states := []state{
		{config1, runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}},
		{config1, runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleBackup}}},
		{strings.Replace(config1, "weight = 3", "weight = 7", 1), runtime.Facts{}},
		{config1, runtime.Facts{Health: map[runtime.RealServerID]runtime.Health{rs("203.0.113.5:80"): {Up: false, Weight: -1}}}},
		{strings.Replace(config1, `"192.0.2.10/24", `, "", 1), runtime.Facts{}},
		{config1, runtime.Facts{Health: map[runtime.RealServerID]runtime.Health{rs("203.0.113.6:80"): {Up: true, Weight: 9}}}},
	}
	// The kernel each state should produce, from a fresh apply.
	want := make([]string, len(states))
	for i, s := range states {
		k := fake.NewKernel("eth0", "eth1")
		r, _ := newTestReconciler(k)
		mustReconcile(t, r, loadConfig(t, s.config, ""), s.facts)
		want[i] = k.String()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for run := 0; run < 20; run++ {
		k := fake.NewKernel("eth0", "eth1")
		r, _ := newTestReconciler(k)
		for _, i := range rng.Perm(len(states)) {
			mustReconcile(t, r, loadConfig(t, states[i].config, ""), states[i].facts)
			if diff := cmp.Diff(want[i], k.String()); diff != "" {
				t.Fatalf("run %d, state %d (-want +got):\n%s", run, i, diff)
			}
		}
	}
}

func TestForeignObjectsUntouched(t *testing.T) {
	k := fake.NewKernel("eth0", "eth1")
	// An operator's own address, route and IPVS service.
	must(t, k.AddAddr(runtime.Address{Interface: "eth1", Prefix: netip.MustParsePrefix("198.51.100.7/24")}))
	must(t, k.AddRoute(runtime.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("198.51.100.1")}))
	foreign := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("198.51.100.7"), Port: 443, Scheduler: "rr"}
	must(t, k.AddService(foreign))
	// And a service that collides with the config's, with another scheduler.
	must(t, k.AddService(runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "rr"}))
	r, _ := newTestReconciler(k)
	cfg := loadConfig(t, config1, "")
	p, err := r.Plan(cfg, runtime.Facts{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Conflicts) != 1 || p.Conflicts[0].ID != "ipvs:tcp/192.0.2.10:80" {
		t.Fatalf("conflicts = %+v", p.Conflicts)
	}
	for _, c := range p.Changes {
		if c.ID == "ipvs:tcp/192.0.2.10:80" {
			t.Fatalf("colliding service is changed without --adopt: %+v", c)
		}
	}
	if _, err := r.Apply(p); err != nil {
		t.Fatal(err)
	}
	// Remove everything from the config: hacfg deletes only what it owns.
	empty := loadConfig(t, `vrrp_instance "VI_1" {
  state = "MASTER"
  interface = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.99/24"]
}
virtual_server "other" {
  address = "192.0.2.99:80"
}`, "")
	mustReconcile(t, r, empty, runtime.Facts{})
	s := k.String()
	for _, keep := range []string{"198.51.100.7/24 dev eth1", "203.0.113.0/24 via 198.51.100.1", "-t 198.51.100.7:443 -s rr", "-t 192.0.2.10:80 -s rr"} {
		if !strings.Contains(s, keep) {
			t.Errorf("foreign object %q was removed:\n%s", keep, s)
		}
	}
	if strings.Contains(s, "192.0.2.10/24") || strings.Contains(s, "203.0.113.5") {
		t.Errorf("owned objects were not removed:\n%s", s)
	}
	// With --adopt, the colliding service is taken over.
	r2, _ := newTestReconciler(k)
	p, err = r2.Plan(cfg, runtime.Facts{}, PlanOptions{Adopt: true})
	if err != nil || len(p.Conflicts) != 0 {
		t.Fatalf("adopt: %v %+v", err, p.Conflicts)
	}
	found := false
	for _, c := range p.Changes {
		if c.ID == "ipvs:tcp/192.0.2.10:80" && c.Action == ActionUpdate {
			found = true
		}
	}
	if !found {
		t.Errorf("adopt did not update the colliding service: %+v", p.Changes)
	}
}

func TestPartialApplyReportsAndResumes(t *testing.T) {
	k := fake.NewKernel("eth0", "eth1")
	boom := errors.New("injected failure")
	k.FailOn(fake.FailID("AddDestination", "tcp/192.0.2.10:80/203.0.113.6:80", boom))
	r, _ := newTestReconciler(k)
	cfg := loadConfig(t, config1, "")
	p, res, err := r.Reconcile(cfg, runtime.Facts{}, PlanOptions{})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	if res.Failed == nil || res.Failed.ID != "rs:tcp/192.0.2.10:80/203.0.113.6:80" {
		t.Fatalf("failed change = %+v", res.Failed)
	}
	if len(res.Applied)+len(res.NotApplied)+1 != len(p.Changes) {
		t.Errorf("applied %d + not applied %d + 1 != %d changes", len(res.Applied), len(res.NotApplied), len(p.Changes))
	}
	// Ownership records are true: exactly the applied changes are owned.
	for _, c := range res.Applied {
		if _, ok := r.Inventory.Get(c.ID); !ok {
			t.Errorf("applied %s missing from inventory", c.ID)
		}
	}
	for _, c := range append([]Change{*res.Failed}, res.NotApplied...) {
		if _, ok := r.Inventory.Get(c.ID); ok {
			t.Errorf("unapplied %s is in the inventory", c.ID)
		}
	}
	sum := res.Summary()
	if !strings.Contains(sum, "apply failed at create rs:tcp/192.0.2.10:80/203.0.113.6:80") || !strings.Contains(sum, "not applied (") {
		t.Errorf("summary:\n%s", sum)
	}
	// The failure clears; a second apply finishes the job.
	k.FailOn(nil)
	p2 := mustReconcile(t, r, cfg, runtime.Facts{})
	if add, _, _ := p2.Counts(); add != len(res.NotApplied)+1 {
		t.Errorf("second apply added %d, want %d", add, len(res.NotApplied)+1)
	}
	if diff := cmp.Diff(state1, k.String()); diff != "" {
		t.Errorf("kernel (-want +got):\n%s", diff)
	}
}

func TestDrain(t *testing.T) {
	k := fake.NewKernel("eth0", "eth1")
	r, now := newTestReconciler(k)
	r.DrainTimeout = time.Minute
	mustReconcile(t, r, loadConfig(t, config1, ""), runtime.Facts{})
	dk, _ := runtime.ParseDestinationKey("tcp/192.0.2.10:80/203.0.113.6:80")
	must(t, k.SetConnections(dk, 3, 2))
	without := loadConfig(t, strings.Replace(config1, `  real_server "203.0.113.6:80" {}`+"\n", "", 1), "")
	p := mustReconcile(t, r, without, runtime.Facts{})
	if len(p.Changes) != 1 || !p.Changes[0].Drain || p.Changes[0].After.Destination.Weight != 0 {
		t.Fatalf("drain plan = %+v", p.Changes)
	}
	if !strings.Contains(k.String(), "-r 203.0.113.6:80 -g -w 0") {
		t.Fatalf("destination not drained to weight 0:\n%s", k.String())
	}
	// Still connections, within the timeout: nothing to do.
	*now = now.Add(30 * time.Second)
	p, err := r.Plan(without, runtime.Facts{}, PlanOptions{})
	if err != nil || !p.Empty() || len(p.Waiting) != 1 {
		t.Fatalf("while draining: %v %+v", err, p)
	}
	// Re-adding it cancels the drain.
	withAgain := loadConfig(t, config1, "")
	p = mustReconcile(t, r, withAgain, runtime.Facts{})
	if len(p.Changes) != 1 || p.Changes[0].Action != ActionUpdate || p.Changes[0].After.Destination.Weight != 1 {
		t.Fatalf("re-add plan = %+v", p.Changes)
	}
	if e, _ := r.Inventory.Get("rs:tcp/192.0.2.10:80/203.0.113.6:80"); e.DrainingSince != nil {
		t.Error("re-adding did not cancel the drain")
	}
	// Remove again, then the timeout passes: deleted.
	mustReconcile(t, r, without, runtime.Facts{})
	*now = now.Add(2 * time.Minute)
	p = mustReconcile(t, r, without, runtime.Facts{})
	if len(p.Changes) != 1 || p.Changes[0].Action != ActionDelete {
		t.Fatalf("after timeout: %+v", p.Changes)
	}
	// Connections ended before the timeout: deleted at once.
	mustReconcile(t, r, withAgain, runtime.Facts{})
	must(t, k.SetConnections(dk, 1, 0))
	mustReconcile(t, r, without, runtime.Facts{})
	must(t, k.SetConnections(dk, 0, 0))
	p = mustReconcile(t, r, without, runtime.Facts{})
	if len(p.Changes) != 1 || p.Changes[0].Action != ActionDelete {
		t.Fatalf("after connections ended: %+v", p.Changes)
	}
}

func TestScopedReconcileReadsOnlyItsScope(t *testing.T) {
	k := fake.NewKernel("eth0", "eth1")
	r, _ := newTestReconciler(k)
	var b strings.Builder
	b.WriteString(config1)
	for i := 0; i < 200; i++ {
		b.WriteString("virtual_server \"s" + itoa(i) + "\" {\n  address = \"198.51.100." + itoa(i%250+1) + ":" + itoa(1000+i) + "\"\n  real_server \"203.0.113.9:80\" {}\n}\n")
	}
	cfg := loadConfig(t, b.String(), "")
	mustReconcile(t, r, cfg, runtime.Facts{})
	k.ResetOps()
	// A real server goes down: a reconcile scoped to its virtual server.
	facts := runtime.Facts{Health: map[runtime.RealServerID]runtime.Health{
		{VirtualServer: "web", Addr: netip.MustParseAddrPort("203.0.113.6:80")}: {Up: false, Weight: -1}}}
	p, _, err := r.Reconcile(cfg, facts, PlanOptions{Scope: Scope{VirtualServers: []string{"web"}}})
	if err != nil || len(p.Changes) != 1 {
		t.Fatalf("scoped reconcile: %v %+v", err, p)
	}
	ops := k.Ops()
	if ops["ListAll"] != 0 || ops["ListServices"] != 0 || ops["ListAddrs"] != 0 {
		t.Errorf("scoped reconcile listed whole tables: %v", ops)
	}
	if ops["GetService"] > 2 || ops["ListDestinations"] > 2 || ops["DelDestination"] != 1 {
		t.Errorf("scoped reconcile did more than its scope: %v", ops)
	}
	// A VRRP transition: scoped to the instance, no IPVS read at all.
	k.ResetOps()
	backup := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleBackup}, Health: facts.Health}
	if _, _, err := r.Reconcile(cfg, backup, PlanOptions{Scope: Scope{Instances: []string{"VI_1"}}}); err != nil {
		t.Fatal(err)
	}
	for op, n := range k.Ops() {
		if strings.Contains(op, "Service") || strings.Contains(op, "Destination") || op == "ListAll" {
			t.Errorf("instance-scoped reconcile touched IPVS: %s ×%d", op, n)
		}
	}
	if strings.Contains(k.String(), "192.0.2.10/24") {
		t.Error("VIP still present after backup")
	}
}

func TestEmptyGuardAndMissingInterface(t *testing.T) {
	k := fake.NewKernel("eth0", "eth1")
	r, _ := newTestReconciler(k)
	mustReconcile(t, r, loadConfig(t, config1, ""), runtime.Facts{})
	nothing := loadConfig(t, `global_defs {
  router_id = "x"
}`, "")
	_, err := r.Plan(nothing, runtime.Facts{}, PlanOptions{})
	if !errors.Is(err, ErrWouldEmpty) {
		t.Fatalf("err = %v, want ErrWouldEmpty", err)
	}
	p, err := r.Plan(nothing, runtime.Facts{}, PlanOptions{AllowEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, del := p.Counts(); del != 7 {
		t.Errorf("allow-empty plan deletes %d, want 7", del)
	}

	k2 := fake.NewKernel("eth1")
	r2, _ := newTestReconciler(k2)
	_, err = r2.Plan(loadConfig(t, config1, ""), runtime.Facts{}, PlanOptions{})
	var mi *MissingInterfaceError
	if !errors.As(err, &mi) || !strings.Contains(err.Error(), "interface eth0 (needed by vrrp_instance.VI_1)") {
		t.Fatalf("err = %v", err)
	}
	if len(k2.Log()) != 0 {
		t.Errorf("a failed plan changed the kernel: %v", k2.Log())
	}
}

func TestSavedPlanStaleness(t *testing.T) {
	k := fake.NewKernel("eth0", "eth1")
	r, _ := newTestReconciler(k)
	cfg := loadConfig(t, config1, "")
	p, err := r.Plan(cfg, runtime.Facts{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckFresh(p); err != nil {
		t.Fatalf("fresh plan reported stale: %v", err)
	}
	// A VIP appearing (VRRP) does not make the plan stale ...
	must(t, k.AddAddr(runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/24")}))
	if err := r.CheckFresh(p); err != nil {
		t.Fatalf("VIP change made the plan stale: %v", err)
	}
	if _, err := r.Apply(p); err != nil {
		t.Fatalf("apply after VIP appeared: %v", err)
	}
	// ... but someone adding the service by hand does.
	cfg2 := loadConfig(t, strings.Replace(config1, "192.0.2.10:80", "192.0.2.10:8080", 1), "")
	p2, err := r.Plan(cfg2, runtime.Facts{}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	must(t, k.AddService(runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 8080, Scheduler: "rr"}))
	if err := r.CheckFresh(p2); !errors.Is(err, ErrStale) {
		t.Fatalf("err = %v, want ErrStale", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Replace(string(rune('0'+0)), "0", "", 1) + func() string { return fmtInt(i) }())
}

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}

func TestVMAC(t *testing.T) {
	k := fake.NewKernel("eth0")
	r, _ := newTestReconciler(k)
	cfg := loadConfig(t, `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  use_vmac          = true
  virtual_ipaddress = ["192.0.2.10/24"]
}
vrrp_instance "VI_6" {
  interface         = "eth0"
  virtual_router_id = 7
  version           = 3
  use_vmac          = true
  vmac_name         = "vmac6"
  virtual_ipaddress = ["2001:db8::10/64"]
}`, "")
	master := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster, "VI_6": runtime.RoleMaster}}
	mustReconcile(t, r, cfg, master)
	want := `ip link add eth0 up
ip link add vmac6 link eth0 address 00:00:5e:00:02:07 type macvlan mode private up
ip link add vrrp.51 link eth0 address 00:00:5e:00:01:33 type macvlan mode private up
ip addr add 192.0.2.10/24 dev vrrp.51
ip addr add 2001:db8::10/64 dev vmac6 nodad
`
	if diff := cmp.Diff(want, k.String()); diff != "" {
		t.Errorf("master (-want +got):\n%s", diff)
	}
	// Backup: the addresses go, the VMAC interfaces stay (the speaker
	// sends on them).
	backup := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleBackup, "VI_6": runtime.RoleBackup}}
	mustReconcile(t, r, cfg, backup)
	if s := k.String(); strings.Contains(s, "ip addr add") || !strings.Contains(s, "vrrp.51 link eth0") {
		t.Errorf("backup:\n%s", s)
	}
	// Removing use_vmac removes the interface.
	plain := loadConfig(t, `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
}`, "")
	p := mustReconcile(t, r, plain, master)
	if s := k.String(); strings.Contains(s, "macvlan") || !strings.Contains(s, "192.0.2.10/24 dev eth0") {
		t.Errorf("after removing use_vmac:\n%s\nplan: %+v", s, p.Changes)
	}
}

// TestDesiredHealthOf: facts whose health is a lookup (HealthOf, as the
// agent's full reconciles have) give the state the same health as a map
// does, and no "assumed healthy" note.
func TestDesiredHealthOf(t *testing.T) {
	cfg := loadConfig(t, config1, "")
	health := map[runtime.RealServerID]runtime.Health{
		{VirtualServer: "web", Addr: netip.MustParseAddrPort("203.0.113.5:80")}: {Up: false, Weight: -1},
		{VirtualServer: "web", Addr: netip.MustParseAddrPort("203.0.113.6:80")}: {Up: true, Weight: 9},
	}
	vrrp := map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}
	want, wantAssumed, err := Desired(cfg, runtime.Facts{VRRP: vrrp, Health: health}, Scope{})
	must(t, err)
	got, gotAssumed, err := Desired(cfg, runtime.Facts{VRRP: vrrp, HealthOf: func(id runtime.RealServerID) (runtime.Health, bool) {
		h, ok := health[id]
		return h, ok
	}}, Scope{})
	must(t, err)
	opts := cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{})
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("state (-map +HealthOf):\n%s", diff)
	}
	if diff := cmp.Diff(wantAssumed, gotAssumed); diff != "" {
		t.Errorf("assumed (-map +HealthOf):\n%s", diff)
	}
	none, noneAssumed, err := Desired(cfg, runtime.Facts{VRRP: vrrp}, Scope{})
	must(t, err)
	if cmp.Equal(want, none, opts) {
		t.Error("the health facts change nothing: the test tests nothing")
	}
	if !slices.Contains(noneAssumed, "every real server is healthy (no live health checks)") {
		t.Errorf("no health facts: assumed %q, want the healthy note", noneAssumed)
	}
}

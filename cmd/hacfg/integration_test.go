package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hacfg/hacfg/runtime/linux/vmtest"
)

// requireRoot skips without root, or fails under HACFG_REQUIRE_ALL=1.
func requireRoot(t *testing.T) {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root"
	} else if _, err := exec.LookPath("ip"); err != nil {
		missing = "iproute2 (ip)"
	}
	if missing == "" {
		return
	}
	if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
		t.Fatalf("HACFG_REQUIRE_ALL=1 but %s is missing", missing)
	}
	t.Skipf("needs %s", missing)
}

// newNetns creates a network namespace with an up veth interface eth0
// (its peer eth0p in the same namespace) and deletes it when the test ends.
func newNetns(t *testing.T) (name, path string) {
	t.Helper()
	name = fmt.Sprintf("hacfg-cmd-%d-%s", os.Getpid(), strings.NewReplacer("/", "-", " ", "").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ipCmd(t, "-n", name, "link", "set", "lo", "up")
	ipCmd(t, "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
	ipCmd(t, "-n", name, "link", "set", "eth0", "up")
	ipCmd(t, "-n", name, "link", "set", "eth0p", "up")
	return name, "/run/netns/" + name
}

func ipCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

const netConfig = `
vrrp_instance "VI_1" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
  virtual_ipaddress_excluded = [{ address = "2001:db8::10/64", no_dad = true }]
  virtual_routes    = [{ to = "198.51.100.0/24", via = "192.0.2.1" }]
  virtual_rules     = [{ from = "192.0.2.10/32", table = 100, priority = 1000 }]
}
static_ipaddress = [{ address = "203.0.113.1/32", dev = "eth0" }]
`

// TestIntegrationPlanApplyNetns runs plan and apply against the real kernel
// in a fresh network namespace: create, idempotence, drift, a foreign
// address left alone, saved plans, and the clear errors.
func TestIntegrationPlanApplyNetns(t *testing.T) {
	requireRoot(t)
	ns, path := newNetns(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.hcl")
	must(t, os.WriteFile(cfgPath, []byte(netConfig), 0o644))
	state := filepath.Join(dir, "state")
	common := []string{"-c", cfgPath, "--netns", path, "--state-dir", state}
	// A foreign address and a foreign route that hacfg must leave alone.
	ipCmd(t, "-n", ns, "addr", "add", "192.0.2.99/24", "dev", "eth0")
	ipCmd(t, "-n", ns, "route", "add", "203.0.113.128/25", "via", "192.0.2.254", "proto", "static")

	r := runCmd(t, append([]string{"plan", "--detailed-exitcode"}, common...)...)
	if r.code != 2 || !strings.Contains(r.stdout, "Plan: 5 to add, 0 to change, 0 to destroy.") ||
		!strings.Contains(r.stdout, "+ vip:eth0/192.0.2.10/24") || !strings.Contains(r.stdout, "Assuming vrrp_instance VI_1 is MASTER") {
		t.Fatalf("first plan: %+v", r)
	}
	r = runCmd(t, append([]string{"apply", "--auto-approve"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Apply complete! 5 added, 0 changed, 0 destroyed. Verified") {
		t.Fatalf("apply: %+v", r)
	}
	addrs := ipCmd(t, "-n", ns, "-o", "addr", "show", "dev", "eth0")
	for _, want := range []string{"192.0.2.10/24", "2001:db8::10/64", "203.0.113.1/32", "192.0.2.99/24"} {
		if !strings.Contains(addrs, want) {
			t.Errorf("address %s missing after apply:\n%s", want, addrs)
		}
	}
	if v6 := ipCmd(t, "-n", ns, "-6", "-o", "addr", "show", "to", "2001:db8::10/64"); !strings.Contains(v6, "2001:db8::10/64") || strings.Contains(v6, "tentative") {
		t.Errorf("IPv6 VIP missing or still in DAD:\n%s", v6)
	}
	if routes := ipCmd(t, "-n", ns, "route", "show", "proto", "18"); !strings.Contains(routes, "198.51.100.0/24 via 192.0.2.1 dev eth0") {
		t.Errorf("virtual route missing:\n%s", routes)
	}
	if rules := ipCmd(t, "-n", ns, "rule", "show"); !strings.Contains(rules, "1000:\tfrom 192.0.2.10 lookup 100") {
		t.Errorf("virtual rule missing:\n%s", rules)
	}
	// Idempotent.
	if r = runCmd(t, append([]string{"plan", "--detailed-exitcode"}, common...)...); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("second plan: %+v", r)
	}
	// Drift: a VIP deleted by hand is planned and restored.
	ipCmd(t, "-n", ns, "addr", "del", "192.0.2.10/24", "dev", "eth0")
	if r = runCmd(t, append([]string{"plan", "--detailed-exitcode"}, common...)...); r.code != 2 || !strings.Contains(r.stdout, "+ vip:eth0/192.0.2.10/24") {
		t.Fatalf("drift plan: %+v", r)
	}
	if r = runCmd(t, append([]string{"apply", "--auto-approve"}, common...)...); r.code != 0 {
		t.Fatalf("drift apply: %+v", r)
	}
	if !strings.Contains(ipCmd(t, "-n", ns, "-o", "addr"), "192.0.2.10/24") {
		t.Fatal("VIP not restored")
	}
	// Backup: the instance's objects go, the static address and the
	// foreign address stay.
	if r = runCmd(t, append([]string{"apply", "--auto-approve", "--assume-state", "VI_1=BACKUP"}, common...)...); r.code != 0 ||
		!strings.Contains(r.stdout, "0 added, 0 changed, 4 destroyed") {
		t.Fatalf("backup apply: %+v", r)
	}
	addrs = ipCmd(t, "-n", ns, "-o", "addr", "show", "dev", "eth0")
	if strings.Contains(addrs, "192.0.2.10/24") || !strings.Contains(addrs, "203.0.113.1/32") || !strings.Contains(addrs, "192.0.2.99/24") {
		t.Fatalf("after backup:\n%s", addrs)
	}
	if routes := ipCmd(t, "-n", ns, "route", "show"); !strings.Contains(routes, "203.0.113.128/25 via 192.0.2.254 dev eth0 proto static") ||
		strings.Contains(routes, "198.51.100.0/24") {
		t.Fatalf("routes after backup (the foreign one must stay, the virtual one go):\n%s", routes)
	}
	// A saved plan goes stale when what it touches changes under it.
	planFile := filepath.Join(dir, "p.json")
	ipCmd(t, "-n", ns, "addr", "del", "203.0.113.1/32", "dev", "eth0")
	if r = runCmd(t, append([]string{"plan", "-out", planFile}, common...)...); r.code != 0 || !strings.Contains(r.stdout, "+ vip:eth0/203.0.113.1/32") {
		t.Fatalf("plan -out: %+v", r)
	}
	ipCmd(t, "-n", ns, "addr", "add", "203.0.113.1/32", "dev", "eth0", "label", "eth0:x")
	if r = runCmd(t, "apply", planFile, "--netns", path, "--state-dir", state); r.code != 1 || !strings.Contains(r.stderr, "stale") {
		t.Fatalf("stale plan applied: %+v", r)
	}
	if r = runCmd(t, append([]string{"plan", "-out", planFile}, common...)...); r.code != 0 {
		t.Fatalf("plan -out: %+v", r)
	}
	if r = runCmd(t, "apply", planFile, "--netns", path, "--state-dir", state); r.code != 0 || !strings.Contains(r.stdout, "Verified") {
		t.Fatalf("fresh saved plan: %+v", r)
	}
}

func TestIntegrationPlanErrors(t *testing.T) {
	requireRoot(t)
	ns, path := newNetns(t)
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(src), 0o644))
		return p
	}
	before := ipCmd(t, "-n", ns, "-o", "addr")
	// An interface the node does not have.
	missing := write("m.hcl", strings.Replace(netConfig, `interface         = "eth0"`, `interface         = "eth9"`, 1))
	r := runCmd(t, "apply", "--auto-approve", "-c", missing, "--netns", path, "--state-dir", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "interface eth9 (needed by vrrp_instance.VI_1)") {
		t.Fatalf("missing interface: %+v", r)
	}
	// Virtual servers on a kernel without IPVS (this host's).
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Log("this kernel has IPVS; skipping the no-IPVS case")
	} else {
		vs := write("v.hcl", `virtual_server "web" {
  address = "192.0.2.10:80"
  real_server "203.0.113.5:80" {}
}`)
		r = runCmd(t, "plan", "-c", vs, "--netns", path, "--state-dir", dir)
		if r.code != 1 || !strings.Contains(r.stderr, "kernel has no IP Virtual Server support") {
			t.Fatalf("no IPVS: %+v", r)
		}
	}
	if after := ipCmd(t, "-n", ns, "-o", "addr"); after != before {
		t.Errorf("a failed command changed the kernel:\n%s\n---\n%s", before, after)
	}
}

// TestIntegrationVMIPVS runs TestIntegrationIPVS… below in a VM with real
// IPVS.
func TestIntegrationVMIPVS(t *testing.T) {
	vmtest.RunPackageTests(t, "^TestIntegrationIPVS")
}

const ipvsConfig = `
virtual_server "web" {
  address             = "192.0.2.10:80"
  lb_algo             = "wrr"
  lb_kind             = "DR"
  persistence_timeout = "5m"
  real_server "203.0.113.5:80" {
    weight = 3
  }
  real_server "203.0.113.6:80" {}
}
virtual_server "dns6" {
  address  = "[2001:db8::53]:53"
  protocol = "UDP"
  lb_algo  = "rr"
  real_server "[2001:db8::1]:53" {}
}
virtual_server "marked" {
  fwmark  = 7
  lb_algo = "sh"
  lb_kind = "TUN"
  real_server "203.0.113.7:443" {}
}
`

// TestIntegrationIPVSApply applies virtual servers to real IPVS through the
// command line (run inside the VM by TestIntegrationVMIPVS).
func TestIntegrationIPVSApply(t *testing.T) {
	if os.Getenv("HACFG_IPVS") != "1" {
		t.Skip("runs inside the IPVS VM (TestIntegrationVMIPVS)")
	}
	flushIPVS(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.hcl")
	must(t, os.WriteFile(cfgPath, []byte(ipvsConfig), 0o644))
	state := filepath.Join(dir, "state")
	common := []string{"-c", cfgPath, "--state-dir", state}
	r := runCmd(t, append([]string{"apply", "--auto-approve"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Apply complete! 7 added") {
		t.Fatalf("apply: %+v", r)
	}
	if r = runCmd(t, append([]string{"plan", "--detailed-exitcode"}, common...)...); r.code != 0 {
		t.Fatalf("second plan: %+v", r)
	}
	// One real server's weight: one in-place change, the destination kept.
	must(t, os.WriteFile(cfgPath, []byte(strings.Replace(ipvsConfig, "weight = 3", "weight = 9", 1)), 0o644))
	r = runCmd(t, append([]string{"plan", "--json"}, common...)...)
	if r.code != 0 || strings.Count(r.stdout, `"action": "update"`) != 1 || strings.Contains(r.stdout, `"action": "create"`) {
		t.Fatalf("weight plan: %+v", r)
	}
	if r = runCmd(t, append([]string{"apply", "--auto-approve"}, common...)...); r.code != 0 || !strings.Contains(r.stdout, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("weight apply: %+v", r)
	}
	// Remove a virtual server: its service and destinations go, the rest stay.
	must(t, os.WriteFile(cfgPath, []byte(strings.Replace(ipvsConfig, "weight = 3", "weight = 9", 1)[:strings.Index(ipvsConfig, `virtual_server "marked"`)]), 0o644))
	if r = runCmd(t, append([]string{"apply", "--auto-approve"}, common...)...); r.code != 0 || !strings.Contains(r.stdout, "0 added, 0 changed, 2 destroyed") {
		t.Fatalf("remove apply: %+v", r)
	}
	if r = runCmd(t, append([]string{"plan", "--detailed-exitcode"}, common...)...); r.code != 0 {
		t.Fatalf("plan after removal: %+v", r)
	}
}

// TestIntegrationVMACNetns: use_vmac creates the macvlan with the virtual
// router MAC through the reconciler, and the VIP goes on it.
func TestIntegrationVMACNetns(t *testing.T) {
	requireRoot(t)
	ns, path := newNetns(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.hcl")
	must(t, os.WriteFile(cfgPath, []byte(`
vrrp_instance "VI_1" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 51
  use_vmac          = true
  virtual_ipaddress = ["192.0.2.10/24"]
}`), 0o644))
	common := []string{"-c", cfgPath, "--netns", path, "--state-dir", filepath.Join(dir, "state")}
	r := runCmd(t, append([]string{"apply", "--auto-approve"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "2 added") {
		t.Fatalf("apply: %+v", r)
	}
	link := ipCmd(t, "-n", ns, "-d", "link", "show", "vrrp.51")
	if !strings.Contains(link, "link/ether 00:00:5e:00:01:33") || !strings.Contains(link, "macvlan mode private") || !strings.Contains(link, "vrrp.51@eth0") {
		t.Fatalf("VMAC link:\n%s", link)
	}
	if a := ipCmd(t, "-n", ns, "-o", "addr", "show", "dev", "vrrp.51"); !strings.Contains(a, "192.0.2.10/24") {
		t.Fatalf("VIP not on the VMAC:\n%s", a)
	}
	if r = runCmd(t, append([]string{"plan", "--detailed-exitcode"}, common...)...); r.code != 0 {
		t.Fatalf("second plan: %+v", r)
	}
	r = runCmd(t, append([]string{"apply", "--auto-approve", "--assume-state", "VI_1=BACKUP"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "1 destroyed") {
		t.Fatalf("backup: %+v", r)
	}
	if a := ipCmd(t, "-n", ns, "-o", "addr", "show", "dev", "vrrp.51"); strings.Contains(a, "192.0.2.10") {
		t.Fatalf("VIP kept on backup:\n%s", a)
	}
}

// TestIntegrationPlanConfigCache: plan keeps the resolved config in the
// state directory and serves it again, but never once the config changed,
// even by one byte with the same size.
func TestIntegrationPlanConfigCache(t *testing.T) {
	requireRoot(t)
	_, path := newNetns(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.hcl")
	must(t, os.WriteFile(cfgPath, []byte(netConfig), 0o644))
	state := filepath.Join(dir, "state")
	common := []string{"-c", cfgPath, "--netns", path, "--state-dir", state}
	first := runCmd(t, append([]string{"plan"}, common...)...)
	if first.code != 0 || !strings.Contains(first.stdout, "+ vip:eth0/203.0.113.1/32") {
		t.Fatalf("first plan: %+v", first)
	}
	if _, err := os.Stat(filepath.Join(state, "config.cache")); err != nil {
		t.Fatalf("no config cache after a plan: %v", err)
	}
	if again := runCmd(t, append([]string{"plan"}, common...)...); again.code != 0 || again.stdout != first.stdout {
		t.Fatalf("plan from the cache differs:\n%s\nfirst:\n%s", again.stdout, first.stdout)
	}
	must(t, os.WriteFile(cfgPath, []byte(strings.Replace(netConfig, "203.0.113.1/32", "203.0.113.2/32", 1)), 0o644))
	r := runCmd(t, append([]string{"plan"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "+ vip:eth0/203.0.113.2/32") || strings.Contains(r.stdout, "203.0.113.1/32") {
		t.Fatalf("plan after the config changed: %+v", r)
	}
}

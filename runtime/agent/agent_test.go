package agent

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hacfg/hacfg/reconcile"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/announce"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/runtime/vrrp"
	"github.com/hacfg/hacfg/schema"
)

const clusterConfig = `
node "lb1" {}
node "lb2" {}

vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  advert_int        = "1s"
  virtual_ipaddress = ["192.0.2.10/24"]
  garp_master_delay = "2s"
  node "lb1" {
    priority = 150
  }
  node "lb2" {
    priority = 100
  }
}

vrrp_instance "VI_2" {
  interface         = "eth0"
  virtual_router_id = 52
  advert_int        = "1s"
  virtual_ipaddress = ["192.0.2.20/24"]
  node "lb1" {
    priority = 100
  }
  node "lb2" {
    priority = 150
  }
}

virtual_server "web" {
  address = "192.0.2.10:80"
  real_server "203.0.113.5:80" {}
}
`

// node is one agent of the lab with its own kernel.
type node struct {
	name   string
	addr   netip.Addr
	kernel *fake.Kernel
	rec    *reconcile.Reconciler
	ann    *fake.Announcer
	agent  *Agent
	cancel context.CancelFunc
	done   chan error
}

type lab struct {
	t     *testing.T
	clock *fake.Clock
	net   *fake.Network
	dir   string
	nodes map[string]*node
}

func newLab(t *testing.T, config string) *lab {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "cluster.hcl"), []byte(config), 0o644))
	clock := fake.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	return &lab{t: t, clock: clock, net: fake.NewNetwork(clock), dir: dir, nodes: map[string]*node{}}
}

// nodeOpts vary how launch starts an agent.
type nodeOpts struct {
	kernel *fake.Kernel         // default: a fresh kernel with eth0
	inv    *reconcile.Inventory // default: empty
	node   string               // --node (default: the node's name; "-" for none)
	deps   func(*Deps)          // adjusts the dependencies
}

func (l *lab) start(name, addr string, kernel *fake.Kernel, inv *reconcile.Inventory) *node {
	l.t.Helper()
	return l.launch(name, addr, nodeOpts{kernel: kernel, inv: inv})
}

// launch starts an agent on the lab's network with its own kernel.
func (l *lab) launch(name, addr string, o nodeOpts) *node {
	l.t.Helper()
	if o.kernel == nil {
		o.kernel = fake.NewKernel("eth0")
	}
	if o.inv == nil {
		o.inv = reconcile.NewInventory()
	}
	switch o.node {
	case "":
		o.node = name
	case "-":
		o.node = ""
	}
	n := &node{name: name, addr: netip.MustParseAddr(addr), kernel: o.kernel, ann: fake.NewAnnouncer(l.clock), done: make(chan error, 1)}
	n.rec = &reconcile.Reconciler{Kernel: o.kernel, Inventory: o.inv, Now: l.clock.Now}
	deps := Deps{
		Reconciler: n.rec,
		DialVRRP: func(iface string, fam runtime.Family, src netip.Addr) (runtime.VRRPConn, error) {
			return l.net.Attach("lan", iface, n.addr)
		},
		Announcer: announce.New(n.ann, l.clock, nil),
		Clock:     l.clock,
	}
	if o.deps != nil {
		o.deps(&deps)
	}
	n.agent = New(deps, Options{ConfigPath: l.dir, Node: o.node, Debounce: 20 * time.Millisecond, FullInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- n.agent.Run(ctx) }()
	l.nodes[name] = n
	// Wait until its instances exist.
	l.eventually("agent "+name+" started", func() bool { return len(n.agent.Status().Instances) > 0 })
	return n
}

func (l *lab) stop(name string) error {
	n := l.nodes[name]
	n.cancel()
	select {
	case err := <-n.done:
		return err
	case <-time.After(5 * time.Second):
		l.t.Fatalf("agent %s did not stop", name)
	}
	return nil
}

// advance moves the fake clock in small steps, giving the agents' loops
// real time to reconcile between steps.
func (l *lab) advance(d time.Duration) {
	const step = 50 * time.Millisecond
	for moved := time.Duration(0); moved < d; moved += step {
		l.clock.Advance(step)
		time.Sleep(time.Millisecond)
	}
	l.settle()
}

// settle waits until no agent has work pending.
func (l *lab) settle() {
	time.Sleep(30 * time.Millisecond)
}

func (l *lab) eventually(what string, f func() bool) {
	l.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.t.Fatalf("timed out waiting for %s", what)
}

func (l *lab) state(name, inst string) string {
	for _, is := range l.nodes[name].agent.Status().Instances {
		if is.Name == inst {
			return is.State
		}
	}
	return "absent"
}

func hasVIP(k *fake.Kernel, vip string) bool {
	return strings.Contains(k.String(), "ip addr add "+vip+" dev eth0")
}

func TestAgentElectionReloadAndShutdown(t *testing.T) {
	l := newLab(t, clusterConfig)
	lb1 := l.start("lb1", "192.0.2.1", nil, nil)
	lb2 := l.start("lb2", "192.0.2.2", nil, nil)

	// Both start as backup; after Master_Down_Interval each instance's
	// higher-priority node is master and holds its VIP.
	l.advance(5 * time.Second)
	l.eventually("VI_1 master on lb1", func() bool { return l.state("lb1", "VI_1") == "MASTER" && hasVIP(lb1.kernel, "192.0.2.10/24") })
	l.eventually("VI_2 master on lb2", func() bool { return l.state("lb2", "VI_2") == "MASTER" && hasVIP(lb2.kernel, "192.0.2.20/24") })
	if l.state("lb2", "VI_1") != "BACKUP" || hasVIP(lb2.kernel, "192.0.2.10/24") {
		t.Fatalf("lb2 VI_1: %s\n%s", l.state("lb2", "VI_1"), lb2.kernel)
	}
	if !strings.Contains(lb1.kernel.String(), "ipvsadm -A -t 192.0.2.10:80") {
		t.Fatalf("virtual server not applied on lb1:\n%s", lb1.kernel)
	}
	// The new master announced its VIP.
	l.eventually("GARP from lb1", func() bool { return lb1.ann.Packets() > 0 })
	if st := lb1.agent.Status(); st.Instances[0].LastTransition == nil || !strings.Contains(st.Instances[0].LastTransition.Reason, "master down timer") {
		t.Errorf("status transition: %+v", st.Instances[0].LastTransition)
	}

	// An unrelated change (a new real server) reloads without any VRRP
	// transition or announcement.
	l.advance(3 * time.Second) // let the garp_master_delay second set go out
	garpBefore := lb1.ann.Packets()
	tr1 := *lb1.agent.Status().Instances[0].LastTransition
	must(t, os.WriteFile(filepath.Join(l.dir, "cluster.hcl"), []byte(strings.Replace(clusterConfig,
		`real_server "203.0.113.5:80" {}`, `real_server "203.0.113.5:80" {}
  real_server "203.0.113.6:80" {}`, 1)), 0o644))
	l.eventually("reload on lb1", func() bool { return strings.Contains(lb1.kernel.String(), "203.0.113.6:80") })
	if sc := lb1.agent.Status().Reconcile.Scope; sc != "instances=[] virtual_servers=[web]" {
		t.Errorf("a real server added to one virtual server reconciled scope %q, want only that virtual server", sc)
	}
	l.advance(2 * time.Second)
	if got := *lb1.agent.Status().Instances[0].LastTransition; got != tr1 {
		t.Errorf("unrelated reload changed VRRP: %+v → %+v", tr1, got)
	}
	if got := lb1.ann.Packets(); got != garpBefore {
		t.Errorf("unrelated reload re-sent %d announcements", got-garpBefore)
	}

	// An invalid config is kept out; the last good one keeps running.
	digest := lb1.agent.Status().Digest
	must(t, os.WriteFile(filepath.Join(l.dir, "cluster.hcl"), []byte(strings.Replace(clusterConfig, "= 51", "= 300", 1)), 0o644))
	l.eventually("reload error reported", func() bool { return strings.Contains(lb1.agent.Status().ReloadErr, "virtual_router_id must be 1-255") })
	// At its place in the file: the agent loads lean (schema.LoadLean),
	// and a config with problems is decoded again with every range.
	if err := lb1.agent.Status().ReloadErr; !strings.Contains(err, "cluster.hcl:7:23:") {
		t.Errorf("reload error does not point at cluster.hcl:7:23:\n%s", err)
	}
	if st := lb1.agent.Status(); st.Digest != digest || !hasVIP(lb1.kernel, "192.0.2.10/24") || l.state("lb1", "VI_1") != "MASTER" {
		t.Fatalf("invalid config changed the running state: %+v", st)
	}

	// SIGTERM on lb1: priority 0 advert, lb2 takes over within skew time,
	// lb1's addresses are removed, IPVS stays.
	stopAt := l.clock.Now()
	if err := l.stop("lb1"); err != nil {
		t.Fatal(err)
	}
	if hasVIP(lb1.kernel, "192.0.2.10/24") || !strings.Contains(lb1.kernel.String(), "ipvsadm -A -t 192.0.2.10:80") {
		t.Fatalf("after shutdown lb1 kernel:\n%s", lb1.kernel)
	}
	l.advance(time.Second)
	l.eventually("lb2 takes VI_1", func() bool { return l.state("lb2", "VI_1") == "MASTER" && hasVIP(lb2.kernel, "192.0.2.10/24") })
	var took time.Duration
	for _, is := range lb2.agent.Status().Instances {
		if is.Name == "VI_1" {
			took = is.LastTransition.At.Sub(stopAt)
		}
	}
	// Skew_Time for priority 100 with 1 s adverts (v2): (256-100)/256 s.
	if took > 700*time.Millisecond {
		t.Errorf("takeover after clean stop took %s, want ≤ skew time 609ms", took)
	}
	_ = l.stop("lb2")
}

// TestAgentRestartAdopts: an agent that restarts after a crash finds its
// VIPs in the kernel and leaves them while VRRP decides, instead of tearing
// them down: the instance it wins back is adopted without a kernel change,
// the one another node now holds is removed once the election settles.
func TestAgentRestartAdopts(t *testing.T) {
	l := newLab(t, clusterConfig)
	kernel := fake.NewKernel("eth0")
	inv := reconcile.NewInventory()
	lb1 := l.start("lb1", "192.0.2.1", kernel, inv)
	l.advance(5 * time.Second)
	l.eventually("lb1 master of both", func() bool {
		return hasVIP(kernel, "192.0.2.10/24") && hasVIP(kernel, "192.0.2.20/24")
	})
	// kill -9: the agent disappears without shutting down.
	lb1.agent.crash.Store(true)
	lb1.cancel()
	<-lb1.done
	if !hasVIP(kernel, "192.0.2.10/24") || !hasVIP(kernel, "192.0.2.20/24") {
		t.Fatal("crash removed the VIPs")
	}
	// lb2 starts meanwhile and becomes master of both.
	lb2 := l.start("lb2", "192.0.2.2", nil, nil)
	l.advance(5 * time.Second)
	l.eventually("lb2 master of both", func() bool { return l.state("lb2", "VI_1") == "MASTER" && l.state("lb2", "VI_2") == "MASTER" })

	logBefore := len(kernel.Log())
	l.start("lb1", "192.0.2.1", kernel, inv)
	l.advance(500 * time.Millisecond)
	if !hasVIP(kernel, "192.0.2.10/24") || !hasVIP(kernel, "192.0.2.20/24") {
		t.Fatalf("restart tore down VIPs before VRRP decided:\n%s", kernel)
	}
	l.advance(5 * time.Second)
	// VI_1: lb1 has the higher priority and takes it back, adopting the VIP.
	l.eventually("lb1 master of VI_1 again", func() bool { return l.state("lb1", "VI_1") == "MASTER" })
	// VI_2: lb2 stays master; lb1 removes its stale VIP.
	l.eventually("lb1 drops VI_2's VIP", func() bool { return !hasVIP(kernel, "192.0.2.20/24") })
	if l.state("lb1", "VI_2") != "BACKUP" || l.state("lb2", "VI_2") != "MASTER" {
		t.Fatalf("VI_2: lb1 %s, lb2 %s", l.state("lb1", "VI_2"), l.state("lb2", "VI_2"))
	}
	var vi1Ops []string
	for _, line := range kernel.Log()[logBefore:] {
		if strings.Contains(line, "192.0.2.10") {
			vi1Ops = append(vi1Ops, line)
		}
	}
	if len(vi1Ops) != 0 {
		t.Errorf("restart changed the adopted VIP: %q", vi1Ops)
	}
	_ = lb2
	_ = l.stop("lb1")
	_ = l.stop("lb2")
}

func TestMasterDownInterval(t *testing.T) {
	tests := []struct {
		cfg  vrrp.Config
		want time.Duration
	}{
		{vrrp.Config{Version: 2, Priority: 100, AdvertInterval: time.Second}, 3*time.Second + 609375*time.Microsecond},
		{vrrp.Config{Version: 3, Priority: 100, AdvertInterval: 10 * time.Millisecond}, 30*time.Millisecond + 6093750*time.Nanosecond},
		{vrrp.Config{Version: 3, Priority: 255, AdvertInterval: time.Second}, 3*time.Second + 3906250*time.Nanosecond},
	}
	for _, tt := range tests {
		if got := masterDownInterval(tt.cfg); got != tt.want {
			t.Errorf("masterDownInterval(%+v) = %s, want %s", tt.cfg, got, tt.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestConfigDelta(t *testing.T) {
	load := func(src string) *schema.Config {
		cfg, diags := schema.Parse(schema.Sources{"c.hcl": []byte(src)})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		r, err := schema.Resolve(cfg, "lb1")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	base := load(clusterConfig)
	tests := []struct {
		name string
		src  string
		want delta
	}{
		{"same", clusterConfig, delta{}},
		{"weight of one real server", strings.Replace(clusterConfig, `real_server "203.0.113.5:80" {}`, `real_server "203.0.113.5:80" {
    weight = 7
  }`, 1), delta{servers: []string{"web"}}},
		{"one instance's priority", strings.Replace(clusterConfig, "priority = 150", "priority = 160", 1), delta{instances: []string{"VI_1"}}},
		{"global settings", "global_defs {\n  router_id = \"x\"\n}\n" + clusterConfig, delta{full: true}},
		{"instance removed", clusterConfig[:strings.Index(clusterConfig, `vrrp_instance "VI_2"`)] + clusterConfig[strings.Index(clusterConfig, `virtual_server "web"`):], delta{instances: []string{"VI_2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := configDelta(base, load(tt.src))
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(delta{})); diff != "" {
				t.Errorf("delta (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAgentVMAC: use_vmac instances speak on their VMAC interface, which
// exists from the start whatever the state; the VIP goes on it as master;
// shutdown removes both.
func TestAgentVMAC(t *testing.T) {
	l := newLab(t, `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  use_vmac          = true
  virtual_ipaddress = ["192.0.2.10/24"]
}`)
	kernel := fake.NewKernel("eth0")
	if err := kernel.AddAddr(runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.1/24")}); err != nil {
		t.Fatal(err)
	}
	var dialed []string
	n := l.launch("lb1", "192.0.2.1", nodeOpts{kernel: kernel, node: "-", deps: func(d *Deps) {
		dial := d.DialVRRP
		d.DialVRRP = func(iface string, fam runtime.Family, src netip.Addr) (runtime.VRRPConn, error) {
			dialed = append(dialed, iface+" from "+src.String())
			return dial(iface, fam, src)
		}
	}})
	if !strings.Contains(kernel.String(), "ip link add vrrp.51 link eth0 address 00:00:5e:00:01:33 type macvlan mode private up") {
		t.Fatalf("no VMAC before the election:\n%s", kernel)
	}
	if len(dialed) != 1 || dialed[0] != "vrrp.51 from 192.0.2.1" {
		t.Errorf("VRRP socket opened on %v, want the VMAC with eth0's address", dialed)
	}
	l.advance(5 * time.Second)
	l.eventually("VIP on the VMAC", func() bool { return strings.Contains(kernel.String(), "ip addr add 192.0.2.10/24 dev vrrp.51") })
	if err := l.stop("lb1"); err != nil {
		t.Fatal(err)
	}
	if s := kernel.String(); strings.Contains(s, "vrrp.51") {
		t.Errorf("shutdown left the VMAC or its address:\n%s", s)
	}
	_ = n
}

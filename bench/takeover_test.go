package bench

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hacfg/hacfg/reconcile"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/linux"
	"github.com/hacfg/hacfg/schema"
)

const envTakeoverServices = "HACFG_BENCH_TAKEOVER_SERVICES"

// BenchmarkTakeover boots one VM with real IPVS and runs
// BenchmarkTakeoverInVM in it: the kernel work of a VRRP takeover (the
// instance-scoped reconcile that adds the virtual addresses) on an empty
// node and on a node with 10,000 IPVS services (HACFG_BENCH_TAKEOVER_SERVICES),
// side by side. It must not be slower with the services.
//
//	go test -run '^$' -bench '^BenchmarkTakeover$' -benchtime 1x ./bench
func BenchmarkTakeover(b *testing.B) {
	vmBench{inVM: "BenchmarkTakeoverInVM", passEnv: []string{envTakeoverServices}, memory: 2048, timeout: 15 * time.Minute}.run(b)
}

// takeoverConfig is one VRRP instance on lb0 and n virtual servers.
func takeoverConfig(n int) string {
	var sb strings.Builder
	sb.WriteString(`vrrp_instance "VI_1" {
  interface         = "lb0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.100/24", "192.0.2.101/24"]
  virtual_routes    = [{ to = "198.51.100.0/24", via = "192.0.2.254", dev = "lb0" }]
}
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "virtual_server \"s%d\" {\n  address = \"203.0.113.%d:%d\"\n  real_server \"198.51.100.%d:80\" {}\n}\n", i, 1+i%250, 1024+i/250, 1+i%200)
	}
	return sb.String()
}

// BenchmarkTakeoverInVM runs inside the VM (HACFG_IPVS=1).
func BenchmarkTakeoverInVM(b *testing.B) {
	if os.Getenv("HACFG_IPVS") != "1" {
		b.Skip("runs inside the IPVS VM (BenchmarkTakeover)")
	}
	n := 10000
	if v := os.Getenv(envTakeoverServices); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	k, err := linux.Open("", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	if err := k.AddLink(runtime.Link{Name: "lb0", Kind: runtime.KindDummy, Up: true}); err != nil {
		b.Fatal(err)
	}
	if err := k.AddAddr(runtime.Address{Interface: "lb0", Prefix: netip.MustParsePrefix("192.0.2.1/24")}); err != nil {
		b.Fatal(err)
	}
	r := &reconcile.Reconciler{Kernel: k, Inventory: reconcile.NewInventory()}
	backup := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleBackup}}
	master := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}
	scope := reconcile.PlanOptions{Scope: reconcile.Scope{Instances: []string{"VI_1"}}}
	const runs = 21
	measure := func(cfg *schema.Config) (median, worst time.Duration) {
		var ds []time.Duration
		for i := 0; i < runs; i++ {
			start := time.Now()
			p, _, err := r.Reconcile(cfg, master, scope)
			d := time.Since(start)
			if err != nil || len(p.Changes) != 3 {
				b.Fatalf("takeover reconcile: %v (%d changes)", err, len(p.Changes))
			}
			ds = append(ds, d)
			if _, _, err := r.Reconcile(cfg, backup, scope); err != nil {
				b.Fatal(err)
			}
		}
		slices.Sort(ds)
		return ds[len(ds)/2], ds[len(ds)-1]
	}
	load := func(n int) *schema.Config {
		cfg, diags := schema.Parse(schema.Sources{"t.hcl": []byte(takeoverConfig(n))})
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		res, err := schema.Resolve(cfg, "")
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	empty := load(0)
	if _, _, err := r.Reconcile(empty, backup, reconcile.PlanOptions{AllowEmpty: true}); err != nil {
		b.Fatal(err)
	}
	emptyMed, emptyWorst := measure(empty)

	full := load(n)
	start := time.Now()
	if _, _, err := r.Reconcile(full, backup, reconcile.PlanOptions{}); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(start)
	all, err := k.ListServices()
	if err != nil || len(all) != n {
		b.Fatalf("IPVS has %d services, want %d: %v", len(all), n, err)
	}
	fullMed, fullWorst := measure(full)

	fmt.Printf("\nVRRP takeover: kernel work of the instance-scoped reconcile (add 2 VIPs + 1 route), %d runs each\n", runs)
	fmt.Printf("%-28s %12s %12s\n", "IPVS table", "median", "worst")
	fmt.Printf("%-28s %12s %12s\n", "empty", emptyMed.Round(time.Microsecond), emptyWorst.Round(time.Microsecond))
	fmt.Printf("%-28s %12s %12s\n", fmt.Sprintf("%d services (loaded in %s)", n, loaded.Round(time.Millisecond)), fullMed.Round(time.Microsecond), fullWorst.Round(time.Microsecond))
	ratio := float64(fullMed) / float64(emptyMed)
	fmt.Printf("ratio (with services / empty, median): %.2f\n", ratio)
	b.ReportMetric(float64(emptyMed.Microseconds()), "empty-median-µs")
	b.ReportMetric(float64(fullMed.Microseconds()), "10k-median-µs")
	b.ReportMetric(ratio, "ratio")
	// "Must not be slower": allow noise, fail on a real dependence on the
	// table size (TCG timing jitters by tens of percent).
	if fullMed > 2*emptyMed+2*time.Millisecond {
		b.Errorf("takeover with %d services (%s) is slower than on an empty node (%s)", n, fullMed, emptyMed)
	}
}

package reconcile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
)

func scopedConfig(n int) string {
	var sb strings.Builder
	sb.WriteString(`vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.100/24", "192.0.2.101/24"]
}
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "virtual_server \"s%d\" {\n  address = \"203.0.113.%d:%d\"\n  real_server \"198.51.100.%d:80\" {}\n}\n", i, 1+i%250, 1024+i/250, 1+i%200)
	}
	return sb.String()
}

// BenchmarkScopedTakeover is the reconciler's share of a VRRP takeover: an
// instance-scoped reconcile on a node with n IPVS services. Its cost must
// not grow with n.
func BenchmarkScopedTakeover(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			k := fake.NewKernel("eth0")
			r, _ := newTestReconciler(k)
			t := &testing.T{}
			cfg := loadConfig(t, scopedConfig(n), "")
			backup := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleBackup}}
			master := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}
			if _, _, err := r.Reconcile(cfg, backup, PlanOptions{}); err != nil {
				b.Fatal(err)
			}
			scope := PlanOptions{Scope: Scope{Instances: []string{"VI_1"}}}
			b.ResetTimer()
			for range b.N {
				if _, _, err := r.Reconcile(cfg, master, scope); err != nil {
					b.Fatal(err)
				}
				if _, _, err := r.Reconcile(cfg, backup, scope); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestScopedReconcileCostIndependentOfTableSize: an instance-scoped
// reconcile (a VRRP takeover) allocates the same on a node with 10,000 IPVS
// services as on an empty one — its work does not grow with the table.
// (Counting allocations, not time, keeps this deterministic.)
func TestScopedReconcileCostIndependentOfTableSize(t *testing.T) {
	allocs := map[int]float64{}
	for _, n := range []int{0, 10000} {
		k := fake.NewKernel("eth0")
		r, _ := newTestReconciler(k)
		cfg := loadConfig(t, scopedConfig(n), "")
		backup := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleBackup}}
		master := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}
		if _, _, err := r.Reconcile(cfg, backup, PlanOptions{}); err != nil {
			t.Fatal(err)
		}
		scope := PlanOptions{Scope: Scope{Instances: []string{"VI_1"}}}
		allocs[n] = testing.AllocsPerRun(5, func() {
			if _, _, err := r.Reconcile(cfg, master, scope); err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.Reconcile(cfg, backup, scope); err != nil {
				t.Fatal(err)
			}
		})
	}
	if allocs[10000] > allocs[0]*1.1+10 {
		t.Errorf("takeover reconcile allocates %.0f times with 10,000 services, %.0f on an empty node", allocs[10000], allocs[0])
	}
}

// BenchmarkFullNoop is the agent's steady state: a reconcile of everything
// on a node with n IPVS services, all in place, which changes nothing.
func BenchmarkFullNoop(b *testing.B) {
	for _, n := range []int{10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			k := fake.NewKernel("eth0")
			r, _ := newTestReconciler(k)
			cfg := loadConfig(&testing.T{}, scopedConfig(n), "")
			master := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}
			if _, _, err := r.Reconcile(cfg, master, PlanOptions{}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				p, _, err := r.Reconcile(cfg, master, PlanOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Changes) != 0 {
					b.Fatalf("%d changes", len(p.Changes))
				}
			}
		})
	}
}

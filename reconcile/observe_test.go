package reconcile

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
)

// rawKernel lists IPVS as a kernel may, not normalized: IPv4 real servers
// as IPv4-mapped IPv6, the hashed flag set, a full netmask spelled out.
type rawKernel struct{ *fake.Kernel }

func (k rawKernel) ListAll() ([]runtime.VirtualServer, error) {
	all, err := k.Kernel.ListAll()
	for i := range all {
		s := &all[i].Service
		s.Flags |= runtime.FlagHashed
		if s.Family == runtime.FamilyV4 && s.Netmask == 0 {
			s.Netmask = 32
		}
		for j := range all[i].Destinations {
			if d := &all[i].Destinations[j]; d.Addr.Is4() && j%2 == 0 {
				d.Addr = netip.AddrFrom16(d.Addr.As16())
			}
		}
	}
	return all, err
}

// driftIPVS changes fk's IPVS table at random, as someone with ipvsadm
// would: services and real servers deleted, schedulers and weights
// changed, connections opened, foreign real servers added.
func driftIPVS(t *testing.T, r *rand.Rand, fk *fake.Kernel) {
	t.Helper()
	all, _ := fk.ListAll()
	for _, vs := range all {
		key := vs.Service.Key()
		switch r.IntN(8) {
		case 0:
			must(t, fk.DelService(key))
			continue
		case 1:
			s := vs.Service
			s.Scheduler = "rr"
			must(t, fk.UpdateService(s))
		}
		for _, d := range vs.Destinations {
			switch r.IntN(6) {
			case 0:
				must(t, fk.DelDestination(key, d))
			case 1:
				d.Weight += 1 + r.IntN(3)
				must(t, fk.UpdateDestination(key, d))
			case 2:
				must(t, fk.SetConnections(d.Key(key), r.IntN(3), r.IntN(3)))
			}
		}
		if r.IntN(4) == 0 && key.FwMark == 0 && key.Addr.Is4() {
			must(t, fk.AddDestination(key, runtime.Destination{Addr: netip.MustParseAddr("203.0.113.99"), Port: 9, Weight: 1}))
		}
	}
}

func randomIPVSConfig(r *rand.Rand, n int) string {
	var sb strings.Builder
	sb.WriteString("virtual_server_group \"g\" {\n  vip = [\"192.0.2.200:443\", \"[2001:db8::200]:443\"]\n}\n")
	sb.WriteString("virtual_server \"grouped\" {\n  group = \"g\"\n  lb_kind = \"TUN\"\n  real_server \"198.51.100.200:443\" {}\n}\n")
	sb.WriteString("virtual_server \"marked\" {\n  fwmark = 7\n  real_server \"198.51.100.201:80\" {}\n}\n")
	for i := range n {
		if i%5 == 4 {
			fmt.Fprintf(&sb, "virtual_server \"v%d\" {\n  address = \"[2001:db8::%x]:%d\"\n  lb_kind = \"DR\"\n", i, i+1, 80+i%3)
			for j := range 1 + r.IntN(4) {
				fmt.Fprintf(&sb, "  real_server \"[2001:db8:1::%x]:%d\" {\n    weight = %d\n  }\n", j+1, 80+i%3, r.IntN(5))
			}
		} else {
			fmt.Fprintf(&sb, "virtual_server \"v%d\" {\n  address = \"192.0.2.%d:%d\"\n  lb_algo = \"wrr\"\n  persistence_timeout = \"%ds\"\n", i, i+1, 80+i%3, r.IntN(2)*300)
			for j := range 1 + r.IntN(4) {
				fmt.Fprintf(&sb, "  real_server \"203.0.113.%d:%d\" {\n    weight = %d\n  }\n", j+1, 8080+j, r.IntN(5))
			}
		}
		sb.WriteString("}\n")
	}
	return sb.String()
}

// TestObserveIndexedMatchesObserve: a plan made through the IPVS index
// (what Reconciler.Plan does for a full plan) is the plan made through
// Observe's State, whatever the kernel, inventory and config hold: drift,
// foreign services and real servers, missing ones, lost and foreign
// inventory entries, drains, adoption.
func TestObserveIndexedMatchesObserve(t *testing.T) {
	opts := cmp.Options{cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{})}
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 2))
		fk := fake.NewKernel("eth0")
		k := rawKernel{fk}
		rec, now := newTestReconciler(k)
		n := 3 + r.IntN(12)
		if _, _, err := rec.Reconcile(loadConfig(t, randomIPVSConfig(r, n), ""), runtime.Facts{}, PlanOptions{}); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		driftIPVS(t, r, fk)
		must(t, fk.AddService(runtime.Service{Protocol: runtime.ProtocolUDP, Addr: netip.MustParseAddr("192.0.2.250"), Port: 53, Scheduler: "rr"}))
		// The inventory loses and gains entries, some draining.
		for _, id := range rec.Inventory.IDs() {
			switch r.IntN(10) {
			case 0:
				rec.Inventory.Remove(id)
			case 1:
				e, _ := rec.Inventory.Get(id)
				since := now.Add(-time.Duration(r.IntN(60)) * time.Second)
				e.DrainingSince = &since
				rec.Inventory.Set(id, e)
			}
		}
		rec.Inventory.Set("ipvs:udp/192.0.2.250:53", Entry{Owner: "virtual_server.gone", Kind: KindService})
		rec.Inventory.Set("rs:tcp/192.0.2.251:80/203.0.113.1:80", Entry{Owner: "virtual_server.gone", Kind: KindDestination})
		// The config changes.
		cfg := loadConfig(t, randomIPVSConfig(r, n-r.IntN(3)), "")
		desired, _, err := Desired(cfg, runtime.Facts{}, Scope{})
		if err != nil {
			t.Fatal(err)
		}
		decl, _, _ := Desired(cfg, allUp(cfg), Scope{})
		for _, scope := range []Scope{{}, {Skip: []string{"virtual_server.v1"}}} {
			for _, dopts := range []DiffOptions{
				{DeclaredServices: 1, Now: *now, Declared: decl},
				{DeclaredServices: 1, Now: *now, Declared: decl, Adopt: true, DrainTimeout: 30 * time.Second},
				{Now: *now, DrainTimeout: time.Minute},
			} {
				plain, err := Observe(k, scope, nil)
				must(t, err)
				indexed, err := observeIndexed(k, scope, nil)
				must(t, err)
				want, wantErr := Diff(desired, plain, rec.Inventory, scope, dopts)
				got, gotErr := Diff(desired, indexed, rec.Inventory, scope, dopts)
				if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
					t.Fatalf("seed %d: error %v, want %v", seed, gotErr, wantErr)
				}
				if diff := cmp.Diff(want, got, opts); diff != "" {
					t.Fatalf("seed %d, scope %+v, options %+v: plan (-Observe +indexed):\n%s", seed, scope, dopts, diff)
				}
				if len(want.Changes)+len(want.Conflicts)+len(want.Adopt)+len(want.Forget) == 0 {
					t.Fatalf("seed %d: an empty plan tests nothing", seed)
				}
			}
		}
	}
}

// noListSome hides the fake kernel's ListSome: a kernel that reads each
// service with GetService and ListDestinations.
type noListSome struct{ runtime.Kernel }

// TestObserveScopedWithoutListSome: a scoped observe reads the same
// services, missing ones left out, with and without ListSome.
func TestObserveScopedWithoutListSome(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fk := fake.NewKernel("eth0")
	rec, _ := newTestReconciler(fk)
	cfg := loadConfig(t, randomIPVSConfig(r, 12), "")
	if _, _, err := rec.Reconcile(cfg, runtime.Facts{}, PlanOptions{}); err != nil {
		t.Fatal(err)
	}
	all, _ := fk.ListAll()
	var keys []runtime.ServiceKey
	for i, vs := range all {
		if i%2 == 0 {
			keys = append(keys, vs.Service.Key())
		}
	}
	keys = append(keys, runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.254"), Port: 1})
	scope := Scope{VirtualServers: []string{"v1"}}
	with, err := Observe(fk, scope, keys)
	must(t, err)
	without, err := Observe(noListSome{fk}, scope, keys)
	must(t, err)
	if len(with.State) < len(keys) {
		t.Fatalf("observed %d objects for %d services", len(with.State), len(keys))
	}
	opts := cmp.Options{cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{})}
	if diff := cmp.Diff(without.State, with.State, opts); diff != "" {
		t.Errorf("observed (-without ListSome +with):\n%s", diff)
	}
}

package fake

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestKernelMadeRoutes(t *testing.T) {
	k := NewKernel("eth0")
	must(t, k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24")}))
	must(t, k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.11/24")}))
	must(t, k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("2001:db8::10/64")}))
	want := lines(
		"ip link add eth0 up",
		"ip addr add 192.0.2.10/24 dev eth0",
		"ip addr add 192.0.2.11/24 dev eth0",
		"ip addr add 2001:db8::10/64 dev eth0",
		"ip route add 192.0.2.0/24 dev eth0 proto 2 scope link src 192.0.2.10",
		"ip route add 2001:db8::/64 dev eth0 proto 2 metric 256",
		"ip route add local 192.0.2.10/32 dev eth0 proto 2 table 255 scope host src 192.0.2.10",
		"ip route add local 192.0.2.11/32 dev eth0 proto 2 table 255 scope host src 192.0.2.11",
		"ip route add local 2001:db8::10/128 dev eth0 proto 2 table 255",
		"ip rule add -6 priority 0 from all lookup 255",
		"ip rule add -6 priority 32766 from all lookup 254",
		"ip rule add priority 0 from all lookup 255",
		"ip rule add priority 32766 from all lookup 254",
		"ip rule add priority 32767 from all lookup 253",
	)
	if diff := cmp.Diff(want, k.StringAll()); diff != "" {
		t.Errorf("StringAll (-want +got):\n%s", diff)
	}

	// Deleting the primary moves the prefix route's source to the secondary.
	must(t, k.DelAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24")}))
	routes, err := k.ListRoutes()
	must(t, err)
	var got []string
	for _, r := range routes {
		if !runtime.IsKernelRoute(r) {
			t.Errorf("IsKernelRoute(%s) = false for a kernel-made route", r)
		}
		got = append(got, r.String())
	}
	wantRoutes := []string{
		"192.0.2.0/24 dev eth0 proto 2 scope link src 192.0.2.11",
		"2001:db8::/64 dev eth0 proto 2 metric 256",
		"local 192.0.2.11/32 dev eth0 proto 2 table 255 scope host src 192.0.2.11",
		"local 2001:db8::10/128 dev eth0 proto 2 table 255",
	}
	if diff := cmp.Diff(wantRoutes, got); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}

	// A route through the prefix route's gateway, then link down and up:
	// the user route is gone, the kernel routes come back.
	must(t, k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1")}))
	must(t, k.SetLinkUp("eth0", false))
	must(t, k.SetLinkUp("eth0", true))
	routes, err = k.ListRoutes()
	must(t, err)
	got = got[:0]
	for _, r := range routes {
		got = append(got, r.String())
	}
	wantRoutes = []string{
		"192.0.2.0/24 dev eth0 proto 2 scope link src 192.0.2.11",
		"local 192.0.2.11/32 dev eth0 proto 2 table 255 scope host src 192.0.2.11",
	}
	if diff := cmp.Diff(wantRoutes, got); diff != "" {
		t.Errorf("routes after link flap (-want +got):\n%s", diff)
	}
}

func TestListAddrsNormalizes(t *testing.T) {
	k := NewKernel("eth0", "eth1")
	must(t, k.AddAddr(runtime.Address{Interface: "eth1", Prefix: pfx("192.0.2.20/24"), Label: "eth1"}))
	must(t, k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24"), Label: "eth0:1", Protocol: 18}))
	got, err := k.ListAddrs()
	must(t, err)
	want := []runtime.Address{
		{Interface: "eth0", Prefix: pfx("192.0.2.10/24"), Label: "eth0:1", Protocol: 18},
		{Interface: "eth1", Prefix: pfx("192.0.2.20/24")},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("ListAddrs (-want +got):\n%s", diff)
	}
}

func TestOpsAndLog(t *testing.T) {
	k := NewKernel("eth0")
	must(t, k.AddService(svc(web, "wrr")))
	must(t, k.AddDestination(web, rs1))
	k.ResetOps()

	d := rs1
	d.Weight = 0
	must(t, k.UpdateDestination(web, d))
	if diff := cmp.Diff(map[string]int{"UpdateDestination": 1}, k.Ops()); diff != "" {
		t.Errorf("Ops (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ipvsadm -e -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 0"}, k.Log()); diff != "" {
		t.Errorf("Log (-want +got):\n%s", diff)
	}

	k.ResetOps()
	if err := k.AddAddr(runtime.Address{Interface: "eth9", Prefix: pfx("192.0.2.1/24")}); err == nil {
		t.Fatal("AddAddr on missing device succeeded")
	}
	must(t, k.AddAddr(vip))
	must(t, k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1"), Protocol: 18}))
	must(t, k.AddRule(runtime.Rule{Priority: 10, Src: pfx("192.0.2.10/32"), Table: 10}))
	must(t, k.DelRule(runtime.Rule{Priority: 10, Src: pfx("192.0.2.10/32"), Table: 10}))
	must(t, k.DelRoute(runtime.Route{Dst: pfx("198.51.100.0/24")}))
	must(t, k.DelAddr(vip))
	must(t, k.DelDestination(web, rs1))
	must(t, k.UpdateService(svc(web, "rr")))
	must(t, k.DelService(web))
	must(t, k.AddLink(runtime.Link{Name: "d0", Kind: "dummy"}))
	must(t, k.SetLinkUp("d0", true))
	must(t, k.DelLink("d0"))
	wantLog := []string{
		"ip addr add 192.0.2.10/24 dev eth0",
		"ip route add 198.51.100.0/24 via 192.0.2.1 dev eth0 proto 18",
		"ip rule add priority 10 from 192.0.2.10/32 lookup 10",
		"ip rule del priority 10 from 192.0.2.10/32 lookup 10",
		"ip route del 198.51.100.0/24 via 192.0.2.1 dev eth0 proto 18",
		"ip addr del 192.0.2.10/24 dev eth0",
		"ipvsadm -d -t 192.0.2.10:80 -r 203.0.113.5:80",
		"ipvsadm -E -t 192.0.2.10:80 -s rr",
		"ipvsadm -D -t 192.0.2.10:80",
		"ip link add d0 type dummy",
		"ip link set d0 up",
		"ip link del d0",
	}
	if diff := cmp.Diff(wantLog, k.Log()); diff != "" {
		t.Errorf("Log (-want +got):\n%s", diff)
	}
	if got := k.Ops()["AddAddr"]; got != 2 {
		t.Errorf(`Ops()["AddAddr"] = %d, want 2 (failed calls count)`, got)
	}
}

func TestFailOn(t *testing.T) {
	boom := errors.New("boom")
	k := NewKernel("eth0")
	must(t, k.AddService(svc(web, "wrr")))
	k.FailOn(FailID("AddDestination", "tcp/192.0.2.10:80/203.0.113.6:80", boom))

	must(t, k.AddDestination(web, rs1))
	err := k.AddDestination(web, rs2)
	if !errors.Is(err, boom) {
		t.Fatalf("AddDestination(rs2) = %v, want boom", err)
	}
	want := lines("ip link add eth0 up", "ipvsadm -A -t 192.0.2.10:80 -s wrr", "ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 1")
	if diff := cmp.Diff(want, k.String()); diff != "" {
		t.Errorf("state after injected failure (-want +got):\n%s", diff)
	}

	var seen []Op
	k.FailOn(func(op Op) error {
		seen = append(seen, op)
		if op.Name == "ListAll" {
			return boom
		}
		return nil
	})
	if _, err := k.ListAll(); !errors.Is(err, boom) {
		t.Errorf("ListAll = %v, want boom", err)
	}
	must(t, k.AddAddr(vip))
	wantOps := []Op{{Name: "ListAll"}, {Name: "AddAddr", ID: "eth0/192.0.2.10/24", Arg: vip}}
	if diff := cmp.Diff(wantOps, seen, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("ops seen by hook (-want +got):\n%s", diff)
	}

	k.FailOn(nil)
	must(t, k.AddDestination(web, rs2))
}

func TestListAllAndConnections(t *testing.T) {
	k := NewKernel()
	must(t, k.AddService(svc(web, "wrr")))
	must(t, k.AddService(svc(mark, "rr")))
	must(t, k.AddDestination(web, rs2))
	must(t, k.AddDestination(web, rs1))
	must(t, k.SetConnections(rs1.Key(web), 3, 4))
	d := rs1
	d.Weight = 0
	must(t, k.UpdateDestination(web, d))

	got, err := k.ListAll()
	must(t, err)
	drained := rs1
	drained.Weight, drained.ActiveConns, drained.InactiveConns = 0, 3, 4
	want := []runtime.VirtualServer{
		{Service: svc(web, "wrr").Normalize(), Destinations: []runtime.Destination{drained, rs2}},
		{Service: svc(mark, "rr").Normalize(), Destinations: []runtime.Destination{}},
	}
	opts := cmp.Options{cmp.Comparer(func(a, b netip.Addr) bool { return a == b })}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("ListAll (-want +got):\n%s", diff)
	}
	s, err := k.GetService(web)
	must(t, err)
	if diff := cmp.Diff(svc(web, "wrr").Normalize(), s, opts); diff != "" {
		t.Errorf("GetService (-want +got):\n%s", diff)
	}
	if _, err := k.GetService(web6); !errors.Is(err, runtime.ErrNotExist) {
		t.Errorf("GetService(missing) = %v, want ErrNotExist", err)
	}
	if _, err := k.ListDestinations(web6); !errors.Is(err, runtime.ErrNotExist) {
		t.Errorf("ListDestinations(missing) = %v, want ErrNotExist", err)
	}
	if err := k.SetConnections(runtime.Destination{Addr: addr("203.0.113.99"), Port: 1}.Key(web), 1, 1); !errors.Is(err, runtime.ErrNotExist) {
		t.Errorf("SetConnections(missing) = %v, want ErrNotExist", err)
	}
}

// TestConcurrent exercises the lock; run with -race.
func TestConcurrent(t *testing.T) {
	k := NewKernel("eth0")
	must(t, k.AddService(svc(web, "wrr")))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := runtime.Destination{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), Port: 80, Weight: 1, Forward: runtime.ForwardDR}
			for range 50 {
				if err := k.AddDestination(web, d); err != nil {
					t.Error(err)
					return
				}
				if _, err := k.ListAll(); err != nil {
					t.Error(err)
				}
				_ = k.String()
				if err := k.DelDestination(web, d); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := k.Ops()["AddDestination"]; got != 8*50 {
		t.Errorf("AddDestination count = %d, want %d", got, 8*50)
	}
}

func ExampleKernel() {
	k := NewKernel("eth0")
	_ = k.AddAddr(runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/24"), Label: "eth0:1"})
	key := runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 80}
	_ = k.AddService(runtime.Service{Protocol: key.Protocol, Addr: key.Addr, Port: key.Port, Scheduler: "wrr"})
	_ = k.AddDestination(key, runtime.Destination{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Weight: 1, Forward: runtime.ForwardDR})
	err := k.AddDestination(key, runtime.Destination{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Weight: 2})
	fmt.Print(k)
	fmt.Println(errors.Is(err, runtime.ErrExist))
	// Output:
	// ip link add eth0 up
	// ip addr add 192.0.2.10/24 dev eth0 label eth0:1
	// ipvsadm -A -t 192.0.2.10:80 -s wrr
	// ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 1
	// true
}

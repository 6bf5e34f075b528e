//go:build linux

package linux_test

import (
	"fmt"
	"net/netip"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netns"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/linux"
)

// ktOpenIPVS opens a Kernel in a fresh, unnamed network namespace (no
// mount needed: the namespace lives while the test holds its fd) with lo
// up. It runs only with HACFG_IPVS=1, which the VM harness sets (see
// TestIntegrationVM); the development host has no IPVS.
func ktOpenIPVS(t *testing.T) *linux.Kernel {
	t.Helper()
	if os.Getenv("HACFG_IPVS") != "1" {
		t.Skip("needs a kernel with IPVS: set HACFG_IPVS=1 (TestIntegrationVM does, in a VM)")
	}
	ktRequireRoot(t)

	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("get current netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.New() // switches this thread into it
	if setErr := netns.Set(orig); setErr != nil {
		t.Fatalf("return to the original netns: %v", setErr)
	}
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	path := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns))

	k, err := linux.Open(path, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { k.Close() })
	if err := k.IPVSError(); err != nil {
		t.Fatal(err)
	}
	ktMust(t, k.SetLinkUp("lo", true)) // without lo up IPVS rejects destinations
	return k
}

func ktSortServices(ss []runtime.Service) []runtime.Service {
	ss = slices.Clone(ss)
	for i := range ss {
		ss[i] = ss[i].Normalize()
	}
	slices.SortFunc(ss, func(a, b runtime.Service) int { return strings.Compare(a.Key().String(), b.Key().String()) })
	return ss
}

func ktSortDests(ds []runtime.Destination) []runtime.Destination {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b runtime.Destination) int { return a.AddrPort().Compare(b.AddrPort()) })
	return ds
}

func TestIntegrationIPVSServices(t *testing.T) {
	k := ktOpenIPVS(t)
	services := []runtime.Service{
		{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "wrr"},
		{Protocol: runtime.ProtocolUDP, Addr: netip.MustParseAddr("2001:db8::10"), Port: 53, Scheduler: "rr", Timeout: 300 * time.Second, Netmask: 64, Flags: runtime.FlagOnePacket},
		{FwMark: 1, Family: runtime.FamilyV4, Scheduler: "sh", Flags: runtime.FlagSched1 | runtime.FlagSched2},
		{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.11"), Port: 443, Scheduler: "lc", Timeout: time.Minute, Netmask: 24},
		{FwMark: 2, Family: runtime.FamilyV6, Scheduler: "wlc"},
		{Protocol: runtime.ProtocolSCTP, Addr: netip.MustParseAddr("192.0.2.12"), Port: 9, Scheduler: "rr"},
	}
	for _, s := range services {
		ktMust(t, k.AddService(s))
	}
	list := func() []runtime.Service {
		t.Helper()
		got, err := k.ListServices()
		ktMust(t, err)
		return ktSortServices(got)
	}
	if diff := cmp.Diff(ktSortServices(services), list(), ktCmp); diff != "" {
		t.Errorf("ListServices (-want +got):\n%s", diff)
	}
	got, err := k.GetService(services[1].Key())
	ktMust(t, err)
	if diff := cmp.Diff(services[1].Normalize(), got, ktCmp); diff != "" {
		t.Errorf("GetService (-want +got):\n%s", diff)
	}

	updated := services[0]
	updated.Scheduler, updated.Timeout = "rr", 2*time.Minute
	ktMust(t, k.UpdateService(updated))
	got, err = k.GetService(updated.Key())
	ktMust(t, err)
	if diff := cmp.Diff(updated.Normalize(), got, ktCmp); diff != "" {
		t.Errorf("GetService after update (-want +got):\n%s", diff)
	}

	missing := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.99"), Port: 80, Scheduler: "rr"}
	ktWantErr(t, "duplicate", k.AddService(services[2]), runtime.ErrExist)
	ktWantErr(t, "update missing", k.UpdateService(missing), runtime.ErrNotExist)
	ktWantErr(t, "delete missing", k.DelService(missing.Key()), runtime.ErrNotExist)
	_, err = k.GetService(missing.Key())
	ktWantErr(t, "get missing", err, runtime.ErrNotExist)
	bad := missing
	bad.Scheduler = "nosuchsched"
	ktWantErr(t, "unknown scheduler", k.AddService(bad), runtime.ErrNotExist)

	ktMust(t, k.DelService(services[2].Key()))
	want := ktSortServices([]runtime.Service{updated, services[1], services[3], services[4], services[5]})
	if diff := cmp.Diff(want, list(), ktCmp); diff != "" {
		t.Errorf("ListServices after delete (-want +got):\n%s", diff)
	}
}

func TestIntegrationIPVSDestinations(t *testing.T) {
	k := ktOpenIPVS(t)
	web := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "wrr"}
	web6 := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("2001:db8::10"), Port: 80, Scheduler: "wrr"}
	mark := runtime.Service{FwMark: 1, Family: runtime.FamilyV4, Scheduler: "rr"}
	for _, s := range []runtime.Service{web, web6, mark} {
		ktMust(t, k.AddService(s))
	}
	dests := []runtime.Destination{
		{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Weight: 1, Forward: runtime.ForwardDR},
		{Addr: netip.MustParseAddr("203.0.113.6"), Port: 8080, Weight: 2, Forward: runtime.ForwardNAT, UpperThreshold: 100, LowerThreshold: 10},
		{Addr: netip.MustParseAddr("203.0.113.7"), Port: 80, Weight: 3, Forward: runtime.ForwardTunnel},
	}
	dest6 := runtime.Destination{Addr: netip.MustParseAddr("2001:db8::5"), Port: 80, Weight: 5, Forward: runtime.ForwardDR}
	destMark := runtime.Destination{Addr: netip.MustParseAddr("203.0.113.8"), Weight: 1, Forward: runtime.ForwardDR}
	for _, d := range dests {
		ktMust(t, k.AddDestination(web.Key(), d))
	}
	ktMust(t, k.AddDestination(web6.Key(), dest6))
	ktMust(t, k.AddDestination(mark.Key(), destMark))

	list := func(key runtime.ServiceKey) []runtime.Destination {
		t.Helper()
		got, err := k.ListDestinations(key)
		ktMust(t, err)
		return ktSortDests(got)
	}
	if diff := cmp.Diff(ktSortDests(dests), list(web.Key()), ktCmp); diff != "" {
		t.Errorf("ListDestinations (-want +got):\n%s", diff)
	}

	// A weight change is an in-place update: the destination stays.
	drained := dests[0]
	drained.Weight = 0
	ktMust(t, k.UpdateDestination(web.Key(), drained))
	wantWeb := ktSortDests([]runtime.Destination{drained, dests[1], dests[2]})
	if diff := cmp.Diff(wantWeb, list(web.Key()), ktCmp); diff != "" {
		t.Errorf("ListDestinations after weight 0 (-want +got):\n%s", diff)
	}

	all, err := k.ListAll()
	ktMust(t, err)
	for i := range all {
		all[i].Destinations = ktSortDests(all[i].Destinations)
	}
	slices.SortFunc(all, func(a, b runtime.VirtualServer) int {
		return strings.Compare(a.Service.Key().String(), b.Service.Key().String())
	})
	wantAll := []runtime.VirtualServer{
		{Service: mark.Normalize(), Destinations: []runtime.Destination{destMark}},
		{Service: web.Normalize(), Destinations: wantWeb},
		{Service: web6.Normalize(), Destinations: []runtime.Destination{dest6}},
	}
	if diff := cmp.Diff(wantAll, all, ktCmp); diff != "" {
		t.Errorf("ListAll (-want +got):\n%s", diff)
	}

	missingSvc := runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.99"), Port: 80}
	missingDest := runtime.Destination{Addr: netip.MustParseAddr("203.0.113.99"), Port: 80, Weight: 1, Forward: runtime.ForwardDR}
	ktWantErr(t, "duplicate", k.AddDestination(web.Key(), dests[1]), runtime.ErrExist)
	ktWantErr(t, "missing service", k.AddDestination(missingSvc, missingDest), runtime.ErrNotExist)
	ktWantErr(t, "update missing", k.UpdateDestination(web.Key(), missingDest), runtime.ErrNotExist)
	ktWantErr(t, "delete missing", k.DelDestination(web.Key(), missingDest), runtime.ErrNotExist)
	ktWantErr(t, "other family", k.AddDestination(web.Key(), runtime.Destination{Addr: netip.MustParseAddr("2001:db8::6"), Port: 80, Forward: runtime.ForwardTunnel}), runtime.ErrInvalid)
	_, err = k.ListDestinations(missingSvc)
	ktWantErr(t, "list of missing service", err, runtime.ErrNotExist)

	ktMust(t, k.DelDestination(web.Key(), runtime.Destination{Addr: dests[1].Addr, Port: dests[1].Port}))
	if diff := cmp.Diff(ktSortDests([]runtime.Destination{drained, dests[2]}), list(web.Key()), ktCmp); diff != "" {
		t.Errorf("ListDestinations after delete (-want +got):\n%s", diff)
	}
	ktMust(t, k.DelService(web.Key()))
	_, err = k.ListDestinations(web.Key())
	ktWantErr(t, "destinations of a deleted service", err, runtime.ErrNotExist)
}

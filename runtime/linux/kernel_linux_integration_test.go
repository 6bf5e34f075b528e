//go:build linux

package linux_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/linux"
)

// ktRequireRoot skips a test when not root, or fails it when
// HACFG_REQUIRE_ALL=1.
func ktRequireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
		t.Fatal("needs root (HACFG_REQUIRE_ALL=1)")
	}
	t.Skip("needs root")
}

// ktNetns creates a named network namespace (/var/run/netns/NAME) without
// the ip binary, and deletes it when the test ends.
func ktNetns(t *testing.T) (name, path string) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name = "hacfgt-" + hex.EncodeToString(b[:])

	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("get current netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name) // also switches this thread into it
	if setErr := netns.Set(orig); setErr != nil {
		t.Fatalf("return to the original netns: %v", setErr) // the thread dies with the test
	}
	if err != nil {
		t.Fatalf("create netns %s: %v", name, err)
	}
	ns.Close()
	t.Cleanup(func() {
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	return name, "/var/run/netns/" + name
}

// ktOpen opens a Kernel in a fresh namespace with lo up.
func ktOpen(t *testing.T) (k *linux.Kernel, name, path string) {
	t.Helper()
	ktRequireRoot(t)
	name, path = ktNetns(t)
	var err error
	k, err = linux.Open(path, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { k.Close() })
	ktMust(t, k.SetLinkUp("lo", true))
	return k, name, path
}

func ktMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ktWantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// ktIP runs ip inside the namespace and returns its output; it skips the
// check (returning ok=false) when the ip binary is absent, as in the VM.
func ktIP(t *testing.T, ns string, args ...string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		return "", false
	}
	var out bytes.Buffer
	cmd := exec.Command("ip", append([]string{"-n", ns}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), true
}

func ktContains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("ip output lacks %q:\n%s", w, out)
		}
	}
}

var ktCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// ktVeth creates an up veth pair name/peer in the namespace (veth rather
// than dummy: this host's kernel has no dummy driver).
func ktVeth(t *testing.T, nsPath, name, peer string) {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	ktMust(t, err)
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	ktMust(t, err)
	defer h.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.Flags = net.FlagUp
	ktMust(t, h.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: peer}))
	for _, n := range []string{name, peer} {
		l, err := h.LinkByName(n)
		ktMust(t, err)
		ktMust(t, h.LinkSetUp(l))
	}
}

func ktSortAddrs(as []runtime.Address) []runtime.Address {
	as = slices.Clone(as)
	slices.SortFunc(as, func(a, b runtime.Address) int { return strings.Compare(a.String(), b.String()) })
	return as
}

func TestIntegrationAddrs(t *testing.T) {
	k, ns, path := ktOpen(t)
	ktVeth(t, path, "d0", "d1")

	added := []runtime.Address{
		{Interface: "d0", Prefix: netip.MustParsePrefix("192.0.2.10/24"), Label: "d0:vi1", Protocol: runtime.ProtoKeepalived},
		{Interface: "d0", Prefix: netip.MustParsePrefix("192.0.2.11/24"), Broadcast: netip.MustParseAddr("192.0.2.255")},
		{Interface: "d0", Prefix: netip.MustParsePrefix("198.51.100.1/32"), Scope: runtime.ScopeLink},
		{Interface: "d0", Prefix: netip.MustParsePrefix("2001:db8::10/64"), Protocol: runtime.ProtoKeepalived},
	}
	for _, a := range added {
		ktMust(t, k.AddAddr(a))
	}
	list := func() []runtime.Address {
		t.Helper()
		all, err := k.ListAddrs()
		ktMust(t, err)
		var own []runtime.Address
		sawLinkLocal := false
		for _, a := range all {
			if runtime.IsKernelAddress(a) {
				sawLinkLocal = sawLinkLocal || a.Interface == "d0"
				continue
			}
			own = append(own, a)
		}
		if !sawLinkLocal {
			t.Errorf("no kernel-made address on d0 among %v (want its IPv6 link-local)", all)
		}
		return ktSortAddrs(own)
	}
	if diff := cmp.Diff(ktSortAddrs(added), list(), ktCmp); diff != "" {
		t.Errorf("ListAddrs (-want +got):\n%s", diff)
	}
	if out, ok := ktIP(t, ns, "-o", "addr", "show", "dev", "d0"); ok {
		ktContains(t, out, "inet 192.0.2.10/24 scope global d0:vi1", "inet 192.0.2.11/24 brd 192.0.2.255", "inet 198.51.100.1/32 scope link", "inet6 2001:db8::10/64")
	}

	ktWantErr(t, "duplicate", k.AddAddr(added[0]), runtime.ErrExist)
	ktWantErr(t, "missing device", k.AddAddr(runtime.Address{Interface: "nosuch0", Prefix: netip.MustParsePrefix("192.0.2.20/24")}), runtime.ErrNoDevice)
	ktWantErr(t, "delete missing", k.DelAddr(runtime.Address{Interface: "d0", Prefix: netip.MustParsePrefix("192.0.2.99/24")}), runtime.ErrNotExist)

	// Replace changes the protocol but, as documented, keeps the label;
	// delete ignores the label.
	replaced := added[0]
	replaced.Label, replaced.Protocol = "d0:vi2", 99
	ktMust(t, k.ReplaceAddr(replaced))
	replaced.Label = added[0].Label
	ktMust(t, k.DelAddr(runtime.Address{Interface: "d0", Prefix: added[1].Prefix}))
	ktMust(t, k.DelAddr(runtime.Address{Interface: "d0", Prefix: added[3].Prefix}))
	want := ktSortAddrs([]runtime.Address{replaced, added[2]})
	if diff := cmp.Diff(want, list(), ktCmp); diff != "" {
		t.Errorf("ListAddrs after replace and delete (-want +got):\n%s", diff)
	}
	if out, ok := ktIP(t, ns, "-o", "addr", "show", "dev", "d0"); ok {
		ktContains(t, out, "d0:vi1")
		if strings.Contains(out, "192.0.2.11") || strings.Contains(out, "2001:db8::10") {
			t.Errorf("deleted addresses still shown:\n%s", out)
		}
	}
}

func TestIntegrationRoutes(t *testing.T) {
	k, ns, path := ktOpen(t)
	ktVeth(t, path, "d0", "d1")
	ktMust(t, k.AddAddr(runtime.Address{Interface: "d0", Prefix: netip.MustParsePrefix("192.0.2.10/24")}))
	ktMust(t, k.AddAddr(runtime.Address{Interface: "d0", Prefix: netip.MustParsePrefix("2001:db8::10/64")}))

	routes := []runtime.Route{
		{Table: 100, Dst: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.1"), Interface: "d0", Protocol: runtime.ProtoKeepalived, Metric: 10},
		{Dst: netip.MustParsePrefix("198.51.100.128/25"), Interface: "d0", Scope: runtime.ScopeLink, Src: netip.MustParseAddr("192.0.2.10"), Protocol: runtime.ProtoKeepalived},
		{Table: 100, Type: runtime.RouteBlackhole, Dst: netip.MustParsePrefix("203.0.113.0/24"), Protocol: runtime.ProtoKeepalived},
		{Dst: netip.MustParsePrefix("2001:db8:1::/48"), Gateway: netip.MustParseAddr("2001:db8::1"), Interface: "d0", Protocol: runtime.ProtoKeepalived},
		{Table: 100, Type: runtime.RouteUnreachable, Dst: netip.MustParsePrefix("2001:db8:2::/48"), Metric: 5},
	}
	for _, r := range routes {
		ktMust(t, k.AddRoute(r))
	}
	list := func() []runtime.Route {
		t.Helper()
		all, err := k.ListRoutes()
		ktMust(t, err)
		var own []runtime.Route
		for _, r := range all {
			if !runtime.IsKernelRoute(r) {
				own = append(own, r)
			}
		}
		slices.SortFunc(own, func(a, b runtime.Route) int { return strings.Compare(a.String(), b.String()) })
		return own
	}
	normalized := func(rs ...runtime.Route) []runtime.Route {
		var out []runtime.Route
		for _, r := range rs {
			out = append(out, r.Normalize())
		}
		slices.SortFunc(out, func(a, b runtime.Route) int { return strings.Compare(a.String(), b.String()) })
		return out
	}
	if diff := cmp.Diff(normalized(routes...), list(), ktCmp); diff != "" {
		t.Errorf("ListRoutes (-want +got):\n%s", diff)
	}
	if out, ok := ktIP(t, ns, "route", "show", "table", "100"); ok {
		ktContains(t, out, "198.51.100.0/24 via 192.0.2.1 dev d0 proto keepalived metric 10", "blackhole 203.0.113.0/24 proto keepalived")
	}
	if out, ok := ktIP(t, ns, "-6", "route", "show"); ok {
		ktContains(t, out, "2001:db8:1::/48 via 2001:db8::1 dev d0 proto keepalived metric 1024")
	}

	ktWantErr(t, "duplicate", k.AddRoute(routes[0]), runtime.ErrExist)
	ktWantErr(t, "missing device", k.AddRoute(runtime.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Interface: "nosuch0"}), runtime.ErrNoDevice)
	ktWantErr(t, "unreachable gateway", k.AddRoute(runtime.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("203.0.113.1")}), runtime.ErrUnreachable)
	ktWantErr(t, "delete missing", k.DelRoute(runtime.Route{Table: 101, Dst: netip.MustParsePrefix("198.51.100.0/24")}), runtime.ErrNotExist)

	// Replace moves the gateway; delete by identity only.
	moved := routes[0]
	moved.Gateway = netip.MustParseAddr("192.0.2.2")
	ktMust(t, k.ReplaceRoute(moved))
	ktMust(t, k.DelRoute(runtime.Route{Dst: routes[1].Dst}))
	ktMust(t, k.DelRoute(routes[2]))
	ktMust(t, k.DelRoute(routes[3]))
	if diff := cmp.Diff(normalized(moved, routes[4]), list(), ktCmp); diff != "" {
		t.Errorf("ListRoutes after replace and delete (-want +got):\n%s", diff)
	}
}

func TestIntegrationRules(t *testing.T) {
	k, ns, _ := ktOpen(t)
	rules := []runtime.Rule{
		{Priority: 100, Src: netip.MustParsePrefix("192.0.2.10/32"), Table: 100},
		{Priority: 101, Family: runtime.FamilyV4, FwMark: 1, FwMask: 0xff, IifName: "d0", Table: 101},
		{Priority: 102, Dst: netip.MustParsePrefix("2001:db8::/32"), OifName: "d1", Table: 102, Invert: true},
	}
	for _, r := range rules {
		ktMust(t, k.AddRule(r))
	}
	list := func() (own, kernel []runtime.Rule) {
		t.Helper()
		all, err := k.ListRules()
		ktMust(t, err)
		for _, r := range all {
			if runtime.IsKernelRule(r) {
				kernel = append(kernel, r)
			} else {
				own = append(own, r)
			}
		}
		return own, kernel
	}
	var want []runtime.Rule
	for _, r := range rules {
		want = append(want, r.Normalize())
	}
	own, kernel := list()
	if diff := cmp.Diff(want, own, ktCmp); diff != "" {
		t.Errorf("ListRules (-want +got):\n%s", diff)
	}
	if len(kernel) != 5 {
		t.Errorf("kernel default rules: got %d (%v), want 5", len(kernel), kernel)
	}
	if out, ok := ktIP(t, ns, "rule", "show"); ok {
		ktContains(t, out, "100:\tfrom 192.0.2.10 lookup 100", "101:\tfrom all fwmark 0x1/0xff iif d0 [detached] lookup 101")
	}
	if out, ok := ktIP(t, ns, "-6", "rule", "show"); ok {
		ktContains(t, out, "102:\tnot from all to 2001:db8::/32 oif d1 [detached] lookup 102")
	}

	ktWantErr(t, "duplicate", k.AddRule(rules[0]), runtime.ErrExist)
	ktMust(t, k.DelRule(rules[1]))
	ktWantErr(t, "delete missing", k.DelRule(rules[1]), runtime.ErrNotExist)
	own, _ = list()
	if diff := cmp.Diff([]runtime.Rule{want[0], want[2]}, own, ktCmp); diff != "" {
		t.Errorf("ListRules after delete (-want +got):\n%s", diff)
	}
}

func TestIntegrationLinks(t *testing.T) {
	k, ns, path := ktOpen(t)
	ktVeth(t, path, "d0", "d1")
	mac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x33}
	ktMust(t, k.AddLink(runtime.Link{Name: "vrrp.51", Kind: runtime.KindMacvlan, Parent: "d0", MacvlanMode: runtime.MacvlanPrivate, HardwareAddr: mac, Up: true}))
	ktMust(t, k.AddLink(runtime.Link{Name: "vrrp.52", Kind: runtime.KindMacvlan, Parent: "d0"}))

	byName := func() map[string]runtime.Link {
		t.Helper()
		ls, err := k.ListLinks()
		ktMust(t, err)
		m := make(map[string]runtime.Link)
		for _, l := range ls {
			l.Index = 0
			if l.Name != "vrrp.51" {
				l.HardwareAddr = nil // random
			}
			m[l.Name] = l
		}
		return m
	}
	want := map[string]runtime.Link{
		"lo":      {Name: "lo", Up: true, HardwareAddr: nil, Kind: ""},
		"d0":      {Name: "d0", Up: true, Kind: "veth", Parent: "d1"},
		"d1":      {Name: "d1", Up: true, Kind: "veth", Parent: "d0"},
		"vrrp.51": {Name: "vrrp.51", Up: true, HardwareAddr: mac, Kind: runtime.KindMacvlan, Parent: "d0", MacvlanMode: runtime.MacvlanPrivate},
		"vrrp.52": {Name: "vrrp.52", Kind: runtime.KindMacvlan, Parent: "d0", MacvlanMode: runtime.MacvlanVEPA},
	}
	if diff := cmp.Diff(want, byName()); diff != "" {
		t.Errorf("ListLinks (-want +got):\n%s", diff)
	}
	if out, ok := ktIP(t, ns, "-d", "link", "show", "vrrp.51"); ok {
		ktContains(t, out, "link/ether 00:00:5e:00:01:33", "macvlan mode private", "vrrp.51@d0")
	}

	ktWantErr(t, "duplicate", k.AddLink(runtime.Link{Name: "d0", Kind: runtime.KindDummy}), runtime.ErrExist)
	ktWantErr(t, "missing parent", k.AddLink(runtime.Link{Name: "vrrp.53", Kind: runtime.KindMacvlan, Parent: "nosuch0"}), runtime.ErrNoDevice)
	ktWantErr(t, "unsupported kind", k.AddLink(runtime.Link{Name: "br0", Kind: "bridge"}), runtime.ErrUnsupported)
	ktWantErr(t, "delete missing", k.DelLink("nosuch0"), runtime.ErrNoDevice)
	ktWantErr(t, "set missing up", k.SetLinkUp("nosuch0", true), runtime.ErrNoDevice)

	ktMust(t, k.SetLinkUp("vrrp.51", false))
	ktMust(t, k.SetLinkUp("vrrp.52", true))
	ktMust(t, k.DelLink("d0"))                                                             // takes its macvlans and its veth peer along
	if diff := cmp.Diff(map[string]runtime.Link{"lo": want["lo"]}, byName()); diff != "" { // d1 goes with its peer
		t.Errorf("ListLinks after deleting the parent (-want +got):\n%s", diff)
	}
}

// TestIntegrationNoIPVS checks the error on a kernel without IPVS (this
// development host's); elsewhere it skips.
func TestIntegrationNoIPVS(t *testing.T) {
	ktRequireRoot(t)
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this kernel has IPVS")
	}
	k, _, _ := ktOpen(t)
	_, err := k.ListServices()
	ktWantErr(t, "ListServices", err, runtime.ErrUnsupported)
	if err == nil || !strings.Contains(err.Error(), "kernel has no IP Virtual Server support (is ip_vs loaded?)") {
		t.Errorf("ListServices error %q lacks the explanation", err)
	}
	ktWantErr(t, "IPVSError", k.IPVSError(), runtime.ErrUnsupported)
	ktWantErr(t, "AddService", k.AddService(runtime.Service{FwMark: 1, Family: runtime.FamilyV4, Scheduler: "rr"}), runtime.ErrUnsupported)
	// Addresses still work.
	ktMust(t, k.SetLinkUp("lo", true))
}

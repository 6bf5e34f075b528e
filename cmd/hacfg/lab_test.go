//go:build linux

package main

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hacfg/hacfg/bench"
	"github.com/hacfg/hacfg/runtime/agent"
)

// The lab tests run the real `hacfg run` binary, and keepalived, in a LAN
// of network namespaces built by bench.Lab (shared with the failover
// benchmark).

// labBinary skips (or fails under HACFG_REQUIRE_ALL=1) without root and
// the commands, and builds hacfg.
func labBinary(t *testing.T, cmds ...string) string {
	t.Helper()
	bench.RequireLab(t, append([]string{"go", "ping"}, cmds...)...)
	return bench.BuildHacfg(t)
}

// labVIP is the service address the lab tests move around.
const labVIP = "192.0.2.10/24"

var labVIPAddr = netip.MustParseAddr("192.0.2.10")

// labMode is a VRRP flavour the interop tests run in.
type labMode struct {
	name     string
	version  int
	interval time.Duration
	auth     string
	unicast  bool
	// window is how long a pair must hold still to count as stable.
	window time.Duration
}

var labModes = []labMode{
	{name: "v2 multicast", version: 2, interval: time.Second, auth: "hacfg01", window: 2500 * time.Millisecond},
	{name: "v2 unicast", version: 2, interval: time.Second, auth: "hacfg01", unicast: true, window: 2500 * time.Millisecond},
	{name: "v3 multicast", version: 3, interval: 100 * time.Millisecond, window: 1500 * time.Millisecond},
	{name: "v3 unicast", version: 3, interval: 100 * time.Millisecond, unicast: true, window: 1500 * time.Millisecond},
}

// instance is VI_1 (VRID 51, labVIP) in the mode for a host at a priority;
// peer is the other host (for unicast).
func (m labMode) instance(prio int, self, peer *bench.Host) bench.VRRP {
	v := bench.VRRP{Name: "VI_1", VRID: 51, Version: m.version, Interval: m.interval, Priority: prio,
		VIPs: []string{labVIP}, AuthPass: m.auth}
	if m.unicast {
		v.UnicastSrc, v.UnicastPeers = self.IP4, []netip.Addr{peer.IP4}
	}
	return v
}

// labStill checks that for window the hacfg instance keeps its state and
// its last transition, and that keepalived (if any) logs no state change.
func labStill(t *testing.T, window time.Duration, a *bench.Hacfg, inst string, k *bench.Keepalived) {
	t.Helper()
	before := a.Instance(inst)
	kaBefore := 0
	if k != nil {
		kaBefore = k.Count("Entering ")
	}
	deadline := time.Now().Add(window)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if now := a.Instance(inst); now.State != before.State {
			t.Fatalf("%s: %s went %s → %s within the stable window: %+v", a.Name, inst, before.State, now.State, now.LastTransition)
		}
	}
	after := a.Instance(inst)
	if !sameTransition(before.LastTransition, after.LastTransition) {
		t.Fatalf("%s: %s flapped: last transition %+v, then %+v", a.Name, inst, before.LastTransition, after.LastTransition)
	}
	if k != nil {
		if n := k.Count("Entering "); n != kaBefore {
			t.Fatalf("%s changed state %d times within the stable window; log:\n%s", k.Name, n-kaBefore, k.Log())
		}
	}
}

func sameTransition(a, b *agent.Transition) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.From == b.From && a.To == b.To && a.At.Equal(b.At) && a.Reason == b.Reason
}

// labOnlyVIP checks that of the hosts exactly owner holds the address.
func labOnlyVIP(t *testing.T, addr string, owner *bench.Host, hosts ...*bench.Host) {
	t.Helper()
	for _, h := range hosts {
		if got, want := h.HasAddr(addr), h == owner; got != want {
			t.Fatalf("%s holds %s: %v, want %v; addresses:\n%s", h.Name, addr, got, want, h.Addrs())
		}
	}
}

// labCluster is one cluster file for two hacfg nodes, lb1 (priority 150,
// initial MASTER) and lb2 (100), with VI_1 (VRID 51, VRRPv3, 100 ms
// adverts) holding vip.
func labCluster(vip string) string {
	return `node "lb1" {}
node "lb2" {}

vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  version           = 3
  advert_int        = "100ms"
  virtual_ipaddress = ["` + vip + `"]

  node "lb1" {
    state    = "MASTER"
    priority = 150
  }
  node "lb2" {
    priority = 100
  }
}
`
}

// labV3 is a VRRPv3 100 ms instance for the hacfg-only tests.
func labV3(name string, vrid, prio int, vips ...string) bench.VRRP {
	return bench.VRRP{Name: name, VRID: vrid, Version: 3, Interval: 100 * time.Millisecond, Priority: prio, VIPs: vips}
}

// labLinkLocal is the EUI-64 link-local address of a MAC.
func labLinkLocal(mac net.HardwareAddr) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	copy(a[8:], []byte{mac[0] ^ 2, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]})
	return netip.AddrFrom16(a)
}

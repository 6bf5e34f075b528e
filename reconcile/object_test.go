package reconcile

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hacfg/hacfg/runtime"
)

// TestAddServiceObjects: the batched constructor gives the same objects,
// IDs included, as newService and newDestination one by one.
func TestAddServiceObjects(t *testing.T) {
	dests := []runtime.Destination{
		{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Weight: 3, Forward: runtime.ForwardDR},
		{Addr: netip.MustParseAddr("::ffff:203.0.113.6"), Port: 8080, Weight: 0, Forward: runtime.ForwardNAT, UpperThreshold: 10},
		{Addr: netip.MustParseAddr("2001:db8::5"), Port: 443, Weight: 1, ActiveConns: 4},
		{Addr: netip.MustParseAddr("fe80::1%eth0"), Port: 1},
		{Port: 7}, // no address: not valid, but must not change its ID
	}
	for _, tt := range []struct {
		name string
		svc  runtime.Service
	}{
		{"tcp", runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "wrr"}},
		{"udp6", runtime.Service{Protocol: runtime.ProtocolUDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53, Netmask: 128}},
		{"mapped", runtime.Service{Protocol: runtime.ProtocolSCTP, Addr: netip.MustParseAddr("::ffff:192.0.2.1"), Port: 9}},
		{"fwmark", runtime.Service{FwMark: 7, Family: runtime.FamilyV6, Protocol: runtime.ProtocolTCP, Port: 80}},
		{"no destinations", runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.11"), Port: 80}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds := dests
			if tt.name == "no destinations" {
				ds = nil
			}
			want := State{}
			so := newService("virtual_server.x", tt.svc)
			want.add(so)
			for _, d := range ds {
				want.add(newDestination("virtual_server.x", so.Service.Key(), d))
			}
			got := State{}
			objs := addServiceObjects(got, "virtual_server.x", tt.svc, ds)
			if len(objs) != len(ds) {
				t.Errorf("returned %d destinations, want %d", len(objs), len(ds))
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("(-one by one +batched):\n%s", diff)
			}
		})
	}
}

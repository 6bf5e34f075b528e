package fake

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
	web  = runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: addr("192.0.2.10"), Port: 80}
	web6 = runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: addr("2001:db8::10"), Port: 80}
	mark = runtime.ServiceKey{FwMark: 1, Family: runtime.FamilyV4}
	rs1  = runtime.Destination{Addr: addr("203.0.113.5"), Port: 80, Weight: 1, Forward: runtime.ForwardDR}
	rs2  = runtime.Destination{Addr: addr("203.0.113.6"), Port: 80, Weight: 2, Forward: runtime.ForwardNAT}
	vip  = runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24")}
)

func svc(k runtime.ServiceKey, sched string) runtime.Service {
	return runtime.Service{Protocol: k.Protocol, Addr: k.Addr, Port: k.Port, FwMark: k.FwMark, Family: k.Family, Scheduler: sched}
}

type step func(*Kernel) error

func lines(s ...string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s, "\n") + "\n"
}

// TestKernel runs step sequences: every step but the last must succeed,
// the last must fail with wantErr (or succeed when nil), and the state
// afterwards must print as want.
func TestKernel(t *testing.T) {
	tests := []struct {
		name    string
		links   []string
		steps   []step
		wantErr error
		want    string
	}{
		{
			name:  "new kernel",
			links: []string{"eth0", "eth1"},
			want:  lines("ip link add eth0 up", "ip link add eth1 up"),
		},
		// Addresses.
		{
			name:  "add address with label",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24"), Label: "eth0:1"})
				},
			},
			want: lines("ip link add eth0 up", "ip addr add 192.0.2.10/24 dev eth0 label eth0:1"),
		},
		{
			name:  "duplicate address",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24"), Label: "eth0:9"})
				},
			},
			wantErr: runtime.ErrExist,
			want:    lines("ip link add eth0 up", "ip addr add 192.0.2.10/24 dev eth0"),
		},
		{
			name:  "same v4 address other prefix length is another address",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/32")})
				},
			},
			want: lines("ip link add eth0 up", "ip addr add 192.0.2.10/24 dev eth0", "ip addr add 192.0.2.10/32 dev eth0"),
		},
		{
			name:  "same v6 address other prefix length is a duplicate",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("2001:db8::10/64")})
				},
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("2001:db8::10/128")})
				},
			},
			wantErr: runtime.ErrExist,
			want:    lines("ip link add eth0 up", "ip addr add 2001:db8::10/64 dev eth0"),
		},
		{
			name:  "address on missing interface",
			links: []string{"eth0"},
			steps: []step{func(k *Kernel) error {
				return k.AddAddr(runtime.Address{Interface: "eth9", Prefix: pfx("192.0.2.10/24")})
			}},
			wantErr: runtime.ErrNoDevice,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "label must start with interface name",
			links: []string{"eth0"},
			steps: []step{func(k *Kernel) error {
				return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24"), Label: "vip"})
			}},
			wantErr: runtime.ErrInvalid,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "label on v6",
			links: []string{"eth0"},
			steps: []step{func(k *Kernel) error {
				return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("2001:db8::1/64"), Label: "eth0:1"})
			}},
			wantErr: runtime.ErrInvalid,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "replace address updates only the protocol",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.ReplaceAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24"), Label: "eth0:vi1", Broadcast: addr("192.0.2.255"), Protocol: 18})
				},
			},
			want: lines("ip link add eth0 up", "ip addr add 192.0.2.10/24 dev eth0 proto 18"),
		},
		{
			name:  "delete address",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.DelAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/24")})
				},
			},
			want: lines("ip link add eth0 up"),
		},
		{
			name:    "delete missing address",
			links:   []string{"eth0"},
			steps:   []step{func(k *Kernel) error { return k.DelAddr(vip) }},
			wantErr: runtime.ErrNotExist,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "delete address with wrong prefix length",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.DelAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.10/32")})
				},
			},
			wantErr: runtime.ErrNotExist,
			want:    lines("ip link add eth0 up", "ip addr add 192.0.2.10/24 dev eth0"),
		},
		// Routes.
		{
			name:  "route via gateway in a table",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Table: 100, Dst: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1"), Interface: "eth0", Protocol: 18})
				},
			},
			want: lines("ip link add eth0 up", "ip addr add 192.0.2.10/24 dev eth0", "ip route add 198.51.100.0/24 via 192.0.2.1 dev eth0 proto 18 table 100"),
		},
		{
			name:  "route gateway resolves the device",
			links: []string{"eth0", "eth1"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "eth1", Prefix: pfx("192.0.2.10/24")})
				},
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1")})
				},
			},
			want: lines("ip link add eth0 up", "ip link add eth1 up", "ip addr add 192.0.2.10/24 dev eth1", "ip route add 198.51.100.0/24 via 192.0.2.1 dev eth1"),
		},
		{
			name:  "route gateway unreachable",
			links: []string{"eth0"},
			steps: []step{func(k *Kernel) error {
				return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1"), Interface: "eth0"})
			}},
			wantErr: runtime.ErrUnreachable,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "route on missing device",
			links: []string{"eth0"},
			steps: []step{func(k *Kernel) error {
				return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth9"})
			}},
			wantErr: runtime.ErrNoDevice,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "route on down device",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.SetLinkUp("eth0", false) },
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0"})
				},
			},
			wantErr: runtime.ErrUnreachable,
			want:    lines("ip link add eth0"),
		},
		{
			name:  "route with foreign source",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0", Src: addr("192.0.2.10")})
				},
			},
			wantErr: runtime.ErrInvalid,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "duplicate route",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0"})
				},
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Type: "blackhole", Dst: pfx("198.51.100.0/24"), Table: 254})
				},
			},
			wantErr: runtime.ErrExist,
			want:    lines("ip link add eth0 up", "ip route add 198.51.100.0/24 dev eth0"),
		},
		{
			name:  "same destination other metric",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0"})
				},
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Type: "blackhole", Dst: pfx("198.51.100.0/24"), Metric: 10})
				},
			},
			want: lines("ip link add eth0 up", "ip route add 198.51.100.0/24 dev eth0", "ip route add blackhole 198.51.100.0/24 metric 10"),
		},
		{
			name:  "replace route",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0"})
				},
				func(k *Kernel) error {
					return k.ReplaceRoute(runtime.Route{Type: "unreachable", Dst: pfx("198.51.100.0/24")})
				},
			},
			want: lines("ip link add eth0 up", "ip route add unreachable 198.51.100.0/24"),
		},
		{
			name:  "blackhole with device",
			links: []string{"eth0"},
			steps: []step{func(k *Kernel) error {
				return k.AddRoute(runtime.Route{Type: "blackhole", Dst: pfx("198.51.100.0/24"), Interface: "eth0"})
			}},
			wantErr: runtime.ErrInvalid,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "v6 route gets metric 1024",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("2001:db8:1::/48"), Gateway: addr("fe80::1"), Interface: "eth0"})
				},
			},
			want: lines("ip link add eth0 up", "ip route add 2001:db8:1::/48 via fe80::1 dev eth0 metric 1024"),
		},
		{
			name:  "v6 link-local gateway needs device",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("2001:db8:1::/48"), Gateway: addr("fe80::1")})
				},
			},
			wantErr: runtime.ErrInvalid,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "delete route",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0", Protocol: 18})
				},
				func(k *Kernel) error { return k.DelRoute(runtime.Route{Dst: pfx("198.51.100.0/24")}) },
			},
			want: lines("ip link add eth0 up"),
		},
		{
			name:  "delete route with other gateway",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1")})
				},
				func(k *Kernel) error {
					return k.DelRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.2")})
				},
			},
			wantErr: runtime.ErrNotExist,
			want:    lines("ip link add eth0 up", "ip addr add 192.0.2.10/24 dev eth0", "ip route add 198.51.100.0/24 via 192.0.2.1 dev eth0"),
		},
		{
			name:    "delete missing route",
			links:   []string{"eth0"},
			steps:   []step{func(k *Kernel) error { return k.DelRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Table: 7}) }},
			wantErr: runtime.ErrNotExist,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:  "deleting the source address removes the route",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0", Src: addr("192.0.2.10")})
				},
				func(k *Kernel) error { return k.DelAddr(vip) },
			},
			want: lines("ip link add eth0 up"),
		},
		{
			name:  "link down removes routes and v6 addresses",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error { return k.AddAddr(vip) },
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("2001:db8::10/64")})
				},
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0"})
				},
				func(k *Kernel) error { return k.SetLinkUp("eth0", false) },
			},
			want: lines("ip link add eth0", "ip addr add 192.0.2.10/24 dev eth0"),
		},
		// Rules.
		{
			name:  "add rules",
			links: []string{"eth0"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddRule(runtime.Rule{Priority: 100, Src: pfx("192.0.2.10/32"), Table: 100})
				},
				func(k *Kernel) error {
					return k.AddRule(runtime.Rule{Priority: 101, Family: runtime.FamilyV6, FwMark: 1, IifName: "eth0", Table: 101})
				},
			},
			want: lines("ip link add eth0 up", "ip rule add -6 priority 101 from all fwmark 0x1/0xffffffff iif eth0 lookup 101", "ip rule add priority 100 from 192.0.2.10/32 lookup 100"),
		},
		{
			name: "duplicate rule",
			steps: []step{
				func(k *Kernel) error {
					return k.AddRule(runtime.Rule{Priority: 100, Src: pfx("192.0.2.10/32"), Table: 100})
				},
				func(k *Kernel) error {
					return k.AddRule(runtime.Rule{Priority: 100, Src: pfx("192.0.2.10/32"), Table: 100})
				},
			},
			wantErr: runtime.ErrExist,
			want:    lines("ip rule add priority 100 from 192.0.2.10/32 lookup 100"),
		},
		{
			name:    "rule without family",
			steps:   []step{func(k *Kernel) error { return k.AddRule(runtime.Rule{Priority: 100, Table: 100}) }},
			wantErr: runtime.ErrInvalid,
		},
		{
			name: "delete rule",
			steps: []step{
				func(k *Kernel) error {
					return k.AddRule(runtime.Rule{Priority: 100, Src: pfx("192.0.2.10/32"), Table: 100})
				},
				func(k *Kernel) error {
					return k.DelRule(runtime.Rule{Priority: 100, Src: pfx("192.0.2.10/32"), Table: 100})
				},
			},
		},
		{
			name: "delete missing rule",
			steps: []step{func(k *Kernel) error {
				return k.DelRule(runtime.Rule{Priority: 100, Src: pfx("192.0.2.10/32"), Table: 100})
			}},
			wantErr: runtime.ErrNotExist,
		},
		// Links.
		{
			name:  "macvlan",
			links: []string{"eth0"},
			steps: []step{func(k *Kernel) error {
				return k.AddLink(runtime.Link{Name: "vrrp.51", Kind: "macvlan", Parent: "eth0", MacvlanMode: "private", HardwareAddr: net.HardwareAddr{0, 0, 0x5e, 0, 1, 51}, Up: true})
			}},
			want: lines("ip link add eth0 up", "ip link add vrrp.51 link eth0 address 00:00:5e:00:01:33 type macvlan mode private up"),
		},
		{
			name:  "macvlan without parent device",
			links: []string{"eth0"},
			steps: []step{func(k *Kernel) error {
				return k.AddLink(runtime.Link{Name: "vrrp.51", Kind: "macvlan", Parent: "eth9"})
			}},
			wantErr: runtime.ErrNoDevice,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:    "duplicate link",
			links:   []string{"eth0"},
			steps:   []step{func(k *Kernel) error { return k.AddLink(runtime.Link{Name: "eth0", Kind: "dummy"}) }},
			wantErr: runtime.ErrExist,
			want:    lines("ip link add eth0 up"),
		},
		{
			name:    "long link name",
			steps:   []step{func(k *Kernel) error { return k.AddLink(runtime.Link{Name: "0123456789abcdef", Kind: "dummy"}) }},
			wantErr: runtime.ErrInvalid,
		},
		{
			name:  "delete link removes addresses, routes and macvlans",
			links: []string{"eth0", "eth1"},
			steps: []step{
				func(k *Kernel) error {
					return k.AddLink(runtime.Link{Name: "vrrp.51", Kind: "macvlan", Parent: "eth0", Up: true})
				},
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "vrrp.51", Prefix: pfx("192.0.2.10/24")})
				},
				func(k *Kernel) error {
					return k.AddAddr(runtime.Address{Interface: "eth0", Prefix: pfx("192.0.2.11/24")})
				},
				func(k *Kernel) error {
					return k.AddRoute(runtime.Route{Dst: pfx("198.51.100.0/24"), Interface: "eth0"})
				},
				func(k *Kernel) error { return k.DelLink("eth0") },
			},
			want: lines("ip link add eth1 up"),
		},
		{
			name:    "delete missing link",
			steps:   []step{func(k *Kernel) error { return k.DelLink("eth0") }},
			wantErr: runtime.ErrNoDevice,
		},
		{
			name:    "set missing link up",
			steps:   []step{func(k *Kernel) error { return k.SetLinkUp("eth0", true) }},
			wantErr: runtime.ErrNoDevice,
		},
		// IPVS.
		{
			name: "services and destinations",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.AddDestination(web, rs1) },
				func(k *Kernel) error { return k.AddDestination(web, rs2) },
				func(k *Kernel) error {
					s := svc(web6, "rr")
					s.Timeout = 300 * time.Second
					return k.AddService(s)
				},
				func(k *Kernel) error {
					return k.AddDestination(web6, runtime.Destination{Addr: addr("2001:db8::5"), Port: 8080, Weight: 5, Forward: runtime.ForwardTunnel})
				},
				func(k *Kernel) error { return k.AddService(svc(mark, "sh")) },
				func(k *Kernel) error {
					return k.AddDestination(mark, runtime.Destination{Addr: addr("203.0.113.7"), Weight: 1, Forward: runtime.ForwardDR})
				},
			},
			want: lines(
				"ipvsadm -A -f 1 -s sh",
				"ipvsadm -A -t 192.0.2.10:80 -s wrr",
				"ipvsadm -A -t [2001:db8::10]:80 -s rr -p 300",
				"ipvsadm -a -f 1 -r 203.0.113.7:0 -g -w 1",
				"ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 1",
				"ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.6:80 -m -w 2",
				"ipvsadm -a -t [2001:db8::10]:80 -r [2001:db8::5]:8080 -i -w 5",
			),
		},
		{
			name: "duplicate service",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.AddService(svc(web, "rr")) },
			},
			wantErr: runtime.ErrExist,
			want:    lines("ipvsadm -A -t 192.0.2.10:80 -s wrr"),
		},
		{
			name:    "unknown scheduler",
			steps:   []step{func(k *Kernel) error { return k.AddService(svc(web, "best")) }},
			wantErr: runtime.ErrNotExist,
		},
		{
			name:    "fwmark service without family",
			steps:   []step{func(k *Kernel) error { return k.AddService(runtime.Service{FwMark: 1, Scheduler: "rr"}) }},
			wantErr: runtime.ErrInvalid,
		},
		{
			name: "update service keeps destinations",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.AddDestination(web, rs1) },
				func(k *Kernel) error {
					s := svc(web, "wlc")
					s.Timeout, s.Netmask = time.Minute, 24
					return k.UpdateService(s)
				},
			},
			want: lines("ipvsadm -A -t 192.0.2.10:80 -s wlc -p 60 -M 255.255.255.0", "ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 1"),
		},
		{
			name:    "update missing service",
			steps:   []step{func(k *Kernel) error { return k.UpdateService(svc(web, "rr")) }},
			wantErr: runtime.ErrNotExist,
		},
		{
			name: "delete service deletes destinations",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.AddDestination(web, rs1) },
				func(k *Kernel) error { return k.DelService(web) },
			},
		},
		{
			name:    "delete missing service",
			steps:   []step{func(k *Kernel) error { return k.DelService(mark) }},
			wantErr: runtime.ErrNotExist,
		},
		{
			name:    "destination for missing service",
			steps:   []step{func(k *Kernel) error { return k.AddDestination(web, rs1) }},
			wantErr: runtime.ErrNotExist,
		},
		{
			name: "duplicate destination",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.AddDestination(web, rs1) },
				func(k *Kernel) error {
					return k.AddDestination(web, runtime.Destination{Addr: rs1.Addr, Port: rs1.Port, Weight: 7})
				},
			},
			wantErr: runtime.ErrExist,
			want:    lines("ipvsadm -A -t 192.0.2.10:80 -s wrr", "ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 1"),
		},
		{
			name: "v6 destination of v4 service needs tunnel",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error {
					return k.AddDestination(web, runtime.Destination{Addr: addr("2001:db8::5"), Port: 80, Forward: runtime.ForwardDR})
				},
			},
			wantErr: runtime.ErrInvalid,
			want:    lines("ipvsadm -A -t 192.0.2.10:80 -s wrr"),
		},
		{
			name: "thresholds inverted",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error {
					return k.AddDestination(web, runtime.Destination{Addr: rs1.Addr, Port: 80, LowerThreshold: 10, UpperThreshold: 5})
				},
			},
			wantErr: runtime.ErrInvalid,
			want:    lines("ipvsadm -A -t 192.0.2.10:80 -s wrr"),
		},
		{
			name: "negative weight",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error {
					return k.AddDestination(web, runtime.Destination{Addr: rs1.Addr, Port: 80, Weight: -1})
				},
			},
			wantErr: runtime.ErrInvalid,
			want:    lines("ipvsadm -A -t 192.0.2.10:80 -s wrr"),
		},
		{
			name: "update destination weight",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.AddDestination(web, rs1) },
				func(k *Kernel) error {
					d := rs1
					d.Weight = 0
					return k.UpdateDestination(web, d)
				},
			},
			want: lines("ipvsadm -A -t 192.0.2.10:80 -s wrr", "ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 0"),
		},
		{
			name: "update missing destination",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.UpdateDestination(web, rs1) },
			},
			wantErr: runtime.ErrNotExist,
			want:    lines("ipvsadm -A -t 192.0.2.10:80 -s wrr"),
		},
		{
			name: "delete destination",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.AddDestination(web, rs1) },
				func(k *Kernel) error {
					return k.DelDestination(web, runtime.Destination{Addr: rs1.Addr, Port: rs1.Port})
				},
			},
			want: lines("ipvsadm -A -t 192.0.2.10:80 -s wrr"),
		},
		{
			name: "delete missing destination",
			steps: []step{
				func(k *Kernel) error { return k.AddService(svc(web, "wrr")) },
				func(k *Kernel) error { return k.DelDestination(web, rs1) },
			},
			wantErr: runtime.ErrNotExist,
			want:    lines("ipvsadm -A -t 192.0.2.10:80 -s wrr"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKernel(tt.links...)
			for i, s := range tt.steps {
				err := s(k)
				if i < len(tt.steps)-1 {
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					continue
				}
				if tt.wantErr == nil && err != nil {
					t.Fatalf("last step: %v", err)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("last step: error %v, want %v", err, tt.wantErr)
				}
			}
			if diff := cmp.Diff(tt.want, k.String()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

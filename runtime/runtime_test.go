package runtime_test

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
)

var (
	vip4 = netip.MustParseAddr("192.0.2.10")
	vip6 = netip.MustParseAddr("2001:db8::1")
	rip4 = netip.MustParseAddr("203.0.113.5")
)

func TestServiceKeyString(t *testing.T) {
	tests := []struct {
		name string
		key  runtime.ServiceKey
		want string
	}{
		{"tcp v4", runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: vip4, Port: 80}, "tcp/192.0.2.10:80"},
		{"udp v6", runtime.ServiceKey{Protocol: runtime.ProtocolUDP, Addr: vip6, Port: 53}, "udp/[2001:db8::1]:53"},
		{"sctp", runtime.ServiceKey{Protocol: runtime.ProtocolSCTP, Addr: vip4, Port: 9}, "sctp/192.0.2.10:9"},
		{"fwmark v4", runtime.ServiceKey{FwMark: 1, Family: runtime.FamilyV4}, "fwmark/1/inet"},
		{"fwmark v6", runtime.ServiceKey{FwMark: 7, Family: runtime.FamilyV6}, "fwmark/7/inet6"},
		{"fwmark ignores addr", runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: vip4, Port: 80, FwMark: 3, Family: runtime.FamilyV4}, "fwmark/3/inet"},
		{"mapped address", runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("::ffff:192.0.2.10"), Port: 80}, "tcp/192.0.2.10:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.key.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			back, err := runtime.ParseServiceKey(tt.want)
			if err != nil {
				t.Fatalf("ParseServiceKey(%q): %v", tt.want, err)
			}
			if diff := cmp.Diff(tt.key.Normalize(), back, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("ParseServiceKey(%q) (-want +got):\n%s", tt.want, diff)
			}
		})
	}
}

func TestParseServiceKeyErrors(t *testing.T) {
	for _, s := range []string{"", "tcp", "icmp/192.0.2.1:1", "tcp/192.0.2.1", "fwmark/0/inet", "fwmark/x/inet", "fwmark/1/ipx", "fwmark/1"} {
		if k, err := runtime.ParseServiceKey(s); err == nil {
			t.Errorf("ParseServiceKey(%q) = %v, want error", s, k)
		}
	}
}

func TestDestinationKey(t *testing.T) {
	tests := []struct {
		name string
		svc  runtime.ServiceKey
		dst  runtime.Destination
		want string
	}{
		{"tcp", runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: vip4, Port: 80}, runtime.Destination{Addr: rip4, Port: 80}, "tcp/192.0.2.10:80/203.0.113.5:80"},
		{"v6", runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: vip6, Port: 443}, runtime.Destination{Addr: netip.MustParseAddr("2001:db8::5"), Port: 8443}, "tcp/[2001:db8::1]:443/[2001:db8::5]:8443"},
		{"fwmark", runtime.ServiceKey{FwMark: 1, Family: runtime.FamilyV4}, runtime.Destination{Addr: rip4}, "fwmark/1/inet/203.0.113.5:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.dst.Key(tt.svc)
			if got := k.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			back, err := runtime.ParseDestinationKey(tt.want)
			if err != nil {
				t.Fatalf("ParseDestinationKey: %v", err)
			}
			if back != k {
				t.Errorf("ParseDestinationKey(%q) = %+v, want %+v", tt.want, back, k)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"address", runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/24"), Label: "eth0:1"}.String(), "192.0.2.10/24 dev eth0 label eth0:1"},
		{"address default label", runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/24"), Label: "eth0"}.String(), "192.0.2.10/24 dev eth0"},
		{"address all", runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/24"), Scope: runtime.ScopeLink, Broadcast: netip.MustParseAddr("192.0.2.255"), Protocol: 18}.String(), "192.0.2.10/24 dev eth0 scope link brd 192.0.2.255 proto 18"},
		{"route", runtime.Route{Table: 100, Dst: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.1"), Interface: "eth0", Protocol: 18}.String(), "198.51.100.0/24 via 192.0.2.1 dev eth0 proto 18 table 100"},
		{"route main unicast", runtime.Route{Table: 254, Type: "unicast", Dst: netip.MustParsePrefix("198.51.100.7/24"), Interface: "eth0", Scope: runtime.ScopeLink, Src: vip4, Metric: 5}.String(), "198.51.100.0/24 dev eth0 scope link src 192.0.2.10 metric 5"},
		{"route blackhole", runtime.Route{Type: "blackhole", Dst: netip.MustParsePrefix("2001:db8:1::/48")}.String(), "blackhole 2001:db8:1::/48 metric 1024"},
		{"rule", runtime.Rule{Priority: 100, Src: netip.MustParsePrefix("192.0.2.0/24"), Table: 100}.String(), "priority 100 from 192.0.2.0/24 lookup 100"},
		{"rule v6 all", runtime.Rule{Priority: 5, Family: runtime.FamilyV6, Dst: netip.MustParsePrefix("2001:db8::/32"), FwMark: 1, FwMask: 0xff, IifName: "eth0", OifName: "eth1", Invert: true, Table: 7}.String(), "-6 priority 5 not from all to 2001:db8::/32 fwmark 0x1/0xff iif eth0 oif eth1 lookup 7"},
		{"link macvlan", runtime.Link{Name: "vrrp.51", Parent: "eth0", HardwareAddr: net.HardwareAddr{0, 0, 0x5e, 0, 1, 0x33}, Kind: "macvlan", MacvlanMode: "private", Up: true}.String(), "vrrp.51 link eth0 address 00:00:5e:00:01:33 type macvlan mode private up"},
		{"service", runtime.Service{Protocol: runtime.ProtocolTCP, Addr: vip4, Port: 80, Scheduler: "wrr", Timeout: 300 * time.Second, Netmask: 24, Flags: runtime.FlagOnePacket | runtime.FlagSched2 | runtime.FlagPersistent}.String(), "-t 192.0.2.10:80 -s wrr -p 300 -M 255.255.255.0 -o -b flag-2"},
		{"service v6 netmask", runtime.Service{Protocol: runtime.ProtocolUDP, Addr: vip6, Port: 53, Scheduler: "rr", Timeout: time.Minute, Netmask: 64}.String(), "-u [2001:db8::1]:53 -s rr -p 60 -M 64"},
		{"service full netmask", runtime.Service{Protocol: runtime.ProtocolTCP, Addr: vip4, Port: 80, Scheduler: "rr", Netmask: 32}.String(), "-t 192.0.2.10:80 -s rr"},
		{"service fwmark6", runtime.Service{FwMark: 2, Family: runtime.FamilyV6, Scheduler: "sh"}.String(), "-f 2 -6 -s sh"},
		{"destination", runtime.Destination{Addr: rip4, Port: 80, Weight: 1, Forward: runtime.ForwardDR}.String(), "-r 203.0.113.5:80 -g -w 1"},
		{"destination nat thresholds", runtime.Destination{Addr: rip4, Port: 8080, Weight: 0, Forward: runtime.ForwardNAT, UpperThreshold: 100, LowerThreshold: 10}.String(), "-r 203.0.113.5:8080 -m -w 0 -x 100 -y 10"},
		{"destination tun", runtime.Destination{Addr: rip4, Port: 80, Weight: 3, Forward: runtime.ForwardTunnel}.String(), "-r 203.0.113.5:80 -i -w 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsKernel(t *testing.T) {
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"v6 link-local address", runtime.IsKernelAddress(runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("fe80::1/64")}), true},
		{"lo address", runtime.IsKernelAddress(runtime.Address{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")}), true},
		{"vip", runtime.IsKernelAddress(runtime.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/24")}), false},
		{"local table route", runtime.IsKernelRoute(runtime.Route{Table: runtime.TableLocal, Type: "local", Dst: netip.MustParsePrefix("192.0.2.10/32")}), true},
		{"prefix route", runtime.IsKernelRoute(runtime.Route{Table: runtime.TableMain, Dst: netip.MustParsePrefix("192.0.2.0/24"), Protocol: runtime.ProtoKernel}), true},
		{"static route", runtime.IsKernelRoute(runtime.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Protocol: runtime.ProtoKeepalived}), false},
		{"rule local", runtime.IsKernelRule(runtime.Rule{Priority: 0, Family: runtime.FamilyV4, Table: runtime.TableLocal}), true},
		{"rule main v6", runtime.IsKernelRule(runtime.Rule{Priority: 32766, Family: runtime.FamilyV6, Table: runtime.TableMain}), true},
		{"rule default", runtime.IsKernelRule(runtime.Rule{Priority: 32767, Family: runtime.FamilyV4, Table: runtime.TableDefault}), true},
		{"rule with selector", runtime.IsKernelRule(runtime.Rule{Priority: 32766, Family: runtime.FamilyV4, Table: runtime.TableMain, FwMark: 1}), false},
		{"own rule", runtime.IsKernelRule(runtime.Rule{Priority: 100, Family: runtime.FamilyV4, Table: 100}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestIPv4Mask(t *testing.T) {
	for bits, want := range map[int]string{0: "0.0.0.0", 8: "255.0.0.0", 24: "255.255.255.0", 25: "255.255.255.128", 32: "255.255.255.255"} {
		if got := runtime.IPv4Mask(bits).String(); got != want {
			t.Errorf("IPv4Mask(%d) = %s, want %s", bits, got, want)
		}
	}
}

func TestErrorsDistinct(t *testing.T) {
	errs := []error{runtime.ErrExist, runtime.ErrNotExist, runtime.ErrNoDevice, runtime.ErrUnsupported, runtime.ErrPermission, runtime.ErrInvalid, runtime.ErrUnreachable}
	for i, a := range errs {
		for j, b := range errs {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, i != j)
			}
		}
	}
}

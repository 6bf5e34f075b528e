package linux

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

var routeTypeNames = map[int]string{
	unix.RTN_UNICAST:     "",
	unix.RTN_LOCAL:       runtime.RouteLocal,
	unix.RTN_BROADCAST:   runtime.RouteBroadcast,
	unix.RTN_ANYCAST:     runtime.RouteAnycast,
	unix.RTN_MULTICAST:   runtime.RouteMulticast,
	unix.RTN_BLACKHOLE:   runtime.RouteBlackhole,
	unix.RTN_UNREACHABLE: runtime.RouteUnreachable,
	unix.RTN_PROHIBIT:    runtime.RouteProhibit,
	unix.RTN_THROW:       runtime.RouteThrow,
}

func routeType(name string) (int, bool) {
	if name == runtime.RouteUnicast {
		name = ""
	}
	for t, n := range routeTypeNames {
		if n == name {
			return t, true
		}
	}
	return 0, false
}

// ListRoutes returns every route of both families in every table. A
// multipath route is reported with its first next hop.
//
// Equivalent to: ip route show table all; ip -6 route show table all
func (k *Kernel) ListRoutes() ([]runtime.Route, error) {
	var out []runtime.Route
	err := retryDump(func() error {
		out = out[:0]
		names, err := k.linkNames()
		if err != nil {
			return err
		}
		rs, err := k.nl.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return err
		}
		for _, r := range rs {
			out = append(out, fromNetlinkRoute(r, names))
		}
		return nil
	})
	if err != nil {
		return nil, wrap("route: list", err)
	}
	return out, nil
}

func fromNetlinkRoute(r netlink.Route, names map[int]string) runtime.Route {
	out := runtime.Route{
		Table:    r.Table,
		Protocol: int(r.Protocol),
		Metric:   r.Priority,
		Scope:    runtime.Scope(r.Scope),
		Type:     routeTypeNames[r.Type],
	}
	if t, ok := routeTypeNames[r.Type]; ok {
		out.Type = t
	}
	if r.Dst != nil {
		ip, _ := netip.AddrFromSlice(r.Dst.IP)
		if r.Family == unix.AF_INET {
			ip = ip.Unmap()
		}
		ones, _ := r.Dst.Mask.Size()
		out.Dst = netip.PrefixFrom(ip, ones)
	} else if r.Family == unix.AF_INET6 {
		out.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	} else {
		out.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	switch out.Type {
	case runtime.RouteBlackhole, runtime.RouteUnreachable, runtime.RouteProhibit, runtime.RouteThrow:
		out.Src = addrOf(r.Src)
		return out.Normalize() // no next hop; IPv6 reports lo
	}
	gw, link := r.Gw, r.LinkIndex
	if len(r.MultiPath) > 0 {
		gw, link = r.MultiPath[0].Gw, r.MultiPath[0].LinkIndex
	}
	out.Gateway = addrOf(gw)
	out.Src = addrOf(r.Src)
	out.Interface = names[link]
	return out.Normalize()
}

func addrOf(ip net.IP) netip.Addr {
	if ip == nil {
		return netip.Addr{}
	}
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// toNetlinkRoute converts r; for a deletion the scope is left open (as
// iproute2 does) so that any scope matches.
func (k *Kernel) toNetlinkRoute(r runtime.Route, del bool) (*netlink.Route, error) {
	t, ok := routeType(r.Type)
	if !ok || !r.Dst.IsValid() {
		return nil, unix.EINVAL
	}
	nr := &netlink.Route{
		Dst:      prefixNet(r.Dst),
		Table:    r.Table,
		Protocol: netlink.RouteProtocol(r.Protocol),
		Priority: r.Metric,
		Scope:    netlink.Scope(r.Scope),
		Type:     t,
		Family:   unix.AF_INET,
	}
	if r.Dst.Addr().Is6() {
		nr.Family = unix.AF_INET6
	}
	if del {
		nr.Scope = netlink.SCOPE_NOWHERE
	}
	if r.Gateway.IsValid() {
		nr.Gw = r.Gateway.AsSlice()
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.Interface != "" {
		idx, err := k.linkIndex(r.Interface)
		if err != nil {
			return nil, err
		}
		nr.LinkIndex = idx
	}
	return nr, nil
}

// AddRoute adds a route. Table 0 means main.
//
// Equivalent to: ip route add 198.51.100.0/24 via 192.0.2.1 dev eth0 proto 18 table 100 metric 10
func (k *Kernel) AddRoute(r runtime.Route) error {
	return k.routeChange("add", r, k.nl.RouteAdd)
}

// ReplaceRoute adds a route or replaces the one with the same table,
// destination and metric.
//
// Equivalent to: ip route replace 198.51.100.0/24 via 192.0.2.1 dev eth0 table 100
func (k *Kernel) ReplaceRoute(r runtime.Route) error {
	return k.routeChange("replace", r, k.nl.RouteReplace)
}

// DelRoute deletes a route. Type must match; gateway, interface, source
// and protocol must match when set.
//
// Equivalent to: ip route del 198.51.100.0/24 table 100
func (k *Kernel) DelRoute(r runtime.Route) error {
	return k.routeChange("del", r, k.nl.RouteDel)
}

func (k *Kernel) routeChange(verb string, r runtime.Route, f func(*netlink.Route) error) error {
	anyProto := r.Protocol == runtime.ProtoUnspec
	r = r.Normalize()
	op := "route: " + verb + " " + r.String()
	nr, err := k.toNetlinkRoute(r, verb == "del")
	if err == nil && verb == "del" && anyProto {
		nr.Protocol = 0
	}
	if err == nil {
		err = f(nr)
	}
	if err == nil {
		k.log.Debug("kernel change", "cmd", "ip "+op)
	}
	return wrap(op, err)
}

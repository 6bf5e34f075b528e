package fake

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/hacfg/hacfg/runtime"
)

// routeKey is a route's identity within the kernel: table, destination and
// metric (the fake does not model TOS or IPv6 source routing).
type routeKey struct {
	table  int
	dst    netip.Prefix
	metric int
}

func keyOf(r runtime.Route) routeKey { return routeKey{r.Table, r.Dst, r.Metric} }

var routeTypes = map[string]bool{
	"": true, runtime.RouteLocal: true, runtime.RouteBroadcast: true, runtime.RouteAnycast: true,
	runtime.RouteMulticast: true, runtime.RouteBlackhole: true, runtime.RouteUnreachable: true,
	runtime.RouteProhibit: true, runtime.RouteThrow: true,
}

// ListRoutes returns every route in every table, kernel-made ones
// included, sorted by table, family, destination and metric.
func (k *Kernel) ListRoutes() ([]runtime.Route, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("ListRoutes", "", nil); err != nil {
		return nil, err
	}
	out := make([]runtime.Route, 0, len(k.routes))
	for _, r := range k.routes {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b runtime.Route) int {
		return cmp.Or(
			cmp.Compare(a.Table, b.Table),
			cmp.Compare(a.Family(), b.Family()),
			a.Dst.Addr().Compare(b.Dst.Addr()),
			cmp.Compare(a.Dst.Bits(), b.Dst.Bits()),
			cmp.Compare(a.Metric, b.Metric))
	})
	return out, nil
}

// AddRoute adds a route. Like the kernel, it rejects a duplicate (same
// table, destination and metric: ErrExist), a missing interface
// (ErrNoDevice), an interface that is down or a gateway that no route on
// the interface reaches (ErrUnreachable), a source address that is not
// assigned to any interface, a gateway of the wrong family, an IPv6
// link-local gateway without an interface, and a blackhole, unreachable,
// prohibit or throw route with a gateway or interface (ErrInvalid). An
// IPv6 route without a metric gets 1024, and a route with a gateway but
// no interface gets the interface that reaches the gateway.
func (k *Kernel) AddRoute(r runtime.Route) error {
	return k.putRoute("AddRoute", "add", r, false)
}

// ReplaceRoute adds a route or replaces the one with the same table,
// destination and metric.
func (k *Kernel) ReplaceRoute(r runtime.Route) error {
	return k.putRoute("ReplaceRoute", "replace", r, true)
}

func (k *Kernel) putRoute(op, verb string, r runtime.Route, replace bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	r = r.Normalize()
	if err := k.begin(op, r.ID(), r); err != nil {
		return err
	}
	r, err := k.checkRoute(r)
	if err != nil {
		return fmt.Errorf("route: %s %s: %w", verb, r, err)
	}
	if _, ok := k.routes[keyOf(r)]; ok && !replace {
		return fmt.Errorf("route: %s %s: %w", verb, r, runtime.ErrExist)
	}
	k.routes[keyOf(r)] = r
	k.record("ip route " + verb + " " + r.String())
	return nil
}

func (k *Kernel) checkRoute(r runtime.Route) (runtime.Route, error) {
	if !r.Dst.IsValid() {
		return r, errnoLike(runtime.ErrInvalid, "no destination")
	}
	if !routeTypes[r.Type] {
		return r, errnoLike(runtime.ErrInvalid, "unknown route type "+r.Type)
	}
	fam := r.Family()
	if r.Gateway.IsValid() && runtime.FamilyOf(r.Gateway) != fam {
		return r, errnoLike(runtime.ErrInvalid, "gateway of another family")
	}
	if r.Src.IsValid() {
		if runtime.FamilyOf(r.Src) != fam {
			return r, errnoLike(runtime.ErrInvalid, "source of another family")
		}
		if !slices.ContainsFunc(k.addrs, func(a runtime.Address) bool { return a.Prefix.Addr() == r.Src }) {
			return r, errnoLike(runtime.ErrInvalid, "invalid prefsrc address "+r.Src.String())
		}
	}
	switch r.Type {
	case runtime.RouteBlackhole, runtime.RouteUnreachable, runtime.RouteProhibit, runtime.RouteThrow:
		if r.Gateway.IsValid() || r.Interface != "" {
			return r, errnoLike(runtime.ErrInvalid, r.Type+" route with a gateway or device")
		}
		return r, nil
	}
	if r.Interface != "" {
		l, ok := k.links[r.Interface]
		if !ok {
			return r, errnoLike(runtime.ErrNoDevice, "interface "+r.Interface)
		}
		if !l.Up {
			return r, errnoLike(runtime.ErrUnreachable, "nexthop device "+r.Interface+" is not up")
		}
	}
	if !r.Gateway.IsValid() {
		if r.Interface == "" {
			return r, errnoLike(runtime.ErrInvalid, "route needs a device or a gateway")
		}
		return r, nil
	}
	if r.Gateway.Is6() && r.Gateway.IsLinkLocalUnicast() {
		if r.Interface == "" {
			return r, errnoLike(runtime.ErrInvalid, "link-local gateway needs a device")
		}
		return r, nil
	}
	dev := k.reach(r.Table, r.Gateway, r.Interface)
	if dev == "" {
		return r, errnoLike(runtime.ErrUnreachable, "gateway "+r.Gateway.String()+" unreachable")
	}
	r.Interface = dev
	return r, nil
}

// reach returns the up interface (dev itself when given) through which a
// gateway-less unicast route in table or main covers gw, or "".
func (k *Kernel) reach(table int, gw netip.Addr, dev string) string {
	best, bestBits := "", -1
	for _, r := range k.routes {
		if (r.Table != table && r.Table != runtime.TableMain) || r.Type != "" || r.Gateway.IsValid() || r.Interface == "" {
			continue
		}
		if dev != "" && r.Interface != dev {
			continue
		}
		if l := k.links[r.Interface]; l == nil || !l.Up {
			continue
		}
		if r.Dst.Contains(gw) && r.Dst.Bits() > bestBits {
			best, bestBits = r.Interface, r.Dst.Bits()
		}
	}
	return best
}

// DelRoute deletes the route with r's table, destination and metric.
// Like the kernel it also requires the given type, and the gateway,
// interface and protocol when they are set, to match (ErrNotExist).
func (k *Kernel) DelRoute(r runtime.Route) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	anyProto := r.Protocol == runtime.ProtoUnspec
	r = r.Normalize()
	if err := k.begin("DelRoute", r.ID(), r); err != nil {
		return err
	}
	old, ok := k.routes[keyOf(r)]
	if !ok || old.Type != r.Type ||
		(r.Gateway.IsValid() && r.Gateway != old.Gateway) ||
		(r.Interface != "" && r.Interface != old.Interface) ||
		(!anyProto && r.Protocol != old.Protocol) {
		return fmt.Errorf("route: del %s: %w", r, runtime.ErrNotExist)
	}
	delete(k.routes, keyOf(r))
	k.record("ip route del " + old.String())
	return nil
}

// addKernelRoutes adds the local and prefix routes the kernel makes for an
// address on an up link.
func (k *Kernel) addKernelRoutes(a runtime.Address) {
	if l := k.links[a.Interface]; l == nil || !l.Up {
		return
	}
	ip := a.Prefix.Addr()
	local := runtime.Route{Table: runtime.TableLocal, Type: runtime.RouteLocal, Dst: netip.PrefixFrom(ip, ip.BitLen()),
		Interface: a.Interface, Protocol: runtime.ProtoKernel, Scope: runtime.ScopeHost, Src: ip}
	prefix := runtime.Route{Table: runtime.TableMain, Dst: a.Prefix.Masked(), Interface: a.Interface,
		Protocol: runtime.ProtoKernel, Scope: runtime.ScopeLink, Src: ip}
	if ip.Is6() {
		local.Scope, local.Src = runtime.ScopeUniverse, netip.Addr{}
		prefix.Scope, prefix.Src, prefix.Metric = runtime.ScopeUniverse, netip.Addr{}, 256
	}
	if _, ok := k.routes[keyOf(local)]; !ok {
		k.routes[keyOf(local)] = local
	}
	if a.Prefix.Bits() < ip.BitLen() {
		if _, ok := k.routes[keyOf(prefix)]; !ok {
			k.routes[keyOf(prefix)] = prefix
		}
	}
}

// delKernelRoutes removes what the kernel removes with an address: its
// local route, its prefix route when no other address on the interface is
// in the prefix (otherwise an IPv4 prefix route's source moves to that
// address), and, for IPv4, routes using it as source unless another
// interface holds it (IPv6 only clears their source).
func (k *Kernel) delKernelRoutes(a runtime.Address) {
	ip := a.Prefix.Addr()
	holders := func(pred func(runtime.Address) bool) []runtime.Address {
		var out []runtime.Address
		for _, b := range k.addrs {
			if pred(b) {
				out = append(out, b)
			}
		}
		return out
	}
	sameIface := holders(func(b runtime.Address) bool { return b.Interface == a.Interface && b.Prefix.Addr() == ip })
	if len(sameIface) == 0 {
		lk := routeKey{runtime.TableLocal, netip.PrefixFrom(ip, ip.BitLen()), 0}
		if r, ok := k.routes[lk]; ok && r.Protocol == runtime.ProtoKernel && r.Interface == a.Interface {
			delete(k.routes, lk)
		}
	}
	pk := routeKey{runtime.TableMain, a.Prefix.Masked(), 0}
	if ip.Is6() {
		pk.metric = 256
	}
	if r, ok := k.routes[pk]; ok && r.Protocol == runtime.ProtoKernel && r.Interface == a.Interface {
		rest := holders(func(b runtime.Address) bool { return b.Interface == a.Interface && b.Prefix.Masked() == pk.dst })
		switch {
		case len(rest) == 0:
			delete(k.routes, pk)
		case ip.Is4() && r.Src == ip:
			r.Src = rest[0].Prefix.Addr()
			k.routes[pk] = r
		}
	}
	if len(holders(func(b runtime.Address) bool { return b.Prefix.Addr() == ip })) > 0 {
		return
	}
	for key, r := range k.routes {
		if r.Src != ip {
			continue
		}
		if ip.Is4() {
			delete(k.routes, key)
		} else {
			r.Src = netip.Addr{}
			k.routes[key] = r
		}
	}
}

// flushRoutes removes every route through dev.
func (k *Kernel) flushRoutes(dev string) {
	for key, r := range k.routes {
		if r.Interface == dev {
			delete(k.routes, key)
		}
	}
}

package runtime

import (
	"net/netip"
	"strconv"
	"strings"
)

// Routing table numbers.
const (
	TableUnspec  = 0 // on input, means TableMain
	TableDefault = 253
	TableMain    = 254
	TableLocal   = 255
)

// Route protocol numbers (RTPROT_*): who installed a route.
const (
	ProtoUnspec     = 0
	ProtoRedirect   = 1
	ProtoKernel     = 2
	ProtoBoot       = 3 // iproute2's default
	ProtoStatic     = 4
	ProtoKeepalived = 18 // keepalived's marker, also hacfg's
)

// DefaultIPv6Metric is the metric the kernel gives an IPv6 route added
// without one (IP6_RT_PRIO_USER).
const DefaultIPv6Metric = 1024

// Route types, as iproute2 names them. The empty string means unicast.
const (
	RouteUnicast     = "unicast"
	RouteLocal       = "local"
	RouteBroadcast   = "broadcast"
	RouteAnycast     = "anycast"
	RouteMulticast   = "multicast"
	RouteBlackhole   = "blackhole"
	RouteUnreachable = "unreachable"
	RouteProhibit    = "prohibit"
	RouteThrow       = "throw"
)

// Route is a single-path route.
//
// Within a table a route is identified by Dst and Metric (see ID). On
// input Table 0 means main, Type "" unicast and Protocol 0 boot;
// implementations report routes in Normalize form.
type Route struct {
	Table     int
	Dst       netip.Prefix
	Gateway   netip.Addr
	Src       netip.Addr
	Interface string
	Protocol  int
	Metric    int
	Scope     Scope
	Type      string
}

// Normalize returns r with defaults made explicit the way implementations
// report them: Table 0 becomes TableMain, Type "unicast" becomes "",
// Protocol 0 becomes ProtoBoot (as with iproute2), Dst is masked, an IPv6
// route without a metric (other than a kernel route) gets the kernel's
// default metric 1024.
func (r Route) Normalize() Route {
	if r.Table == TableUnspec {
		r.Table = TableMain
	}
	if r.Dst.Addr().Is6() && r.Metric == 0 && r.Protocol != ProtoKernel {
		r.Metric = DefaultIPv6Metric
	}
	if r.Type == RouteUnicast {
		r.Type = ""
	}
	if r.Protocol == ProtoUnspec {
		r.Protocol = ProtoBoot
	}
	r.Dst = r.Dst.Masked()
	return r
}

// Family returns the route's address family.
func (r Route) Family() Family { return FamilyOf(r.Dst.Addr()) }

// ID returns the route's stable identity: table, destination and metric,
// "254/198.51.100.0/24/0".
func (r Route) ID() string {
	r = r.Normalize()
	return strconv.Itoa(r.Table) + "/" + r.Dst.String() + "/" + strconv.Itoa(r.Metric)
}

// String renders r in `ip route add` syntax without the command:
// "198.51.100.0/24 via 192.0.2.1 dev eth0 proto 18 table 100 metric 10".
// Defaults (unicast, table main, protocol boot, scope global, metric 0)
// are left out.
func (r Route) String() string {
	r = r.Normalize()
	var b strings.Builder
	if r.Type != "" {
		b.WriteString(r.Type)
		b.WriteString(" ")
	}
	b.WriteString(r.Dst.String())
	if r.Gateway.IsValid() {
		b.WriteString(" via ")
		b.WriteString(r.Gateway.String())
	}
	if r.Interface != "" {
		b.WriteString(" dev ")
		b.WriteString(r.Interface)
	}
	if r.Protocol != ProtoBoot {
		b.WriteString(" proto ")
		b.WriteString(strconv.Itoa(r.Protocol))
	}
	if r.Table != TableMain {
		b.WriteString(" table ")
		b.WriteString(strconv.Itoa(r.Table))
	}
	if r.Scope != ScopeUniverse {
		b.WriteString(" scope ")
		b.WriteString(r.Scope.String())
	}
	if r.Src.IsValid() {
		b.WriteString(" src ")
		b.WriteString(r.Src.String())
	}
	if r.Metric != 0 {
		b.WriteString(" metric ")
		b.WriteString(strconv.Itoa(r.Metric))
	}
	return b.String()
}

// Routes manages routes in every table.
type Routes interface {
	// ListRoutes returns every route of both families in every table,
	// kernel-made ones included (see IsKernelRoute).
	ListRoutes() ([]Route, error)
	// AddRoute adds a route. ErrExist if a route with the same ID exists,
	// ErrNoDevice if the interface does not exist, ErrUnreachable if the
	// gateway is not reachable or the device is down.
	AddRoute(Route) error
	// ReplaceRoute adds a route or replaces the one with the same ID.
	ReplaceRoute(Route) error
	// DelRoute deletes the route with r's ID. Its type must match, and its
	// gateway, interface and protocol when given (a zero Protocol matches
	// any). ErrNotExist if absent.
	DelRoute(Route) error
}

// IsKernelRoute reports whether the kernel creates r itself, so that a
// reconciler should neither expect nor delete it: routes in the local
// table, routes with protocol kernel (prefix routes of addresses, IPv6
// link-local and multicast routes).
func IsKernelRoute(r Route) bool {
	r = r.Normalize()
	return r.Table == TableLocal || r.Protocol == ProtoKernel
}

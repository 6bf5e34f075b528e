package reconcile

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/schema"
)

// Owner names. Every desired object belongs to one owner: a VRRP instance,
// a virtual server, or the static blocks.
const ownerStatic = "static"

// InstanceOwner is the owner name of a VRRP instance's objects.
func InstanceOwner(name string) string { return "vrrp_instance." + name }

// VMACOwner is the owner name of an instance's VMAC interface. It is
// apart from the instance's addresses because the interface exists
// whatever the VRRP state (the speaker sends on it).
func VMACOwner(name string) string { return "vmac." + name }

// VMACName is the name of an instance's VMAC interface: vmac_name, or
// keepalived's default vrrp.VRID.
func VMACName(in *schema.VRRPInstance) string {
	if in.VMACName != "" {
		return in.VMACName
	}
	return fmt.Sprintf("vrrp.%d", in.VirtualRouterID)
}

// VMAC is the virtual router MAC address of RFC 5798 §7.3:
// 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6.
func VMAC(in *schema.VRRPInstance) net.HardwareAddr {
	fam := byte(1)
	if in.Family() == 6 {
		fam = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, byte(in.VirtualRouterID)}
}

// VirtualServerOwner is the owner name of a virtual server's objects.
func VirtualServerOwner(name string) string { return "virtual_server." + name }

// Scope limits a reconcile to some owners. The zero Scope is everything.
// Naming instances, virtual servers or the static blocks limits it to
// those; Skip leaves owners alone either way (the agent skips the instances
// whose VRRP state is not known yet, so a restart adopts their addresses
// instead of tearing them down).
type Scope struct {
	Instances      []string `json:"instances,omitempty"`
	VirtualServers []string `json:"virtual_servers,omitempty"`
	Static         bool     `json:"static,omitempty"`
	Skip           []string `json:"skip,omitempty"`
}

// All reports whether the scope names no owners, so that it covers every
// owner (but those in Skip), including owners gone from the config.
func (s Scope) All() bool { return len(s.Instances) == 0 && len(s.VirtualServers) == 0 && !s.Static }

// Has reports whether owner is in the scope.
func (s Scope) Has(owner string) bool {
	if slices.Contains(s.Skip, owner) {
		return false
	}
	if s.All() {
		return true
	}
	switch {
	case owner == ownerStatic:
		return s.Static
	case strings.HasPrefix(owner, "vrrp_instance."):
		return slices.Contains(s.Instances, strings.TrimPrefix(owner, "vrrp_instance."))
	case strings.HasPrefix(owner, "vmac."):
		return slices.Contains(s.Instances, strings.TrimPrefix(owner, "vmac."))
	case strings.HasPrefix(owner, "virtual_server."):
		return slices.Contains(s.VirtualServers, strings.TrimPrefix(owner, "virtual_server."))
	}
	return false
}

// hasVirtualServer is Has(VirtualServerOwner(name)) without building the
// owner name: Desired asks it for every virtual server of the config.
func (s Scope) hasVirtualServer(name string) bool {
	if !s.All() && !slices.Contains(s.VirtualServers, name) {
		return false
	}
	return len(s.Skip) == 0 || !slices.Contains(s.Skip, VirtualServerOwner(name))
}

// owners lists the owner names a scope that names owners stands for.
func (s Scope) owners() []string {
	var out []string
	for _, n := range s.Instances {
		out = append(out, InstanceOwner(n), VMACOwner(n))
	}
	for _, n := range s.VirtualServers {
		out = append(out, VirtualServerOwner(n))
	}
	if s.Static {
		out = append(out, ownerStatic)
	}
	return out
}

// hasIPVS reports whether the scope may touch IPVS.
func (s Scope) hasIPVS() bool { return s.All() || len(s.VirtualServers) > 0 }

// hasNet reports whether the scope may touch addresses, routes and rules.
func (s Scope) hasNet() bool { return s.All() || len(s.Instances) > 0 || s.Static }

// Desired computes the kernel objects cfg (resolved for one node with
// schema.Resolve) asks for under facts, limited to scope. It also returns
// the assumptions it made where facts were missing, for the plan to state.
func Desired(cfg *schema.Config, facts runtime.Facts, scope Scope) (State, []string, error) {
	st := State{}
	if scope.All() {
		// A whole large table: one map of the right size, not a map
		// that grows (and rehashes) twenty times.
		n := len(cfg.StaticAddresses) + len(cfg.StaticRoutes) + len(cfg.StaticRules)
		for _, in := range cfg.Instances {
			n += 1 + len(in.VirtualAddresses) + len(in.ExcludedAddrs) + len(in.VirtualRoutes) + len(in.VirtualRules)
		}
		for _, vs := range cfg.VirtualServers {
			n += 2 + len(vs.RealServers)
		}
		st = make(State, n)
	}
	var assumed []string
	var errs []string
	if scope.Has(ownerStatic) {
		for _, a := range cfg.StaticAddresses {
			o, err := addressObject(ownerStatic, a, "")
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			st.add(o)
		}
		for _, r := range cfg.StaticRoutes {
			o, err := routeObject(ownerStatic, r, "")
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			st.add(o)
		}
		for _, r := range cfg.StaticRules {
			o, err := ruleObject(ownerStatic, r)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			st.add(o)
		}
	}
	for _, in := range cfg.Instances {
		owner := InstanceOwner(in.Name)
		iface := in.Interface
		if in.UseVMAC {
			iface = VMACName(in)
			if scope.Has(VMACOwner(in.Name)) {
				st.add(newLink(VMACOwner(in.Name), runtime.Link{Name: iface, Kind: runtime.KindMacvlan, Parent: in.Interface,
					MacvlanMode: runtime.MacvlanPrivate, HardwareAddr: VMAC(in), Up: true}))
			}
		}
		if !scope.Has(owner) {
			continue
		}
		role, ok := facts.VRRP[in.Name]
		if !ok {
			role = runtime.RoleBackup
			if in.State == "MASTER" {
				role = runtime.RoleMaster
			}
			assumed = append(assumed, fmt.Sprintf("vrrp_instance %s is %s (its configured initial state; no live VRRP state)", in.Name, role))
		}
		if role != runtime.RoleMaster {
			continue
		}
		for _, list := range [][]schema.VirtualAddress{in.VirtualAddresses, in.ExcludedAddrs} {
			for _, a := range list {
				o, err := addressObject(owner, a, iface)
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				// A new master's IPv6 addresses must work at once: no
				// duplicate address detection, as keepalived adds them.
				if a.Address.Addr().Is6() {
					o.Address.NoDAD = true
				}
				o.Dynamic = true
				st.add(o)
			}
		}
		for _, r := range in.VirtualRoutes {
			o, err := routeObject(owner, r, iface)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			o.Dynamic = true
			st.add(o)
		}
		for _, r := range in.VirtualRules {
			o, err := ruleObject(owner, r)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			o.Dynamic = true
			st.add(o)
		}
	}
	groups := map[string]*schema.VirtualServerGroup{}
	for _, g := range cfg.VirtualGroups {
		groups[g.Name] = g
	}
	healthAssumed := false
	for _, vs := range cfg.VirtualServers {
		if !scope.All() && len(scope.VirtualServers) == 0 {
			break // nothing of IPVS in scope
		}
		if !scope.hasVirtualServer(vs.Name) {
			continue
		}
		owner := VirtualServerOwner(vs.Name)
		if !facts.HasHealth() && len(vs.RealServers) > 0 {
			healthAssumed = true
		}
		if err := virtualServerObjects(st, owner, vs, groups, facts); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if healthAssumed {
		assumed = append(assumed, "every real server is healthy (no live health checks)")
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("desired state: %s", strings.Join(errs, "; "))
	}
	return st, assumed, nil
}

var scopes = map[string]runtime.Scope{
	"": runtime.ScopeUniverse, "global": runtime.ScopeUniverse, "site": runtime.ScopeSite,
	"link": runtime.ScopeLink, "host": runtime.ScopeHost, "nowhere": runtime.ScopeNowhere,
}

func addressObject(owner string, a schema.VirtualAddress, defIface string) (*Object, error) {
	ra := runtime.Address{Interface: a.Dev, Prefix: a.Address, Label: a.Label, Scope: scopes[a.Scope], NoDAD: a.NoDAD}
	if ra.Interface == "" {
		ra.Interface = defIface
	}
	if ra.Interface == "" {
		return nil, fmt.Errorf("%s: address %s has no interface (give dev)", owner, a.Address)
	}
	switch a.Broadcast {
	case "", "-":
	case "+":
		if a.Address.Addr().Is4() && a.Address.Bits() < 31 {
			ra.Broadcast = broadcastOf(a.Address)
		}
	default:
		b, err := netip.ParseAddr(a.Broadcast)
		if err != nil {
			return nil, fmt.Errorf("%s: address %s: brd %q is not an address", owner, a.Address, a.Broadcast)
		}
		ra.Broadcast = b
	}
	return newAddress(owner, ra), nil
}

func broadcastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func routeObject(owner string, r schema.Route, defIface string) (*Object, error) {
	rr := runtime.Route{Table: r.Table, Gateway: r.Via, Src: r.Src, Interface: r.Dev, Protocol: r.Protocol,
		Metric: r.Metric, Scope: scopes[r.Scope], Type: r.Type}
	if rr.Protocol == 0 {
		rr.Protocol = runtime.ProtoKeepalived
	}
	if rr.Interface == "" && !r.Via.IsValid() && (r.Type == "" || r.Type == "unicast") {
		rr.Interface = defIface
	}
	switch r.To {
	case "default", "":
		if r.Via.Is6() || r.Src.Is6() {
			rr.Dst = netip.MustParsePrefix("::/0")
		} else {
			rr.Dst = netip.MustParsePrefix("0.0.0.0/0")
		}
	default:
		p, err := netip.ParsePrefix(r.To)
		if err != nil {
			a, aerr := netip.ParseAddr(r.To)
			if aerr != nil {
				return nil, fmt.Errorf("%s: route to %q: not a prefix", owner, r.To)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		rr.Dst = p
	}
	return newRoute(owner, rr), nil
}

func ruleObject(owner string, r schema.Rule) (*Object, error) {
	rr := runtime.Rule{Priority: r.Priority, Table: r.Table, FwMark: uint32(r.FwMark), IifName: r.Iif, OifName: r.Oif, Invert: r.Not}
	switch r.Family {
	case "inet":
		rr.Family = runtime.FamilyV4
	case "inet6":
		rr.Family = runtime.FamilyV6
	}
	for _, x := range []struct {
		s   string
		dst *netip.Prefix
	}{{r.From, &rr.Src}, {r.To, &rr.Dst}} {
		if x.s == "" || x.s == "all" {
			continue
		}
		p, err := netip.ParsePrefix(x.s)
		if err != nil {
			a, aerr := netip.ParseAddr(x.s)
			if aerr != nil {
				return nil, fmt.Errorf("%s: rule: %q is not a prefix", owner, x.s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		*x.dst = p
	}
	if rr.Family == 0 && !rr.Src.IsValid() && !rr.Dst.IsValid() {
		rr.Family = runtime.FamilyV4
	}
	return newRule(owner, rr), nil
}

// forward is the forwarding method of an lb_kind (zero if unknown).
func forward(lbKind string) runtime.Forward {
	switch lbKind {
	case "NAT":
		return runtime.ForwardNAT
	case "DR":
		return runtime.ForwardDR
	case "TUN":
		return runtime.ForwardTunnel
	}
	return 0
}

// serviceKeys returns the IPVS services a virtual server stands for: its
// address or fwmark, or every member of its group.
func serviceKeys(vs *schema.VirtualServer, groups map[string]*schema.VirtualServerGroup) ([]runtime.ServiceKey, error) {
	proto, err := runtime.ParseProtocol(vs.Protocol)
	if err != nil {
		return nil, err
	}
	fam := runtime.FamilyV4
	if vs.Family == "inet6" {
		fam = runtime.FamilyV6
	}
	var keys []runtime.ServiceKey
	switch {
	case vs.Address.IsValid():
		keys = append(keys, runtime.ServiceKey{Protocol: proto, Addr: vs.Address.Addr(), Port: vs.Address.Port()})
	case vs.FwMark != 0:
		keys = append(keys, runtime.ServiceKey{FwMark: uint32(vs.FwMark), Family: fam})
	case vs.Group != "":
		g := groups[vs.Group]
		if g == nil {
			return nil, fmt.Errorf("virtual_server %s: no virtual_server_group %q", vs.Name, vs.Group)
		}
		for _, m := range g.Members {
			keys = append(keys, runtime.ServiceKey{Protocol: proto, Addr: m.Addr(), Port: m.Port()})
		}
		for _, mark := range g.FwMarks {
			keys = append(keys, runtime.ServiceKey{FwMark: uint32(mark), Family: fam})
		}
	}
	for i := range keys {
		keys[i] = keys[i].Normalize()
	}
	return keys, nil
}

func virtualServerObjects(st State, owner string, vs *schema.VirtualServer, groups map[string]*schema.VirtualServerGroup, facts runtime.Facts) error {
	keys, err := serviceKeys(vs, groups)
	if err != nil {
		return fmt.Errorf("%s: %w", owner, err)
	}
	netmask := 0
	if g := vs.PersistenceGranularity; g != "" {
		if m, err := netip.ParseAddr(g); err == nil && m.Is4() {
			b := m.As4()
			v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			for v&0x80000000 != 0 {
				netmask++
				v <<= 1
			}
		} else if n, err := strconv.Atoi(g); err == nil {
			netmask = n
		}
	}
	// Which real servers get traffic, and with what weight.
	type dest struct {
		addr    netip.AddrPort
		weight  int
		forward runtime.Forward
		checked bool
	}
	dests := make([]dest, 0, len(vs.RealServers)+1)
	up := 0
	for _, rs := range vs.RealServers {
		w := 1
		if rs.Weight != nil {
			w = *rs.Weight
		}
		checked := rs.Checks.Len() > 0
		if h, ok := facts.HealthFor(runtime.RealServerID{VirtualServer: vs.Name, Addr: rs.Address}); ok {
			if !h.Up {
				if rs.InhibitOnFailure {
					dests = append(dests, dest{rs.Address, 0, forward(rs.LBKind), checked})
				}
				continue
			}
			if h.Weight >= 0 {
				w = h.Weight
			}
		}
		up++
		dests = append(dests, dest{rs.Address, w, forward(rs.LBKind), checked})
	}
	quorum := true
	if facts.Quorum != nil {
		if q, ok := facts.Quorum[vs.Name]; ok {
			quorum = q
		}
	}
	if vs.SorryServer.IsValid() {
		if up == 0 || !quorum {
			dests = append(dests, dest{vs.SorryServer, 1, forward(vs.LBKind), true})
		} else if vs.SorryServerInhibit {
			dests = append(dests, dest{vs.SorryServer, 0, forward(vs.LBKind), true})
		}
	}
	rds := make([]runtime.Destination, len(dests))
	for i, d := range dests {
		rds[i] = runtime.Destination{Addr: d.addr.Addr(), Port: d.addr.Port(), Weight: d.weight, Forward: d.forward}
	}
	for _, k := range keys {
		svc := runtime.Service{Protocol: k.Protocol, Addr: k.Addr, Port: k.Port, FwMark: k.FwMark, Family: k.Family,
			Scheduler: vs.LBAlgo, Timeout: vs.PersistenceTimeout.D(), Netmask: netmask}
		if svc.FwMark == 0 {
			svc.Family = runtime.FamilyOf(k.Addr)
		}
		objs := addServiceObjects(st, owner, svc, rds)
		for i := range objs {
			objs[i].Dynamic = dests[i].checked
		}
	}
	return nil
}

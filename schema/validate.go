package schema

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Validate checks the rules that decoding alone does not: ranges, families,
// references between blocks, per-node values and clashes between instances.
// It reports every problem it finds.
func Validate(c *Config) hcl.Diagnostics {
	v := &validator{c: c}
	v.nodes()
	v.instances()
	v.syncGroups()
	v.scripts()
	v.virtualServers()
	return v.diags
}

type validator struct {
	c     *Config
	diags hcl.Diagnostics
}

func (v *validator) errorf(ptrs []any, summary, format string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  v.c.rangeOf(ptrs...),
	})
}

func at(ptrs ...any) []any { return ptrs }

func (v *validator) nodes() {
	declared := v.c.NodeNames()
	for _, in := range v.c.Instances {
		for _, nv := range in.NodeValues {
			if !slices.Contains(declared, nv.Name) {
				v.errorf(at(nv), "Undeclared node",
					"vrrp_instance %q gives values for node %q, which is not declared; declare it with node %q { } at the top level (declared: %s).%s",
					in.Name, nv.Name, nv.Name, listOrNone(declared), didYouMean(nv.Name, declared))
			}
		}
	}
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return quoteList(l)
}

// nodeViews returns the node names to check per-node rules for: each
// declared node, or "" for a single-node config.
func (v *validator) nodeViews() []string {
	if names := v.c.NodeNames(); len(names) > 0 {
		return names
	}
	return []string{""}
}

func (v *validator) instances() {
	version := DefaultVRRPVersion
	if v.c.Global != nil && v.c.Global.VRRPVersion != 0 {
		version = v.c.Global.VRRPVersion
		if version != 2 && version != 3 {
			v.errorf(at(&v.c.Global.VRRPVersion), "Invalid VRRP version", "vrrp_version must be 2 or 3, found %d.", version)
		}
	}
	scripts := names(v.c.Scripts, func(s *VRRPScript) string { return s.Name })
	files := names(v.c.TrackFiles, func(s *TrackFile) string { return s.Name })
	for _, in := range v.c.Instances {
		what := fmt.Sprintf("vrrp_instance %q", in.Name)
		if in.VirtualRouterID == 0 {
			if !v.has(&in.VirtualRouterID) {
				v.errorf(at(in), "Missing virtual_router_id", "%s needs virtual_router_id (1-255), the same on every node.", what)
			}
		}
		if (in.VirtualRouterID != 0 || v.has(&in.VirtualRouterID)) && (in.VirtualRouterID < 1 || in.VirtualRouterID > 255) {
			v.errorf(at(&in.VirtualRouterID), "Invalid virtual_router_id", "virtual_router_id must be 1-255, found %d.", in.VirtualRouterID)
		}
		if in.Interface == "" && !v.has(&in.Interface) && !nodesGive(in, func(n *InstanceNode) bool { return n.Interface != nil }) {
			v.errorf(at(in), "Missing interface", "%s needs an interface.", what)
		}
		ver := version
		if in.Version != 0 {
			ver = in.Version
			if ver != 2 && ver != 3 {
				v.errorf(at(&in.Version), "Invalid VRRP version", "version must be 2 or 3, found %d.", ver)
				ver = version
			}
		}
		v.advertInt(in, ver)
		v.addrFamilies(in)
		if a := in.Authentication; a != nil {
			switch a.AuthType {
			case "AH":
				v.errorf(at(&a.AuthType, a), "Unsupported authentication", "auth_type AH is not supported by hacfg (RFC 5798 removed authentication; keepalived deprecates AH). Use PASS, or no authentication.")
			case "PASS":
				if ver == 3 {
					v.errorf(at(&a.AuthType, a), "Authentication with VRRPv3", "VRRPv3 has no authentication (RFC 5798 §9); remove the authentication block or use version 2.")
				}
				if a.AuthPass == "" {
					v.errorf(at(a), "Missing auth_pass", "auth_type PASS needs auth_pass.")
				} else if len(a.AuthPass) > 8 {
					v.errorf(at(&a.AuthPass), "auth_pass too long", "auth_pass is at most 8 characters (it is sent in the advert's 8-byte authentication field); found %d.", len(a.AuthPass))
				}
			case "":
				v.errorf(at(a), "Missing auth_type", "The authentication block needs auth_type = \"PASS\".")
			}
		}
		for i := range in.TrackScript {
			t := &in.TrackScript[i]
			if !slices.Contains(scripts, t.Name) {
				v.errorf(at(&t.Name, t), "Unknown vrrp_script", "track_script names %q, but no vrrp_script %q is defined (defined: %s).%s", t.Name, t.Name, listOrNone(scripts), didYouMean(t.Name, scripts))
			}
		}
		for i := range in.TrackFile {
			t := &in.TrackFile[i]
			if !slices.Contains(files, t.Name) {
				v.errorf(at(&t.Name, t), "Unknown vrrp_track_file", "track_file names %q, but no vrrp_track_file %q is defined (defined: %s).%s", t.Name, t.Name, listOrNone(files), didYouMean(t.Name, files))
			}
		}
		if in.PreemptDelay != 0 && in.NoPreempt {
			v.errorf(at(&in.PreemptDelay), "preempt_delay with nopreempt", "preempt_delay has no effect when nopreempt is set; remove one.")
		}
		for _, nv := range in.NodeValues {
			if nv.Priority != nil {
				v.priority(*nv.Priority, &nv.Priority)
			}
		}
		if v.has(&in.Priority) {
			v.priority(in.Priority, &in.Priority)
		}
	}
	v.ownerAndClashes()
}

func (v *validator) has(ptr any) bool {
	return v.c.written(ptr)
}

func nodesGive(in *VRRPInstance, f func(*InstanceNode) bool) bool {
	for _, n := range in.NodeValues {
		if f(n) {
			return true
		}
	}
	return false
}

func (v *validator) priority(p int, ptr any) {
	if p < 1 || p > 255 {
		v.errorf(at(ptr), "Invalid priority", "priority must be 1-255 (255 only for the owner of the virtual addresses), found %d.", p)
	}
}

func (v *validator) advertInt(in *VRRPInstance, ver int) {
	d := in.AdvertInt.D()
	if d == 0 && !v.has(&in.AdvertInt) {
		return
	}
	switch ver {
	case 2:
		if d%time.Second != 0 || d < time.Second || d > 255*time.Second {
			v.errorf(at(&in.AdvertInt), "Invalid advert_int", "VRRPv2 advert_int is a whole number of seconds from 1s to 255s, found %s; use version = 3 for sub-second adverts.", in.AdvertInt)
		}
	case 3:
		if d%(10*time.Millisecond) != 0 || d < 10*time.Millisecond || d > 40950*time.Millisecond {
			v.errorf(at(&in.AdvertInt), "Invalid advert_int", "VRRPv3 advert_int is 10ms to 40.95s in steps of 10ms (centiseconds), found %s.", in.AdvertInt)
		}
	}
}

func is6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

func (v *validator) addrFamilies(in *VRRPInstance) {
	fam := in.Family()
	famName := map[int]string{4: "IPv4", 6: "IPv6"}
	check := func(a netip.Addr, ptr any, what string) {
		if !a.IsValid() {
			return
		}
		f := 4
		if is6(a) {
			f = 6
		}
		if f != fam {
			v.errorf(at(ptr), "Address family mismatch", "%s %s is %s, but vrrp_instance %q is an %s instance (from its first virtual address); use a separate instance for each family.", what, a, famName[f], in.Name, famName[fam])
		}
	}
	for i := range in.VirtualAddresses {
		va := &in.VirtualAddresses[i]
		check(va.Address.Addr(), &va.Address, "virtual address")
		if va.Scope == "" && va.Address.Addr().IsLinkLocalUnicast() {
			continue
		}
	}
	if len(in.VirtualAddresses) == 0 && !v.has(&in.VirtualAddresses) {
		v.errorf(at(in), "No virtual addresses", "vrrp_instance %q has no virtual_ipaddress; give at least one.", in.Name)
	}
	check(in.UnicastSrcIP, &in.UnicastSrcIP, "unicast_src_ip")
	check(in.McastSrcIP, &in.McastSrcIP, "mcast_src_ip")
	for i := range in.UnicastPeers {
		check(in.UnicastPeers[i], &in.UnicastPeers[i], "unicast_peer")
	}
	for _, nv := range in.NodeValues {
		if nv.UnicastSrcIP != nil {
			check(*nv.UnicastSrcIP, &nv.UnicastSrcIP, "unicast_src_ip")
		}
		if nv.McastSrcIP != nil {
			check(*nv.McastSrcIP, &nv.McastSrcIP, "mcast_src_ip")
		}
		for i := range nv.UnicastPeers {
			check(nv.UnicastPeers[i], &nv.UnicastPeers[i], "unicast_peer")
		}
	}
}

// ownerAndClashes checks, for each node, that priority 255 is used only by
// the address owner and that no two instances share a VRID and family on
// one interface.
func (v *validator) ownerAndClashes() {
	type key struct {
		iface  string
		vrid   int
		family int
	}
	reported := map[any]bool{}
	for _, node := range v.nodeViews() {
		seen := map[key]*VRRPInstance{}
		for _, raw := range v.c.Instances {
			in := raw.For(node)
			if in.Priority == 255 {
				src := in.UnicastSrcIP
				if !src.IsValid() {
					src = in.McastSrcIP
				}
				owner := false
				for _, va := range in.VirtualAddresses {
					if src.IsValid() && va.Address.Addr() == src {
						owner = true
					}
				}
				ptr := prioPtr(raw, node)
				if !owner && !reported[ptr] {
					reported[ptr] = true
					v.errorf(at(ptr, raw), "Priority 255 without owning the address",
						"priority 255 is reserved for the owner of the virtual address (RFC 5798 §6.1): the node whose own address (unicast_src_ip or mcast_src_ip) is one of the virtual addresses. Use 1-254%s.", nodeSuffix(node))
				}
			}
			if in.VirtualRouterID < 1 || in.VirtualRouterID > 255 || in.Interface == "" {
				continue
			}
			k := key{in.Interface, in.VirtualRouterID, in.Family()}
			if first, dup := seen[k]; dup {
				if !reported[&raw.VirtualRouterID] {
					reported[&raw.VirtualRouterID] = true
					v.errorf(at(&raw.VirtualRouterID, raw), "Duplicate virtual_router_id",
						"vrrp_instance %q and %q both use virtual_router_id %d for IPv%d on interface %s%s; each instance on an interface needs its own VRID per address family.",
						first.Name, raw.Name, in.VirtualRouterID, k.family, in.Interface, nodeSuffix(node))
				}
				continue
			}
			seen[k] = raw
		}
	}
}

func prioPtr(in *VRRPInstance, node string) any {
	for _, nv := range in.NodeValues {
		if nv.Name == node && nv.Priority != nil {
			return &nv.Priority
		}
	}
	return &in.Priority
}

func nodeSuffix(node string) string {
	if node == "" {
		return ""
	}
	return fmt.Sprintf(" (on node %q)", node)
}

func (v *validator) warnf(ptrs []any, summary, format string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  v.c.rangeOf(ptrs...),
	})
}

func (v *validator) syncGroups() {
	insts := names(v.c.Instances, func(i *VRRPInstance) string { return i.Name })
	for _, g := range v.c.SyncGroups {
		if g.TrackingWeight {
			continue
		}
		for _, in := range v.c.Instances {
			if !slices.Contains(g.Group, in.Name) {
				continue
			}
			for _, refs := range [][]TrackRef{in.TrackInterface, in.TrackScript, in.TrackFile} {
				for i := range refs {
					if refs[i].Weight != nil && *refs[i].Weight != 0 {
						v.warnf(at(&refs[i].Weight, &refs[i]), "Tracking weight ignored in a sync group",
							"vrrp_instance %q is in vrrp_sync_group %q, so this weight counts as 0 and a failure faults the group (as in keepalived); set sync_group_tracking_weight = true in the group to apply it.", in.Name, g.Name)
					}
				}
			}
		}
	}
	member := map[string]string{}
	for _, g := range v.c.SyncGroups {
		if len(g.Group) == 0 {
			v.errorf(at(g), "Empty sync group", "vrrp_sync_group %q needs group = [\"INSTANCE\", …].", g.Name)
		}
		for i, m := range g.Group {
			ptr := &g.Group[i]
			if !slices.Contains(insts, m) {
				v.errorf(at(ptr, &g.Group, g), "Unknown sync group member", "vrrp_sync_group %q lists %q, but no vrrp_instance %q is defined (defined: %s).%s", g.Name, m, m, listOrNone(insts), didYouMean(m, insts))
				continue
			}
			if other, ok := member[m]; ok {
				v.errorf(at(ptr, &g.Group, g), "Instance in two sync groups", "vrrp_instance %q is already a member of vrrp_sync_group %q; an instance belongs to at most one group.", m, other)
				continue
			}
			member[m] = g.Name
		}
		scripts := names(v.c.Scripts, func(s *VRRPScript) string { return s.Name })
		for i := range g.TrackScript {
			t := &g.TrackScript[i]
			if !slices.Contains(scripts, t.Name) {
				v.errorf(at(&t.Name, t), "Unknown vrrp_script", "track_script names %q, but no vrrp_script %q is defined.%s", t.Name, t.Name, didYouMean(t.Name, scripts))
			}
		}
	}
}

func (v *validator) scripts() {
	for _, s := range v.c.Scripts {
		if s.Script == "" {
			v.errorf(at(s), "Missing script", "vrrp_script %q needs script = \"/path/to/command args\".", s.Name)
		}
		if s.Weight != nil && (*s.Weight < -253 || *s.Weight > 253) {
			v.errorf(at(&s.Weight), "Invalid weight", "weight must be -253 to 253, found %d.", *s.Weight)
		}
		if s.Timeout != 0 && s.Interval != 0 && s.Timeout > s.Interval {
			v.errorf(at(&s.Timeout), "timeout longer than interval", "vrrp_script %q: timeout %s is longer than interval %s.", s.Name, s.Timeout, s.Interval)
		}
	}
	for _, f := range v.c.TrackFiles {
		if f.File == "" {
			v.errorf(at(f), "Missing file", "vrrp_track_file %q needs file = \"/path\".", f.Name)
		}
	}
}

func (v *validator) virtualServers() {
	groups := names(v.c.VirtualGroups, func(g *VirtualServerGroup) string { return g.Name })
	for _, g := range v.c.VirtualGroups {
		if len(g.Members) == 0 && len(g.FwMarks) == 0 {
			v.errorf(at(g), "Empty virtual_server_group", "virtual_server_group %q needs vip = [\"192.0.2.10:80\", …] or fwmark = [1, …].", g.Name)
		}
	}
	type svcKey struct {
		proto string
		addr  netip.AddrPort
		mark  int
		group string
	}
	seen := map[svcKey]string{}
	for _, vs := range v.c.VirtualServers {
		what := fmt.Sprintf("virtual_server %q", vs.Name)
		n := 0
		if vs.Address.IsValid() {
			n++
		}
		if vs.FwMark != 0 || v.has(&vs.FwMark) {
			n++
			if vs.FwMark < 1 {
				v.errorf(at(&vs.FwMark), "Invalid fwmark", "fwmark must be 1 or more, found %d.", vs.FwMark)
			}
		}
		if vs.Group != "" {
			n++
			if !slices.Contains(groups, vs.Group) {
				v.errorf(at(&vs.Group), "Unknown virtual_server_group", "%s uses group %q, but no virtual_server_group %q is defined (defined: %s).%s", what, vs.Group, vs.Group, listOrNone(groups), didYouMean(vs.Group, groups))
			}
		}
		if n != 1 {
			v.errorf(at(vs), "Virtual server needs one of address, fwmark, group", "%s must give exactly one of address = \"VIP:PORT\", fwmark = N or group = \"NAME\"; it gives %d.", what, n)
		}
		proto := vs.Protocol
		if proto == "" {
			proto = DefaultProtocol
		}
		k := svcKey{proto, vs.Address, vs.FwMark, vs.Group}
		if first, dup := seen[k]; dup && n == 1 {
			v.errorf(at(&vs.Address, &vs.FwMark, &vs.Group, vs), "Duplicate virtual server", "%s selects the same traffic as virtual_server %q.", what, first)
		}
		seen[k] = vs.Name
		if vs.PersistenceGranularity != "" {
			if _, err := netip.ParseAddr(vs.PersistenceGranularity); err != nil {
				if _, err := fmt.Sscanf(vs.PersistenceGranularity, "%d", new(int)); err != nil {
					v.errorf(at(&vs.PersistenceGranularity), "Invalid persistence_granularity", "persistence_granularity is a netmask like \"255.255.255.0\" (IPv4) or a prefix length like \"64\" (IPv6), found %q.", vs.PersistenceGranularity)
				}
			}
		}
		if vs.Quorum < 0 || vs.Hysteresis < 0 {
			v.errorf(at(&vs.Quorum, &vs.Hysteresis), "Invalid quorum", "quorum and hysteresis must be zero or more.")
		}
		rsSeen := map[netip.AddrPort]*RealServer{}
		for _, rs := range vs.RealServers {
			if first, dup := rsSeen[rs.Address]; dup {
				r, _ := v.c.Range(first)
				v.errorf(at(rs), "Real server listed twice", "real_server %s is already listed in %s at %s.", rs.Address, what, shortPos(r))
				continue
			}
			rsSeen[rs.Address] = rs
			if vs.Address.IsValid() && vs.Address.Addr().Is4() != rs.Address.Addr().Is4() && (rs.LBKind == "DR" || (rs.LBKind == "" && vs.LBKind == "DR")) {
				v.errorf(at(rs), "Address family mismatch", "real_server %s and %s differ in address family, which direct routing cannot forward.", rs.Address, what)
			}
			if rs.Weight != nil && (*rs.Weight < 0 || *rs.Weight > 65535) {
				v.errorf(at(&rs.Weight), "Invalid weight", "weight must be 0-65535, found %d.", *rs.Weight)
			}
			if c := rs.Checks; c != nil {
				for _, h := range c.HTTPGets {
					v.urls(h, "http_get")
				}
				for _, h := range c.SSLGets {
					v.urls(h, "ssl_get")
				}
				for _, m := range c.MiscChecks {
					if m.Path == "" {
						v.errorf(at(m), "Missing misc_path", "misc_check needs misc_path = \"/path/to/check args\".")
					}
				}
				for _, d := range c.DNSChecks {
					if d.Name == "" {
						v.errorf(at(d), "Missing name", "dns_check needs name = \"example.test\", the name to query.")
					}
				}
			}
		}
	}
}

func (v *validator) urls(h *HTTPCheck, kind string) {
	if len(h.URLs) == 0 {
		v.errorf(at(h), "Missing url", "%s needs at least one url { path = \"/\" }.", kind)
	}
	for _, u := range h.URLs {
		if u.Path == "" {
			v.errorf(at(u), "Missing path", "url needs path = \"/…\".")
		}
		if u.Digest != "" && (len(u.Digest) != 32 || !isHex(u.Digest)) {
			v.errorf(at(&u.Digest), "Invalid digest", "digest is the MD5 of the body as 32 hex digits, found %q.", u.Digest)
		}
	}
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func names[T any](items []T, name func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

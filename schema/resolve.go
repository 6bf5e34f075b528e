package schema

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// Defaults applied by Resolve where the config is silent (keepalived's
// defaults, so an imported config behaves the same).
const (
	DefaultPriority       = 100
	DefaultAdvertInt      = time.Second
	DefaultVRRPVersion    = 2
	DefaultDelayLoop      = 60 * time.Second
	DefaultConnectTimeout = 5 * time.Second
	DefaultRetry          = 1
	DefaultDelayRetry     = time.Second
	DefaultGarpDelay      = 5 * time.Second
	DefaultGarpRepeat     = 5
	DefaultScriptInterval = time.Second
	DefaultLBAlgo         = "wlc"
	DefaultLBKind         = "NAT"
	DefaultProtocol       = "TCP"
	DefaultWeight         = 1
)

// NodeNames returns the declared node names in config order.
func (c *Config) NodeNames() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Name)
	}
	return out
}

// SelectNode picks the node this process runs as: the --node flag if given
// (it must name a declared node), else the node whose name or hostnames
// match hostname. A config that declares no nodes is a single-node config
// and selects "".
func SelectNode(c *Config, flag, hostname string) (string, error) {
	names := c.NodeNames()
	if flag != "" {
		if slices.Contains(names, flag) {
			return flag, nil
		}
		if len(names) == 0 {
			return "", fmt.Errorf("select node %q: the config declares no nodes (add node %q { } blocks, or drop --node)", flag, flag)
		}
		return "", fmt.Errorf("select node %q: no such node; the config declares %s.%s", flag, quoteList(names), didYouMean(flag, names))
	}
	if len(names) == 0 {
		return "", nil
	}
	for _, n := range c.Nodes {
		if n.Name == hostname || slices.Contains(n.Hostnames, hostname) {
			return n.Name, nil
		}
	}
	return "", fmt.Errorf("select node: this host's name %q matches none of the nodes %s; pass --node NAME or add it to a node's hostnames", hostname, quoteList(names))
}

// Resolve returns the config as node sees it: per-node values applied, the
// node blocks removed and keepalived's defaults filled in. node must be ""
// or a declared node (see SelectNode). c is not modified; unchanged parts are
// shared with it and must be treated as read-only.
func Resolve(c *Config, node string) (*Config, error) {
	if node != "" && !slices.Contains(c.NodeNames(), node) {
		return nil, fmt.Errorf("resolve config: no node %q", node)
	}
	out := *c
	out.src = nil
	g := Global{}
	if c.Global != nil {
		g = *c.Global
	}
	for _, n := range c.Nodes {
		if n.Name == node && n.RouterID != "" {
			g.RouterID = n.RouterID
		}
	}
	if g.VRRPVersion == 0 {
		g.VRRPVersion = DefaultVRRPVersion
	}
	if g.AdvertInt == 0 {
		g.AdvertInt = Duration(DefaultAdvertInt)
	}
	if g.GarpMasterDelay == 0 {
		g.GarpMasterDelay = Duration(DefaultGarpDelay)
	}
	if g.GarpMasterRepeat == 0 {
		g.GarpMasterRepeat = DefaultGarpRepeat
	}
	out.Global = &g
	out.Nodes = nil

	out.Instances = make([]*VRRPInstance, len(c.Instances))
	for i, in := range c.Instances {
		r := in.For(node)
		if r.Priority == 0 {
			r.Priority = DefaultPriority
		}
		if r.Version == 0 {
			r.Version = g.VRRPVersion
		}
		if r.AdvertInt == 0 {
			r.AdvertInt = g.AdvertInt
		}
		if r.State == "" {
			r.State = "BACKUP"
		}
		if r.GarpMasterDelay == 0 {
			r.GarpMasterDelay = g.GarpMasterDelay
		}
		if r.GarpMasterRepeat == 0 {
			r.GarpMasterRepeat = g.GarpMasterRepeat
		}
		if r.GarpMasterRefresh == 0 {
			r.GarpMasterRefresh = g.GarpMasterRefresh
		}
		out.Instances[i] = r
	}
	out.Scripts = make([]*VRRPScript, len(c.Scripts))
	for i, s := range c.Scripts {
		r := *s
		if r.Interval == 0 {
			r.Interval = Duration(DefaultScriptInterval)
		}
		if r.Rise == 0 {
			r.Rise = 1
		}
		if r.Fall == 0 {
			r.Fall = 1
		}
		out.Scripts[i] = &r
	}
	out.VirtualServers = make([]*VirtualServer, len(c.VirtualServers))
	var sh checkSharer
	for i, vs := range c.VirtualServers {
		out.VirtualServers[i] = resolveVS(vs, &sh)
	}
	return &out, nil
}

// For returns the instance as node sees it, with its per-node values applied
// and NodeValues removed; defaults are not filled in.
func (in *VRRPInstance) For(node string) *VRRPInstance {
	r := *in
	r.NodeValues = nil
	for _, nv := range in.NodeValues {
		if nv.Name != node {
			continue
		}
		if nv.State != nil {
			r.State = *nv.State
		}
		if nv.Interface != nil {
			r.Interface = *nv.Interface
		}
		if nv.Priority != nil {
			r.Priority = *nv.Priority
		}
		if nv.UnicastSrcIP != nil {
			r.UnicastSrcIP = *nv.UnicastSrcIP
		}
		if nv.UnicastPeers != nil {
			r.UnicastPeers = nv.UnicastPeers
		}
		if nv.McastSrcIP != nil {
			r.McastSrcIP = *nv.McastSrcIP
		}
	}
	return &r
}

func resolveVS(vs *VirtualServer, sh *checkSharer) *VirtualServer {
	r := *vs
	if r.Protocol == "" {
		r.Protocol = DefaultProtocol
	}
	if r.DelayLoop == 0 {
		r.DelayLoop = Duration(DefaultDelayLoop)
	}
	if r.LBAlgo == "" {
		r.LBAlgo = DefaultLBAlgo
	}
	if r.LBKind == "" {
		r.LBKind = DefaultLBKind
	}
	if r.Quorum == 0 {
		r.Quorum = 1
	}
	r.RealServers = make([]*RealServer, len(vs.RealServers))
	var defWeight *int // one for the real servers without a weight
	for i, rs := range vs.RealServers {
		x := *rs
		if x.Weight == nil {
			if defWeight == nil {
				w := DefaultWeight
				defWeight = &w
			}
			x.Weight = defWeight
		}
		sh.share(&x)
		if x.LBKind == "" {
			x.LBKind = r.LBKind
		}
		if r.InhibitOnFailure {
			x.InhibitOnFailure = true
		}
		r.RealServers[i] = &x
	}
	return &r
}

// Family returns the address family of the instance: 6 if its first virtual
// address is IPv6, else 4.
func (in *VRRPInstance) Family() int {
	if len(in.VirtualAddresses) > 0 {
		if is6(in.VirtualAddresses[0].Address.Addr()) {
			return 6
		}
		return 4
	}
	if in.UnicastSrcIP.Is6() || in.McastSrcIP.Is6() {
		return 6
	}
	return 4
}

// checkSharer lets the real servers of a resolved config share their
// checks when they are equal: a large config has thousands of real servers
// with the same check, and a resolved config lives as long as the agent
// runs it (a Checks, a TCP_CHECK and its list are 270 bytes a real
// server). Real servers with equal checks share one Checks; a new set of
// checks shares its lists with earlier sets where those are equal. A
// resolved config is read, never written, so sharing is safe. It remembers
// the last few distinct sets and lists: real servers with the same checks
// are usually written together.
type checkSharer struct {
	sets sharedSets
	tcp  sharedLists[TCPCheck]
	http sharedLists[HTTPCheck]
	smtp sharedLists[SMTPCheck]
	dns  sharedLists[DNSCheck]
	misc sharedLists[MiscCheck]
}

func (sh *checkSharer) share(rs *RealServer) {
	c := rs.Checks
	if c == nil {
		return
	}
	if p, ok := sh.sets.find(c); ok {
		rs.Checks = p
		return
	}
	n := &Checks{
		TCPChecks:  sh.tcp.of(c.TCPChecks),
		HTTPGets:   sh.http.of(c.HTTPGets),
		SSLGets:    sh.http.of(c.SSLGets),
		SMTPChecks: sh.smtp.of(c.SMTPChecks),
		DNSChecks:  sh.dns.of(c.DNSChecks),
		MiscChecks: sh.misc.of(c.MiscChecks),
	}
	sh.sets.remember(n)
	rs.Checks = n
}

// recent are the last distinct values of a kind seen (compared with
// reflect.DeepEqual, pointers followed).
type recent[T any] struct{ seen []T }

// recentMax is how many distinct values of a kind are remembered.
const recentMax = 4

// find returns a remembered value equal to x.
func (r *recent[T]) find(x T) (T, bool) {
	for _, p := range r.seen {
		if reflect.DeepEqual(p, x) {
			return p, true
		}
	}
	var zero T
	return zero, false
}

// remember remembers x, forgetting the oldest if there are too many.
func (r *recent[T]) remember(x T) {
	if len(r.seen) == recentMax {
		r.seen = append(r.seen[:0], r.seen[1:]...)
	}
	r.seen = append(r.seen, x)
}

// sharedSets are the last distinct sets of checks seen.
type sharedSets = recent[*Checks]

// sharedLists are the last distinct lists of checks of one kind seen.
type sharedLists[T any] struct{ recent[[]*T] }

// of returns a remembered list equal to cs, or remembers cs and returns it.
func (s *sharedLists[T]) of(cs []*T) []*T {
	if len(cs) == 0 {
		return cs
	}
	if p, ok := s.find(cs); ok {
		return p
	}
	s.remember(cs)
	return cs
}

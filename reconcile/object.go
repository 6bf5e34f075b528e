package reconcile

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/hacfg/hacfg/runtime"
)

// Kind is the kind of a kernel object.
type Kind string

// The kinds of kernel object hacfg manages, in dependency order: a kind may
// depend on the kinds before it.
const (
	KindLink        Kind = "link"
	KindAddress     Kind = "address"
	KindService     Kind = "service"
	KindDestination Kind = "destination"
	KindRoute       Kind = "route"
	KindRule        Kind = "rule"
)

var kindOrder = map[Kind]int{KindLink: -1, KindAddress: 0, KindService: 1, KindDestination: 2, KindRoute: 3, KindRule: 4}

// Object is one kernel object, desired or observed. Exactly one of the
// value fields is set, matching Kind.
type Object struct {
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	Owner string `json:"owner,omitempty"`

	Link        *runtime.Link        `json:"link,omitempty"`
	Address     *runtime.Address     `json:"address,omitempty"`
	Route       *runtime.Route       `json:"route,omitempty"`
	Rule        *runtime.Rule        `json:"rule,omitempty"`
	Service     *runtime.Service     `json:"service,omitempty"`
	Destination *runtime.Destination `json:"destination,omitempty"`
	// ServiceKey is the service a destination belongs to.
	ServiceKey *runtime.ServiceKey `json:"service_key,omitempty"`

	// Dynamic marks what the runtime changes on its own: the presence of
	// a VRRP instance's addresses, routes and rules, and the weight and
	// presence of health-checked destinations. Saved plans leave it out of
	// their fingerprint.
	Dynamic bool `json:"dynamic,omitempty"`
}

// IDs of kernel objects: stable across runs, used as inventory keys.
func addressID(a runtime.Address) string { return "vip:" + a.Normalize().ID() }
func routeID(r runtime.Route) string     { return "route:" + r.ID() }
func ruleID(r runtime.Rule) string       { return "rule:" + r.Normalize().String() }
func serviceID(k runtime.ServiceKey) string {
	return "ipvs:" + k.String()
}
func destinationID(k runtime.ServiceKey, d runtime.Destination) string {
	return "rs:" + d.Key(k).String()
}

func linkID(l runtime.Link) string { return "link:" + l.Name }

// kindOfID returns the kind of object the functions above make id for,
// or "" for an ID none of them makes. The inventory reads an entry's
// kind from its ID rather than keep it.
func kindOfID(id string) Kind {
	// By how many IDs of a large table have each prefix.
	switch {
	case strings.HasPrefix(id, "rs:"):
		return KindDestination
	case strings.HasPrefix(id, "ipvs:"):
		return KindService
	case strings.HasPrefix(id, "vip:"):
		return KindAddress
	case strings.HasPrefix(id, "route:"):
		return KindRoute
	case strings.HasPrefix(id, "rule:"):
		return KindRule
	case strings.HasPrefix(id, "link:"):
		return KindLink
	}
	return ""
}

// addServiceObjects adds service s and its destinations to st, as
// newService and newDestination would, and returns the destinations'
// objects. A large table has 100,000 of them, so they are allocated
// together, share their service's key, and each ID costs one allocation
// (the service's part is formatted once).
func addServiceObjects(st State, owner string, s runtime.Service, dests []runtime.Destination) []Object {
	s = s.Normalize()
	vals := &struct {
		svc runtime.Service
		key runtime.ServiceKey
	}{svc: s, key: s.Key()}
	svcID := vals.key.String()
	objs := make([]Object, 1+len(dests))
	objs[0] = Object{ID: "ipvs:" + svcID, Kind: KindService, Owner: owner, Service: &vals.svc}
	st.add(&objs[0])
	if len(dests) == 0 {
		return nil
	}
	ds := make([]runtime.Destination, len(dests))
	buf := make([]byte, 0, len("rs:")+len(svcID)+len("/[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%enp5s0]:65535"))
	buf = append(append(append(buf, "rs:"...), svcID...), '/')
	prefix := len(buf)
	for i, d := range dests {
		d.Addr = d.Addr.Unmap()
		ds[i] = d
		var id string
		if d.Addr.IsValid() {
			// What destinationID returns: AppendTo and String agree
			// for every valid address.
			buf = netip.AddrPortFrom(d.Addr, d.Port).AppendTo(buf[:prefix])
			id = string(buf)
		} else {
			id = destinationID(vals.key, d)
		}
		o := &objs[1+i]
		*o = Object{ID: id, Kind: KindDestination, Owner: owner, Destination: &ds[i], ServiceKey: &vals.key}
		st.add(o)
	}
	return objs[1:]
}

func newLink(owner string, l runtime.Link) *Object {
	l.Index = 0
	return &Object{ID: linkID(l), Kind: KindLink, Owner: owner, Link: &l}
}

func newAddress(owner string, a runtime.Address) *Object {
	a = a.Normalize()
	return &Object{ID: addressID(a), Kind: KindAddress, Owner: owner, Address: &a}
}

func newRoute(owner string, r runtime.Route) *Object {
	r = r.Normalize()
	return &Object{ID: routeID(r), Kind: KindRoute, Owner: owner, Route: &r}
}

func newRule(owner string, r runtime.Rule) *Object {
	r = r.Normalize()
	return &Object{ID: ruleID(r), Kind: KindRule, Owner: owner, Rule: &r}
}

func newService(owner string, s runtime.Service) *Object {
	s = s.Normalize()
	return &Object{ID: serviceID(s.Key()), Kind: KindService, Owner: owner, Service: &s}
}

func newDestination(owner string, k runtime.ServiceKey, d runtime.Destination) *Object {
	k = k.Normalize()
	d.Addr = d.Addr.Unmap()
	return &Object{ID: destinationID(k, d), Kind: KindDestination, Owner: owner, Destination: &d, ServiceKey: &k}
}

// String renders the object as the shell command that creates it.
func (o *Object) String() string {
	switch o.Kind {
	case KindLink:
		return "ip link add " + o.Link.String()
	case KindAddress:
		return "ip addr add " + o.Address.String()
	case KindRoute:
		return "ip route add " + o.Route.String()
	case KindRule:
		return "ip rule add " + o.Rule.String()
	case KindService:
		return "ipvsadm -A " + o.Service.String()
	case KindDestination:
		return "ipvsadm -a " + o.ServiceKey.IpvsadmArgs() + " " + o.Destination.String()
	}
	return fmt.Sprintf("%s %s", o.Kind, o.ID)
}

// State is a set of kernel objects by ID.
type State map[string]*Object

func (s State) add(o *Object) {
	s[o.ID] = o
}

// IDs returns the IDs in s, sorted.
func (s State) IDs() []string {
	ids := make([]string, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// equal reports whether observed matches desired in everything hacfg sets.
// Observed-only fields (connection counters, the address protocol marker)
// and what desired leaves open (a broadcast address not asked for) do not
// count.
func equal(desired, observed *Object) bool {
	if desired.Kind != observed.Kind {
		return false
	}
	switch desired.Kind {
	case KindLink:
		d, o := desired.Link, observed.Link
		return d.Name == o.Name && d.Kind == o.Kind && d.Parent == o.Parent && d.MacvlanMode == o.MacvlanMode &&
			d.Up == o.Up && d.HardwareAddr.String() == o.HardwareAddr.String()
	case KindAddress:
		d, o := *desired.Address, *observed.Address
		if !d.Broadcast.IsValid() {
			o.Broadcast = d.Broadcast
		}
		d.Protocol, o.Protocol = 0, 0
		d.NoDAD, o.NoDAD = false, false
		return d == o
	case KindRoute:
		d, o := *desired.Route, *observed.Route
		if d.Interface == "" {
			// The kernel picks the device of a route given by its gateway.
			o.Interface = ""
		}
		return d == o
	case KindRule:
		return *desired.Rule == *observed.Rule
	case KindService:
		return equalService(*desired.Service, *observed.Service)
	case KindDestination:
		return equalDestination(*desired.Destination, *observed.Destination)
	}
	return false
}

func equalService(d, o runtime.Service) bool { return d == o }

func equalDestination(d, o runtime.Destination) bool {
	d.ActiveConns, d.InactiveConns, o.ActiveConns, o.InactiveConns = 0, 0, 0, 0
	return d == o
}

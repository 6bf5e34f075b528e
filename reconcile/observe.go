package reconcile

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hacfg/hacfg/runtime"
)

// Observed is what the kernel has, as far as a plan needs to know.
type Observed struct {
	State State
	// Links are the names of the interfaces that exist.
	Links map[string]bool
	// IPVSErr is set when IPVS could not be read (no IPVS in the kernel);
	// it is an error only if the plan needs IPVS.
	IPVSErr error

	// ipvs holds the IPVS table of a full plan's observe
	// (observeIndexed) instead of State: a plan compares a large table
	// with what it desires through match, looking each service up by its
	// key, without making 100,000 objects and their IDs first.
	ipvs    map[runtime.ServiceKey]int
	ipvsTab []observedService
}

// observedService is a normalized service and its destinations as the
// kernel listed them.
type observedService struct {
	svc   runtime.Service
	dests []runtime.Destination
}

// Observe reads the kernel objects relevant to scope. Kernel-made objects
// (link-local addresses, local and proto-kernel routes, default rules) are
// left out. For a scope without virtual servers IPVS is not read at all; for
// a scope naming virtual servers only their services (services) are read, so
// the cost follows the scope rather than the size of the IPVS table.
func Observe(k runtime.Kernel, scope Scope, services []runtime.ServiceKey) (*Observed, error) {
	return observe(k, scope, services, false)
}

// observeIndexed is Observe for a plan: a full observe keeps the IPVS
// table in an index, read through Observed.match and Observed.get.
func observeIndexed(k runtime.Kernel, scope Scope, services []runtime.ServiceKey) (*Observed, error) {
	return observe(k, scope, services, true)
}

func observe(k runtime.Kernel, scope Scope, services []runtime.ServiceKey, index bool) (*Observed, error) {
	obs := &Observed{State: State{}, Links: map[string]bool{}}
	if scope.hasNet() {
		links, err := k.ListLinks()
		if err != nil {
			return nil, fmt.Errorf("observe: list links: %w", err)
		}
		for _, l := range links {
			obs.Links[l.Name] = true
			// Only the links hacfg creates (VRRP VMACs) are objects;
			// physical and other virtual interfaces are never managed.
			if l.Kind == runtime.KindMacvlan {
				obs.State.add(newLink("", l))
			}
		}
		addrs, err := k.ListAddrs()
		if err != nil {
			return nil, fmt.Errorf("observe: list addresses: %w", err)
		}
		for _, a := range addrs {
			if !runtime.IsKernelAddress(a) {
				obs.State.add(newAddress("", a))
			}
		}
		routes, err := k.ListRoutes()
		if err != nil {
			return nil, fmt.Errorf("observe: list routes: %w", err)
		}
		for _, r := range routes {
			if !runtime.IsKernelRoute(r) {
				obs.State.add(newRoute("", r))
			}
		}
		rules, err := k.ListRules()
		if err != nil {
			return nil, fmt.Errorf("observe: list rules: %w", err)
		}
		for _, r := range rules {
			if !runtime.IsKernelRule(r) {
				obs.State.add(newRule("", r))
			}
		}
	}
	if !scope.hasIPVS() {
		return obs, nil
	}
	if scope.All() {
		all, err := k.ListAll()
		if err != nil {
			if errors.Is(err, runtime.ErrUnsupported) {
				obs.IPVSErr = err
				return obs, nil
			}
			return nil, fmt.Errorf("observe: list ipvs: %w", err)
		}
		if index {
			obs.ipvs = make(map[runtime.ServiceKey]int, len(all))
			obs.ipvsTab = make([]observedService, 0, len(all))
			for _, vs := range all {
				svc := vs.Service.Normalize()
				// A key listed twice: the later wins, as in State.
				obs.ipvs[svc.Key()] = len(obs.ipvsTab)
				obs.ipvsTab = append(obs.ipvsTab, observedService{svc: svc, dests: vs.Destinations})
			}
			return obs, nil
		}
		n := len(obs.State)
		for _, vs := range all {
			n += 1 + len(vs.Destinations)
		}
		st := make(State, n)
		for id, o := range obs.State {
			st[id] = o
		}
		obs.State = st
		for _, vs := range all {
			addService(obs.State, vs.Service, vs.Destinations)
		}
		return obs, nil
	}
	if l, ok := k.(runtime.IPVSSomeLister); ok {
		vss, err := l.ListSome(services)
		if err != nil {
			if errors.Is(err, runtime.ErrUnsupported) {
				obs.IPVSErr = err
				return obs, nil
			}
			return nil, fmt.Errorf("observe: list ipvs services: %w", err)
		}
		for _, vs := range vss {
			addService(obs.State, vs.Service, vs.Destinations)
		}
		return obs, nil
	}
	for _, key := range services {
		svc, err := k.GetService(key)
		if errors.Is(err, runtime.ErrNotExist) {
			continue
		}
		if err != nil {
			if errors.Is(err, runtime.ErrUnsupported) {
				obs.IPVSErr = err
				return obs, nil
			}
			return nil, fmt.Errorf("observe: get ipvs service %s: %w", key, err)
		}
		dests, err := k.ListDestinations(key)
		if err != nil && !errors.Is(err, runtime.ErrNotExist) {
			return nil, fmt.Errorf("observe: list destinations of %s: %w", key, err)
		}
		addService(obs.State, svc, dests)
	}
	return obs, nil
}

func addService(st State, svc runtime.Service, dests []runtime.Destination) {
	addServiceObjects(st, "", svc, dests)
}

// serviceKeyOfID returns the service key of a service or destination ID.
func serviceKeyOfID(id string) (runtime.ServiceKey, bool) {
	switch {
	case strings.HasPrefix(id, "ipvs:"):
		k, err := runtime.ParseServiceKey(strings.TrimPrefix(id, "ipvs:"))
		return k, err == nil
	case strings.HasPrefix(id, "rs:"):
		k, err := runtime.ParseDestinationKey(strings.TrimPrefix(id, "rs:"))
		return k.Service, err == nil
	}
	return runtime.ServiceKey{}, false
}

// get returns the observed object with id.
func (obs *Observed) get(id string) (*Object, bool) {
	if o, ok := obs.State[id]; ok || obs.ipvs == nil {
		return o, ok
	}
	switch {
	case strings.HasPrefix(id, "ipvs:"):
		k, err := runtime.ParseServiceKey(strings.TrimPrefix(id, "ipvs:"))
		if err != nil {
			return nil, false
		}
		return obs.ipvsObject(k, nil)
	case strings.HasPrefix(id, "rs:"):
		dk, err := runtime.ParseDestinationKey(strings.TrimPrefix(id, "rs:"))
		if err != nil {
			return nil, false
		}
		return obs.ipvsObject(dk.Service, &dk.Addr)
	}
	return nil, false
}

// ipvsObject makes the object of the indexed service key, or of its
// destination addr when addr is not nil.
func (obs *Observed) ipvsObject(key runtime.ServiceKey, addr *netip.AddrPort) (*Object, bool) {
	i, ok := obs.ipvs[key.Normalize()]
	if !ok {
		return nil, false
	}
	os := &obs.ipvsTab[i]
	if addr == nil {
		return newService("", os.svc), true
	}
	if d, ok := os.dest(*addr); ok {
		return newDestination("", os.svc.Key(), d), true
	}
	return nil, false
}

// dest finds the destination at addr (unmapped, as in IDs); the last one
// listed, as in State.
func (os *observedService) dest(addr netip.AddrPort) (runtime.Destination, bool) {
	for i := len(os.dests) - 1; i >= 0; i-- {
		if d := os.dests[i]; d.Port == addr.Port() && d.Addr.Unmap() == addr.Addr() {
			return d, true
		}
	}
	return runtime.Destination{}, false
}

// match finds the observed object with the ID of desired object d: whether
// it is present, whether it is equal to d, and (when it is present but not
// equal) the object itself. An IPVS object of an index (where State has no
// IPVS objects) is looked up by its key and compared in place, made into an
// object only when it differs.
func (obs *Observed) match(id string, d *Object) (o *Object, present, same bool) {
	if obs.ipvs == nil || (d.Kind != KindService && d.Kind != KindDestination) {
		o, present = obs.State[id]
		return o, present, present && equal(d, o)
	}
	var key runtime.ServiceKey
	if d.Kind == KindService {
		key = d.Service.Key()
	} else {
		key = *d.ServiceKey
	}
	i, ok := obs.ipvs[key]
	if !ok {
		return nil, false, false
	}
	os := &obs.ipvsTab[i]
	if d.Kind == KindService {
		if equalService(*d.Service, os.svc) {
			return nil, true, true
		}
		return newService("", os.svc), true, false
	}
	od, ok := os.dest(netip.AddrPortFrom(d.Destination.Addr, d.Destination.Port))
	if !ok {
		return nil, false, false
	}
	od.Addr = od.Addr.Unmap()
	if equalDestination(*d.Destination, od) {
		return nil, true, true
	}
	return newDestination("", key, od), true, false
}

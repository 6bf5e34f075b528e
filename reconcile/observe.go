package reconcile

import (
	"errors"
	"fmt"
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
}

// Observe reads the kernel objects relevant to scope. Kernel-made objects
// (link-local addresses, local and proto-kernel routes, default rules) are
// left out. For a scope without virtual servers IPVS is not read at all; for
// a scope naming virtual servers only their services (services) are read, so
// the cost follows the scope rather than the size of the IPVS table.
func Observe(k runtime.Kernel, scope Scope, services []runtime.ServiceKey) (*Observed, error) {
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

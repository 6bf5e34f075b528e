package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/schema"
)

// ReconcileInParts is Reconcile of everything (opts.Scope names no owners)
// carried out a part at a time, so that a large table's desired, observed
// and planned objects are not all held at once: first the links,
// addresses, routes and rules of every instance and of the static blocks,
// then the virtual servers, in the config's order and then those gone from
// it, a few at a time, about size real servers a part. Each part is
// planned, applied and verified (unless opts.NoVerify) as Reconcile does,
// and the parts together change what one Reconcile would: an object moving
// between virtual servers of different parts is taken over by the part
// that desires it, not deleted by the other.
//
// It returns the number of changes applied. It stops at the first part
// that fails, the parts before it applied. It is one Reconcile when the
// scope names owners, when the plan must guard against emptying the kernel
// (opts.AllowEmpty unset: the guard weighs the whole plan), when the
// inventory holds objects of an owner it cannot place in a part, and when
// the kernel says it has no IPVS (one Reconcile then fails before applying
// anything).
func (r *Reconciler) ReconcileInParts(cfg *schema.Config, facts runtime.Facts, opts PlanOptions, size int) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	parts, ok := r.parts(cfg, opts.Scope, size)
	if k, reports := r.Kernel.(interface{ IPVSError() error }); reports && k.IPVSError() != nil && len(parts) > 1 {
		// Without IPVS the virtual servers' parts would fail after the
		// first part applied; one Reconcile fails before applying
		// anything.
		ok = false
	}
	if !ok || !opts.AllowEmpty || len(parts) < 2 {
		_, res, err := r.reconcileLocked(cfg, facts, opts)
		return applied(res), err
	}
	x, err := newPartsIndex(cfg, facts, opts.Scope.Skip)
	if err != nil {
		return 0, err
	}
	if h, ok := r.Kernel.(runtime.IPVSBatchHolder); ok {
		// The parts' batches share one socket, and so do their reads
		// once a batch has opened it.
		release := h.HoldIPVSBatch()
		defer release()
	}
	n := 0
	for i, scope := range parts {
		o := opts
		o.Scope = scope
		o.elsewhere = x.lookup
		_, res, err := r.reconcileLocked(cfg, facts, o)
		n += applied(res)
		x.forget()
		if err != nil {
			return n, fmt.Errorf("part %d of %d (%s): %w", i+1, len(parts), partName(scope), err)
		}
	}
	return n, nil
}

// applied is the number of changes a reconcile applied.
func applied(res *Result) int {
	if res == nil {
		return 0
	}
	return len(res.Applied)
}

// partName names a part's owners for an error: the first and last.
func partName(s Scope) string {
	if len(s.VirtualServers) == 0 {
		return "instances and static"
	}
	if len(s.VirtualServers) == 1 {
		return "virtual_server " + s.VirtualServers[0]
	}
	return fmt.Sprintf("virtual_servers %s … %s", s.VirtualServers[0], s.VirtualServers[len(s.VirtualServers)-1])
}

// parts cuts the whole scope into the scopes of ReconcileInParts, or
// reports that it cannot: scope names owners, or the inventory has an
// owner that is neither an instance's, a virtual server's nor the static
// blocks'.
func (r *Reconciler) parts(cfg *schema.Config, scope Scope, size int) ([]Scope, bool) {
	if !scope.All() || size <= 0 {
		return nil, false
	}
	instances := map[string]bool{}
	for _, in := range cfg.Instances {
		instances[in.Name] = true
	}
	inConfig := make(map[string]bool, len(cfg.VirtualServers))
	for _, vs := range cfg.VirtualServers {
		inConfig[vs.Name] = true
	}
	gone := map[string]int{} // virtual servers only the inventory knows: their objects
	r.Inventory.mu.Lock()
	for owner, o := range r.Inventory.ownerIndex {
		switch {
		case owner == ownerStatic:
		case strings.HasPrefix(owner, "vrrp_instance."):
			instances[strings.TrimPrefix(owner, "vrrp_instance.")] = true
		case strings.HasPrefix(owner, "vmac."):
			instances[strings.TrimPrefix(owner, "vmac.")] = true
		case strings.HasPrefix(owner, "virtual_server."):
			if name := strings.TrimPrefix(owner, "virtual_server."); !inConfig[name] {
				gone[name] = len(r.Inventory.owners[o].ids)
			}
		default:
			r.Inventory.mu.Unlock()
			return nil, false
		}
	}
	r.Inventory.mu.Unlock()
	net := Scope{Static: true, Skip: scope.Skip}
	for name := range instances {
		net.Instances = append(net.Instances, name)
	}
	sort.Strings(net.Instances)
	parts := []Scope{net}
	var cur []string
	weight := 0
	add := func(name string, w int) {
		cur = append(cur, name)
		if weight += w; weight >= size {
			parts = append(parts, Scope{VirtualServers: cur, Skip: scope.Skip})
			cur, weight = nil, 0
		}
	}
	for _, vs := range cfg.VirtualServers {
		add(vs.Name, 1+len(vs.RealServers))
	}
	names := make([]string, 0, len(gone))
	for name := range gone {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		add(name, gone[name])
	}
	if len(cur) > 0 {
		parts = append(parts, Scope{VirtualServers: cur, Skip: scope.Skip})
	}
	return parts, true
}

// partsIndex answers, for a part of ReconcileInParts, whether the config
// desires (under the facts) or declares (whatever the facts) an IPVS
// object through a virtual server of any part. It finds the virtual
// server by the object's service and computes that one's objects, the
// first time it is asked about it in a part.
type partsIndex struct {
	cfg   *schema.Config
	facts runtime.Facts
	skip  []string
	bySvc map[runtime.ServiceKey]string
	// The objects of the virtual servers asked about in this part.
	desired, declared map[string]State
}

func newPartsIndex(cfg *schema.Config, facts runtime.Facts, skip []string) (*partsIndex, error) {
	groups := map[string]*schema.VirtualServerGroup{}
	for _, g := range cfg.VirtualGroups {
		groups[g.Name] = g
	}
	x := &partsIndex{cfg: cfg, facts: facts, skip: skip, bySvc: make(map[runtime.ServiceKey]string, len(cfg.VirtualServers))}
	for _, vs := range cfg.VirtualServers {
		keys, err := serviceKeys(vs, groups)
		if err != nil {
			return nil, fmt.Errorf("desired state: %s: %w", VirtualServerOwner(vs.Name), err)
		}
		for _, k := range keys {
			x.bySvc[k] = vs.Name
		}
	}
	x.forget()
	return x, nil
}

// forget drops the objects computed for a part.
func (x *partsIndex) forget() { x.desired, x.declared = map[string]State{}, map[string]State{} }

// lookup is DiffOptions.elsewhere.
func (x *partsIndex) lookup(id string) (desired, declared bool) {
	k, ok := serviceKeyOfID(id)
	if !ok {
		return false, false
	}
	name, ok := x.bySvc[k.Normalize()]
	if !ok {
		return false, false
	}
	d, ok := x.desired[name]
	if !ok {
		scope := Scope{VirtualServers: []string{name}, Skip: x.skip}
		var err error
		if d, _, err = Desired(x.cfg, x.facts, scope); err != nil {
			d = nil // newPartsIndex made its keys: not expected
		}
		decl, _, err := Desired(x.cfg, allUp(x.cfg), scope)
		if err != nil {
			decl = nil
		}
		x.desired[name], x.declared[name] = d, decl
	}
	_, desired = d[id]
	_, declared = x.declared[name][id]
	return desired, declared
}

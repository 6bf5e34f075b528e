package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hacfg/hacfg/runtime"
)

// Action is what a change does to one kernel object.
type Action string

// The actions of a plan.
const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update" // in place, keeping connections
	ActionDelete  Action = "delete"
	ActionReplace Action = "replace" // delete, then create
)

// Symbol is the plan's one-character sign for the action.
func (a Action) Symbol() string {
	switch a {
	case ActionCreate:
		return "+"
	case ActionUpdate:
		return "~"
	case ActionDelete:
		return "-"
	case ActionReplace:
		return "-/+"
	}
	return "?"
}

// Change is one step of a plan.
type Change struct {
	Action Action `json:"action"`
	ID     string `json:"id"`
	Kind   Kind   `json:"kind"`
	Owner  string `json:"owner"`
	// Before is the observed object (nil for a create).
	Before *Object `json:"before,omitempty"`
	// After is the desired object (nil for a delete).
	After *Object `json:"after,omitempty"`
	// Reason is for display only.
	Reason string `json:"reason"`
	// Drain marks an update of a destination to weight 0 that keeps it
	// until its connections end or the drain timeout passes.
	Drain bool `json:"drain,omitempty"`
	// Declared marks a delete of an object the config still declares (a
	// VIP of a backup, a real server that failed its checks): it stays in
	// the inventory, so VRRP and health changes never rewrite it.
	Declared bool `json:"declared,omitempty"`
}

// Conflict is a foreign kernel object that collides with the config: same
// identity, different settings, not created by hacfg. It is left alone
// unless adoption is asked for.
type Conflict struct {
	ID       string  `json:"id"`
	Owner    string  `json:"owner"`
	Observed *Object `json:"observed"`
	Desired  *Object `json:"desired"`
	Reason   string  `json:"reason"`
}

// Plan is the difference between the desired and the observed state:
// plain data, rendered by package render and carried out by Apply.
type Plan struct {
	Version int       `json:"version"`
	Node    string    `json:"node,omitempty"`
	Created time.Time `json:"created"`
	Scope   Scope     `json:"scope"`
	// Changes in the order they must be applied.
	Changes []Change `json:"changes"`
	// Conflicts are reported, never applied.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Assumptions made where live facts were missing.
	Assumptions []string `json:"assumptions,omitempty"`
	// Adopt lists existing objects that match the config exactly and will
	// be recorded as owned, with no kernel change.
	Adopt map[string]Entry `json:"adopt,omitempty"`
	// Forget lists owned objects that are gone from the kernel and the
	// config; the inventory drops them.
	Forget []string `json:"forget,omitempty"`
	// Waiting lists destinations still draining, for display.
	Waiting []string `json:"waiting,omitempty"`
	// Fingerprint covers the observed state of every object the changes
	// touch, except what the runtime varies; a saved plan whose fingerprint
	// no longer matches the kernel is stale.
	Fingerprint string `json:"fingerprint"`
}

// Empty reports whether the plan changes nothing in the kernel.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Counts returns how many objects the plan adds, changes and destroys
// (a replace counts as one add and one destroy).
func (p *Plan) Counts() (add, change, destroy int) {
	for _, c := range p.Changes {
		switch c.Action {
		case ActionCreate:
			add++
		case ActionUpdate:
			change++
		case ActionDelete:
			destroy++
		case ActionReplace:
			add++
			destroy++
		}
	}
	return
}

// ErrWouldEmpty is returned by Diff when a plan would remove every owned
// address or every owned IPVS service because the config declares none,
// and AllowEmpty is not set.
var ErrWouldEmpty = errors.New("plan would remove all owned objects of a kind")

// DiffOptions tune Diff.
type DiffOptions struct {
	// Adopt takes over foreign objects that collide with the config
	// instead of reporting conflicts.
	Adopt bool
	// AllowEmpty permits a plan that removes every owned address or
	// service.
	AllowEmpty bool
	// DeclaredAddrs and DeclaredServices count what the config declares
	// regardless of facts, for the empty guard.
	DeclaredAddrs, DeclaredServices int
	// DrainTimeout bounds how long a removed destination with connections
	// is kept at weight 0. Zero deletes at once.
	DrainTimeout time.Duration
	// Now is the current time (for drains).
	Now time.Time
	// Declared holds the IDs the config declares whatever the facts
	// (every instance master, every real server healthy). Their
	// inventory entries are kept when the facts remove them.
	Declared State
	// declared computes Declared when Diff first needs it (an owned
	// object that is not desired), so that a plan with nothing to delete
	// does not compute the desired state twice.
	declared func() (State, error)
	// elsewhere, when set, says whether an object is desired, or
	// declared, by an owner out of scope: a part of ReconcileInParts
	// leaves an owned object another part desires to that part (which
	// takes it over), and keeps the inventory entry of one another part
	// declares, as a plan of everything would.
	elsewhere func(id string) (desired, declared bool)
}

// isDeclared reports whether the config declares id whatever the facts.
func (o *DiffOptions) isDeclared(id string) bool {
	if _, ok := o.Declared[id]; ok {
		return true
	}
	if o.elsewhere != nil {
		_, declared := o.elsewhere(id)
		return declared
	}
	return false
}

// Diff compares desired with observed over what hacfg owns (inv, limited to
// scope) and returns the plan.
func Diff(desired State, obs *Observed, inv *Inventory, scope Scope, opts DiffOptions) (*Plan, error) {
	// Diff only reads the inventory: it holds the lock throughout rather
	// than copying 100,000 entries.
	inv.mu.Lock()
	defer inv.mu.Unlock()
	owned := inv.ownedLocked(scope)
	p := &Plan{Version: 1, Created: opts.Now, Scope: scope, Adopt: map[string]Entry{}}
	var creates, deletes []Change
	// One reason string an owner, not one a change: a first apply creates
	// every real server of each virtual server.
	missing := map[string]string{}
	ownedDesired := 0
	// Map order: creates, deletes and conflicts are sorted below, which
	// costs what changes, not the size of the table.
	for id, d := range desired {
		o, present, same := obs.match(id, d)
		// Owned, in scope or by an owner out of it.
		e, isOwned, inScope := owned.get(id)
		if inScope {
			ownedDesired++
		}
		switch {
		case !present:
			reason, ok := missing[d.Owner]
			if !ok {
				reason = "declared in " + d.Owner + ", missing from the kernel"
				missing[d.Owner] = reason
			}
			creates = append(creates, Change{Action: ActionCreate, ID: id, Kind: d.Kind, Owner: d.Owner, After: d, Reason: reason})
		case same:
			if !isOwned || e.Owner != d.Owner || e.DrainingSince != nil {
				p.Adopt[id] = Entry{Owner: d.Owner, Kind: d.Kind}
			}
		case !isOwned && !opts.Adopt:
			p.Conflicts = append(p.Conflicts, Conflict{ID: id, Owner: d.Owner, Observed: o, Desired: d,
				Reason: fmt.Sprintf("%s exists with other settings and was not created by hacfg; pass --adopt to take it over", id)})
		default:
			c := Change{Action: updateAction(d, o), ID: id, Kind: d.Kind, Owner: d.Owner, Before: o, After: d,
				Reason: describeDiff(d, o)}
			if e.DrainingSince != nil {
				c.Reason = "re-added while draining: " + c.Reason
			}
			creates = append(creates, c)
		}
	}
	// Owned objects that are not desired: none when every owned object
	// was met above, the usual case, which then costs nothing more.
	var ownedIDs []string
	if ownedDesired < owned.n {
		owned.each(func(id string, _ Entry) {
			if _, ok := desired[id]; ok {
				return
			}
			if opts.elsewhere != nil {
				if desired, _ := opts.elsewhere(id); desired {
					return // another part's, to take over
				}
			}
			ownedIDs = append(ownedIDs, id)
		})
	}
	sort.Strings(ownedIDs)
	if len(ownedIDs) > 0 && opts.Declared == nil && opts.declared != nil {
		decl, err := opts.declared()
		if err != nil {
			return nil, err
		}
		opts.Declared = decl
	}
	for _, id := range ownedIDs {
		e, _, _ := owned.get(id)
		o, present := obs.get(id)
		if !present {
			if !opts.isDeclared(id) && scopeObserves(scope, e.Kind, obs) {
				p.Forget = append(p.Forget, id)
			}
			continue
		}
		if e.Kind == KindDestination && opts.DrainTimeout > 0 && o.ServiceKey.Protocol != runtime.ProtocolUDP {
			conns := o.Destination.ActiveConns + o.Destination.InactiveConns
			switch {
			case e.DrainingSince == nil && conns > 0:
				after := *o
				d := *o.Destination
				d.Weight = 0
				after.Destination = &d
				after.Owner = e.Owner
				deletes = append(deletes, Change{Action: ActionUpdate, ID: id, Kind: e.Kind, Owner: e.Owner, Before: o, After: &after, Drain: true,
					Reason: fmt.Sprintf("removed from %s: draining %d connections (weight 0, deleted when they end or after %s)", e.Owner, conns, opts.DrainTimeout)})
				continue
			case e.DrainingSince != nil && conns > 0 && opts.Now.Sub(*e.DrainingSince) < opts.DrainTimeout:
				p.Waiting = append(p.Waiting, fmt.Sprintf("%s: draining %d connections since %s", id, conns, e.DrainingSince.Format(time.RFC3339)))
				continue
			}
		}
		reason := "no longer in the config"
		if e.Owner != "" {
			reason = "owned by hacfg (" + e.Owner + "), no longer desired"
		}
		if e.DrainingSince != nil {
			reason = "drained"
		}
		deletes = append(deletes, Change{Action: ActionDelete, ID: id, Kind: e.Kind, Owner: e.Owner, Before: o, Reason: reason, Declared: opts.isDeclared(id)})
	}
	// Deletes first, dependents before what they depend on; then creates
	// and updates, dependencies first.
	sort.SliceStable(deletes, func(i, j int) bool {
		a, b := deletes[i], deletes[j]
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] > kindOrder[b.Kind]
		}
		return a.ID < b.ID
	})
	sort.SliceStable(creates, func(i, j int) bool {
		a, b := creates[i], creates[j]
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		return a.ID < b.ID
	})
	if len(deletes) == 0 {
		p.Changes = creates // no copy of a first apply's every object
	} else {
		p.Changes = append(deletes, creates...)
	}
	sort.Slice(p.Conflicts, func(i, j int) bool { return p.Conflicts[i].ID < p.Conflicts[j].ID })
	if len(p.Adopt) == 0 {
		p.Adopt = nil
	}
	if !opts.AllowEmpty {
		if err := emptyGuard(p, desired, opts); err != nil {
			return p, err
		}
	}
	p.Fingerprint = fingerprint(p.Changes, obs.get)
	return p, nil
}

// scopeObserves reports whether obs has read objects of kind, so that an
// owned object absent from it is really gone.
func scopeObserves(scope Scope, k Kind, obs *Observed) bool {
	switch k {
	case KindLink:
		return scope.hasNet()
	case KindService, KindDestination:
		return scope.hasIPVS() && obs.IPVSErr == nil
	}
	return scope.hasNet()
}

func emptyGuard(p *Plan, desired State, opts DiffOptions) error {
	var delAddrs, delSvcs int
	for _, c := range p.Changes {
		if c.Action != ActionDelete {
			continue
		}
		switch c.Kind {
		case KindAddress:
			delAddrs++
		case KindService:
			delSvcs++
		}
	}
	if delAddrs > 0 && opts.DeclaredAddrs == 0 {
		return fmt.Errorf("%w: it deletes every address hacfg owns (%d) because the config declares none; pass --allow-empty if that is intended", ErrWouldEmpty, delAddrs)
	}
	if delSvcs > 0 && opts.DeclaredServices == 0 {
		return fmt.Errorf("%w: it deletes every IPVS service hacfg owns (%d) because the config declares none; pass --allow-empty if that is intended", ErrWouldEmpty, delSvcs)
	}
	return nil
}

// updateAction picks an in-place update wherever the kernel allows one:
// routes (replace), IPVS services and destinations (edit). Addresses whose
// label, scope or broadcast changed must be deleted and re-added.
func updateAction(d, o *Object) Action {
	switch d.Kind {
	case KindAddress:
		return ActionReplace
	case KindLink:
		// Only the up/down state changes in place; a different MAC,
		// parent or mode needs a new link.
		dl, ol := *d.Link, *o.Link
		dl.Up = ol.Up
		if dl.HardwareAddr.String() == ol.HardwareAddr.String() && dl.Parent == ol.Parent && dl.MacvlanMode == ol.MacvlanMode {
			return ActionUpdate
		}
		return ActionReplace
	}
	return ActionUpdate
}

// describeDiff says what differs, for the plan's reason.
func describeDiff(d, o *Object) string {
	var parts []string
	add := func(name string, from, to any) {
		if fmt.Sprint(from) != fmt.Sprint(to) {
			parts = append(parts, fmt.Sprintf("%s %v → %v", name, from, to))
		}
	}
	switch d.Kind {
	case KindLink:
		a, b := o.Link, d.Link
		add("address", a.HardwareAddr, b.HardwareAddr)
		add("link", a.Parent, b.Parent)
		add("mode", a.MacvlanMode, b.MacvlanMode)
		add("up", a.Up, b.Up)
	case KindAddress:
		a, b := o.Address, d.Address
		add("label", quoteEmpty(a.Label), quoteEmpty(b.Label))
		add("scope", a.Scope, b.Scope)
		if b.Broadcast.IsValid() {
			add("brd", a.Broadcast, b.Broadcast)
		}
	case KindRoute:
		a, b := o.Route, d.Route
		add("via", a.Gateway, b.Gateway)
		add("src", a.Src, b.Src)
		add("dev", a.Interface, b.Interface)
		add("proto", a.Protocol, b.Protocol)
		add("scope", a.Scope, b.Scope)
		add("type", a.Type, b.Type)
	case KindService:
		a, b := o.Service, d.Service
		add("scheduler", a.Scheduler, b.Scheduler)
		add("persistence", a.Timeout, b.Timeout)
		add("netmask", a.Netmask, b.Netmask)
		add("flags", a.Flags, b.Flags)
	case KindDestination:
		a, b := o.Destination, d.Destination
		add("weight", a.Weight, b.Weight)
		add("forward", a.Forward, b.Forward)
		add("thresholds", fmt.Sprintf("%d/%d", a.UpperThreshold, a.LowerThreshold), fmt.Sprintf("%d/%d", b.UpperThreshold, b.LowerThreshold))
	}
	if len(parts) == 0 {
		return "differs from the config"
	}
	return strings.Join(parts, ", ")
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// fingerprint hashes the observed state of the objects changes touch,
// leaving out dynamic objects (VIPs under VRRP, health-checked
// destinations), whose presence and weight the runtime changes on its own.
func fingerprint(changes []Change, observed func(id string) (*Object, bool)) string {
	h := sha256.New()
	ids := make([]string, 0, len(changes))
	for _, c := range changes {
		if (c.After != nil && c.After.Dynamic) || (c.Before != nil && c.Before.Dynamic) {
			continue
		}
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o, _ := observed(id)
		fmt.Fprintf(h, "%s=%s\n", id, objectDigestLine(o))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func objectDigestLine(o *Object) string {
	if o == nil {
		return "absent"
	}
	switch o.Kind {
	case KindDestination:
		d := *o.Destination
		d.ActiveConns, d.InactiveConns = 0, 0
		return d.String()
	case KindAddress:
		a := *o.Address
		a.Protocol = 0
		return a.String()
	}
	return o.String()
}

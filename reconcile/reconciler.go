package reconcile

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/schema"
)

// DefaultDrainTimeout is how long a removed real server with connections is
// kept at weight 0 before it is deleted.
const DefaultDrainTimeout = 30 * time.Second

// Reconciler plans and applies kernel changes for one node. It is the only
// writer of kernel state; its methods serialize.
type Reconciler struct {
	Kernel       runtime.Kernel
	Inventory    *Inventory
	Log          *slog.Logger
	Now          func() time.Time
	DrainTimeout time.Duration

	mu sync.Mutex
}

// PlanOptions tune a plan.
type PlanOptions struct {
	Node       string
	Scope      Scope
	Adopt      bool
	AllowEmpty bool
	// NoVerify skips Reconcile's second plan. The agent sets it on the
	// scoped reconciles of its hot path (a takeover, a health change),
	// whose latency matters; its periodic full reconcile verifies.
	NoVerify bool

	// elsewhere, in a part of ReconcileInParts, says whether an object
	// the part's owners own but do not desire is desired, or declared,
	// by an owner of another part (see DiffOptions.elsewhere).
	elsewhere func(id string) (desired, declared bool)
}

// ErrStale is returned when a saved plan no longer matches the kernel.
var ErrStale = errors.New("saved plan is stale: the kernel changed since it was made")

// MissingInterfaceError lists interfaces the config needs that the node
// does not have.
type MissingInterfaceError struct {
	Missing map[string][]string // interface → owners needing it
}

func (e *MissingInterfaceError) Error() string {
	names := make([]string, 0, len(e.Missing))
	for n := range e.Missing {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("interface %s (needed by %s)", n, strings.Join(e.Missing[n], ", ")))
	}
	return "this node lacks " + strings.Join(parts, "; ")
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Plan computes the changes that make the kernel match cfg (resolved for
// the node) under facts.
func (r *Reconciler) Plan(cfg *schema.Config, facts runtime.Facts, opts PlanOptions) (*Plan, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, _, err := r.plan(cfg, facts, opts)
	return p, err
}

func (r *Reconciler) plan(cfg *schema.Config, facts runtime.Facts, opts PlanOptions) (*Plan, *Observed, error) {
	desired, assumed, err := Desired(cfg, facts, opts.Scope)
	if err != nil {
		return nil, nil, err
	}
	return r.planFor(cfg, desired, assumed, opts)
}

// planFor is plan for a desired state already computed: Reconcile's
// verification compares the kernel with the same desired state it
// applied, without building it again.
func (r *Reconciler) planFor(cfg *schema.Config, desired State, assumed []string, opts PlanOptions) (*Plan, *Observed, error) {
	obs, err := observeIndexed(r.Kernel, opts.Scope, r.scopedServices(desired, opts.Scope))
	if err != nil {
		return nil, nil, err
	}
	if err := preflight(desired, obs); err != nil {
		return nil, nil, err
	}
	addrs, svcs := declared(cfg)
	p, err := Diff(desired, obs, r.Inventory, opts.Scope, DiffOptions{
		Adopt: opts.Adopt, AllowEmpty: opts.AllowEmpty, DeclaredAddrs: addrs, DeclaredServices: svcs,
		DrainTimeout: r.drainTimeout(), Now: r.now(), elsewhere: opts.elsewhere,
		// What the config declares whatever the facts matters only for
		// owned objects a plan may delete or forget; with none, a plan of
		// a large table does not compute its desired state twice.
		declared: func() (State, error) {
			decl, _, err := Desired(cfg, allUp(cfg), opts.Scope)
			return decl, err
		},
	})
	if p != nil {
		p.Node = opts.Node
		p.Assumptions = assumed
	}
	return p, obs, err
}

func (r *Reconciler) drainTimeout() time.Duration {
	if r.DrainTimeout < 0 {
		return 0
	}
	if r.DrainTimeout == 0 {
		return DefaultDrainTimeout
	}
	return r.DrainTimeout
}

// scopedServices lists the IPVS services a scoped observe must read: those
// desired, and those owned, by the scope's virtual servers.
func (r *Reconciler) scopedServices(desired State, scope Scope) []runtime.ServiceKey {
	if scope.All() || !scope.hasIPVS() {
		return nil
	}
	seen := map[string]bool{}
	var keys []runtime.ServiceKey
	addKey := func(id string) {
		k, ok := serviceKeyOfID(id)
		if !ok || seen[k.String()] {
			return
		}
		seen[k.String()] = true
		keys = append(keys, k)
	}
	for id, o := range desired {
		if o.Kind == KindService {
			addKey(id)
		}
	}
	r.Inventory.ownedIDs(scope, func(id string, e Entry) {
		if e.Kind == KindService || e.Kind == KindDestination {
			addKey(id)
		}
	})
	return keys
}

// allUp are the facts under which the config declares the most: every
// instance master, every real server healthy.
func allUp(cfg *schema.Config) runtime.Facts {
	f := runtime.Facts{VRRP: make(map[string]runtime.VRRPRole, len(cfg.Instances))}
	for _, in := range cfg.Instances {
		f.VRRP[in.Name] = runtime.RoleMaster
	}
	return f
}

func declared(cfg *schema.Config) (addrs, services int) {
	addrs = len(cfg.StaticAddresses)
	for _, in := range cfg.Instances {
		addrs += len(in.VirtualAddresses) + len(in.ExcludedAddrs)
	}
	return addrs, len(cfg.VirtualServers)
}

func preflight(desired State, obs *Observed) error {
	missing := map[string][]string{}
	needsIPVS := false
	for _, o := range desired {
		iface := ""
		switch o.Kind {
		case KindLink:
			if !obs.Links[o.Link.Parent] && !slices.Contains(missing[o.Link.Parent], o.Owner) {
				missing[o.Link.Parent] = append(missing[o.Link.Parent], o.Owner)
			}
			continue
		case KindAddress:
			iface = o.Address.Interface
		case KindRoute:
			iface = o.Route.Interface
		case KindService, KindDestination:
			needsIPVS = true
		}
		if iface != "" && !obs.Links[iface] && desired["link:"+iface] == nil && !slices.Contains(missing[iface], o.Owner) {
			missing[iface] = append(missing[iface], o.Owner)
		}
	}
	for _, owners := range missing {
		sort.Strings(owners)
	}
	if len(missing) > 0 {
		return &MissingInterfaceError{Missing: missing}
	}
	if needsIPVS && obs.IPVSErr != nil {
		return fmt.Errorf("the config has virtual servers, but IPVS cannot be used here: %w", obs.IPVSErr)
	}
	return nil
}

// CheckFresh returns ErrStale if the kernel objects a saved plan touches
// changed since it was made (what the runtime varies excepted).
func (r *Reconciler) CheckFresh(p *Plan) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []runtime.ServiceKey
	seen := map[string]bool{}
	for _, c := range p.Changes {
		if k, ok := serviceKeyOfID(c.ID); ok && !seen[k.String()] {
			seen[k.String()] = true
			keys = append(keys, k)
		}
	}
	obs, err := Observe(r.Kernel, p.Scope, keys)
	if err != nil {
		return err
	}
	if fp := fingerprint(p.Changes, obs.get); fp != p.Fingerprint {
		return ErrStale
	}
	return nil
}

// Apply carries out a plan (see the package-level Apply).
func (r *Reconciler) Apply(p *Plan) (*Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.apply(p)
}

func (r *Reconciler) apply(p *Plan) (*Result, error) {
	res, err := Apply(r.Kernel, r.Inventory, p, r.now())
	if err != nil {
		r.log().Error("apply failed", "applied", len(res.Applied), "not_applied", len(res.NotApplied)+1, "err", err)
		return res, err
	}
	for _, c := range res.Applied {
		r.log().Info("applied", "action", string(c.Action), "id", c.ID, "owner", c.Owner, "reason", c.Reason)
	}
	return res, nil
}

// Reconcile plans, applies and verifies: after applying it plans again and
// fails if anything remains to change. This is what the agent calls on
// every fact change (with a scope) and periodically (with none).
func (r *Reconciler) Reconcile(cfg *schema.Config, facts runtime.Facts, opts PlanOptions) (*Plan, *Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconcileLocked(cfg, facts, opts)
}

func (r *Reconciler) reconcileLocked(cfg *schema.Config, facts runtime.Facts, opts PlanOptions) (*Plan, *Result, error) {
	desired, assumed, err := Desired(cfg, facts, opts.Scope)
	if err != nil {
		return nil, nil, err
	}
	p, _, err := r.planFor(cfg, desired, assumed, opts)
	if err != nil {
		return p, nil, err
	}
	if p.Empty() && len(p.Adopt) == 0 && len(p.Forget) == 0 {
		return p, &Result{}, nil
	}
	res, err := r.apply(p)
	if err != nil || opts.NoVerify {
		return p, res, err
	}
	// The same desired state: Diff and Apply only read it.
	again, _, err := r.planFor(cfg, desired, assumed, opts)
	if err != nil {
		return p, res, fmt.Errorf("verify: %w", err)
	}
	if !again.Empty() {
		var ids []string
		for _, c := range again.Changes {
			ids = append(ids, string(c.Action)+" "+c.ID)
		}
		return p, res, fmt.Errorf("verify: %d changes remain after apply: %s", len(again.Changes), strings.Join(ids, ", "))
	}
	return p, res, nil
}

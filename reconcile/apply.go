package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hacfg/hacfg/runtime"
)

// Result says what Apply did.
type Result struct {
	// Applied are the changes carried out, in order.
	Applied []Change
	// Failed is the change that failed, if any; Err says why.
	Failed *Change
	Err    error
	// NotApplied are the changes not attempted after the failure.
	NotApplied []Change
}

// Summary is a one-paragraph account of a failed apply.
func (r *Result) Summary() string {
	if r.Err == nil {
		return fmt.Sprintf("applied %d changes", len(r.Applied))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apply failed at %s %s: %v\n", r.Failed.Action, r.Failed.ID, r.Err)
	fmt.Fprintf(&b, "applied (%d):\n", len(r.Applied))
	for _, c := range r.Applied {
		fmt.Fprintf(&b, "  %s %s\n", c.Action.Symbol(), c.ID)
	}
	fmt.Fprintf(&b, "not applied (%d):\n", len(r.NotApplied)+1)
	fmt.Fprintf(&b, "  %s %s (failed)\n", r.Failed.Action.Symbol(), r.Failed.ID)
	for _, c := range r.NotApplied {
		fmt.Fprintf(&b, "  %s %s\n", c.Action.Symbol(), c.ID)
	}
	return b.String()
}

// Apply carries out plan's changes in order through k, stopping at the first
// failure, and records ownership in inv as each change lands (so the
// inventory is true whatever happens; a second apply finishes the job). It
// saves the inventory before returning. The returned error is the failure,
// wrapped with its operation; Result lists what was and was not applied.
func Apply(k runtime.Kernel, inv *Inventory, plan *Plan, now time.Time) (*Result, error) {
	// Until a change fails, the changes applied are the plan's first ones,
	// in order: res.Applied is then plan.Changes[:len(res.Applied)], and
	// shares its array (each append writes a change over itself), so a
	// first apply of a large table does not hold a second copy of it. The
	// first failure gives it an array of its own (ownApplied) before
	// anything after a gap is appended.
	res := &Result{Applied: plan.Changes[:0:len(plan.Changes)]}
	for id, e := range plan.Adopt {
		inv.Set(id, e)
	}
	for _, id := range plan.Forget {
		inv.Remove(id)
	}
	batcher, batching := k.(runtime.IPVSBatcher)
	if h, ok := k.(runtime.IPVSBatchHolder); ok && batching && len(plan.Changes) > ipvsBatchMax {
		// The batches of this apply share one socket.
		release := h.HoldIPVSBatch()
		defer release()
	}
	for i := 0; i < len(plan.Changes); i++ {
		if batching {
			// Runs of IPVS changes go to the kernel together (batch.go).
			if n := ipvsRunLen(plan.Changes, i); n > 1 {
				if !applyIPVSBatch(batcher, inv, plan.Changes[i:i+n], res, now) {
					res.NotApplied = append(res.NotApplied, plan.Changes[i+n:]...)
					break
				}
				i += n - 1
				continue
			}
		}
		c := plan.Changes[i]
		if err := applyOne(k, c); err != nil {
			res.ownApplied()
			res.Failed = &c
			res.Err = err
			res.NotApplied = append(res.NotApplied, plan.Changes[i+1:]...)
			break
		}
		res.Applied = append(res.Applied, c)
		record(inv, c, now)
	}
	if err := inv.Save(); err != nil {
		if res.Err == nil {
			res.Err = err
		} else {
			res.Err = errors.Join(res.Err, err)
		}
	}
	return res, res.Err
}

// ownApplied gives res.Applied an array of its own, apart from the plan's
// (see Apply), when a change fails.
func (res *Result) ownApplied() {
	res.Applied = slices.Clone(res.Applied)
}

func applyOne(k runtime.Kernel, c Change) error {
	var err error
	switch c.Action {
	case ActionCreate:
		err = create(k, c.After)
		if errors.Is(err, runtime.ErrExist) && c.After.Dynamic {
			// The runtime put it there since the plan was made.
			err = nil
		}
	case ActionDelete:
		err = remove(k, c.Before)
		if errors.Is(err, runtime.ErrNotExist) {
			err = nil // already gone: the goal is met
		}
	case ActionReplace:
		if err = remove(k, c.Before); err == nil || errors.Is(err, runtime.ErrNotExist) {
			err = create(k, c.After)
		}
	case ActionUpdate:
		err = update(k, c.After)
	default:
		err = fmt.Errorf("unknown action %q", c.Action)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Action, c.ID, explain(err, c))
	}
	return nil
}

// explain adds the likely cause to kernel errors a person can act on.
func explain(err error, c Change) error {
	o := c.After
	if o == nil {
		o = c.Before
	}
	switch {
	case errors.Is(err, runtime.ErrPermission):
		return fmt.Errorf("%w (hacfg must run as root, or with CAP_NET_ADMIN)", err)
	case errors.Is(err, runtime.ErrNoDevice) && o != nil:
		return fmt.Errorf("%w (interface %s does not exist)", err, objectIface(o))
	}
	return err
}

func objectIface(o *Object) string {
	switch o.Kind {
	case KindAddress:
		return o.Address.Interface
	case KindRoute:
		return o.Route.Interface
	case KindLink:
		return o.Link.Parent
	}
	return "?"
}

func create(k runtime.Kernel, o *Object) error {
	switch o.Kind {
	case KindLink:
		return k.AddLink(*o.Link)
	case KindAddress:
		return k.AddAddr(*o.Address)
	case KindRoute:
		return k.AddRoute(*o.Route)
	case KindRule:
		return k.AddRule(*o.Rule)
	case KindService:
		return k.AddService(*o.Service)
	case KindDestination:
		return k.AddDestination(*o.ServiceKey, *o.Destination)
	}
	return fmt.Errorf("create: unknown kind %q", o.Kind)
}

func remove(k runtime.Kernel, o *Object) error {
	switch o.Kind {
	case KindLink:
		return k.DelLink(o.Link.Name)
	case KindAddress:
		return k.DelAddr(*o.Address)
	case KindRoute:
		return k.DelRoute(*o.Route)
	case KindRule:
		return k.DelRule(*o.Rule)
	case KindService:
		return k.DelService(o.Service.Key())
	case KindDestination:
		return k.DelDestination(*o.ServiceKey, *o.Destination)
	}
	return fmt.Errorf("delete: unknown kind %q", o.Kind)
}

func update(k runtime.Kernel, o *Object) error {
	switch o.Kind {
	case KindLink:
		return k.SetLinkUp(o.Link.Name, o.Link.Up)
	case KindRoute:
		return k.ReplaceRoute(*o.Route)
	case KindService:
		return k.UpdateService(*o.Service)
	case KindDestination:
		return k.UpdateDestination(*o.ServiceKey, *o.Destination)
	case KindAddress:
		return k.ReplaceAddr(*o.Address)
	}
	return fmt.Errorf("update: kind %q cannot be updated in place", o.Kind)
}

package reconcile

import (
	"errors"
	"fmt"
	"time"

	"github.com/hacfg/hacfg/runtime"
)

// Batched IPVS writes. When the kernel implements runtime.IPVSBatcher,
// Apply hands each run of consecutive IPVS changes to it at once instead
// of one call per change: loading a table of 100,000 destinations then
// costs a few hundred system calls instead of 100,000 round trips.
//
// The report stays exact. The batcher says, op by op, what was carried out
// and what failed; every change carried out is Applied and recorded in the
// inventory, the first failure is Failed, and everything else — other
// failures of the run, ops the batcher did not attempt, and the rest of the
// plan — is NotApplied. What differs from one call per change is that the
// kernel may carry out some changes sent together with a failed one (they
// then appear in Applied after the failure's position in the plan), and
// that NotApplied may hold changes that were attempted and failed.

// ipvsBatchMax bounds a batch: a first apply of a large table is one run
// of IPVS changes, and a batch holds an op (216 bytes) and an outcome for
// each change it carries, 2.4 MB at once for 11,000 changes. The Linux
// batcher sends 512 ops at most per system call anyway, and Apply holds
// its socket across batches (runtime.IPVSBatchHolder), so a batch this
// size costs no more calls per change.
const ipvsBatchMax = 512

// ipvsRunLen returns how many changes from changes[i] on, up to
// ipvsBatchMax, can go to the kernel as one IPVS batch: creates, updates
// and deletes of services and destinations.
func ipvsRunLen(changes []Change, i int) int {
	n := 0
	for _, c := range changes[i:min(len(changes), i+ipvsBatchMax)] {
		if _, ok := ipvsOp(c); !ok {
			break
		}
		n++
	}
	return n
}

// ipvsOp is the kernel write of c, if c is an IPVS change a batch can carry.
func ipvsOp(c Change) (runtime.IPVSOp, bool) {
	switch {
	case c.Kind == KindService && c.Action == ActionCreate:
		return runtime.IPVSOp{Kind: runtime.IPVSAddService, Service: *c.After.Service}, true
	case c.Kind == KindService && c.Action == ActionUpdate:
		return runtime.IPVSOp{Kind: runtime.IPVSUpdateService, Service: *c.After.Service}, true
	case c.Kind == KindService && c.Action == ActionDelete:
		return runtime.IPVSOp{Kind: runtime.IPVSDelService, Key: c.Before.Service.Key()}, true
	case c.Kind == KindDestination && c.Action == ActionCreate:
		return runtime.IPVSOp{Kind: runtime.IPVSAddDestination, Key: *c.After.ServiceKey, Destination: *c.After.Destination}, true
	case c.Kind == KindDestination && c.Action == ActionUpdate:
		return runtime.IPVSOp{Kind: runtime.IPVSUpdateDestination, Key: *c.After.ServiceKey, Destination: *c.After.Destination}, true
	case c.Kind == KindDestination && c.Action == ActionDelete:
		return runtime.IPVSOp{Kind: runtime.IPVSDelDestination, Key: *c.Before.ServiceKey, Destination: *c.Before.Destination}, true
	}
	return runtime.IPVSOp{}, false
}

// applyIPVSBatch carries out run (IPVS changes only, see ipvsRunLen)
// through b, recording what lands in inv and the outcome in res. It
// reports whether every change of run was carried out.
func applyIPVSBatch(b runtime.IPVSBatcher, inv *Inventory, run []Change, res *Result, now time.Time) bool {
	ops := make([]runtime.IPVSOp, len(run))
	for i, c := range run {
		ops[i], _ = ipvsOp(c)
	}
	errs := b.IPVSBatch(ops)
	for i, c := range run {
		var err error
		if i < len(errs) {
			err = batchOutcome(c, errs[i])
		} else {
			err = fmt.Errorf("%s %s: not attempted", c.Action, c.ID)
			if res.Failed != nil {
				res.NotApplied = append(res.NotApplied, c)
				continue
			}
		}
		switch {
		case err == nil:
			res.Applied = append(res.Applied, c)
			record(inv, c, now)
		case res.Failed == nil:
			res.ownApplied()
			failed := c
			res.Failed = &failed
			res.Err = err
		default:
			res.NotApplied = append(res.NotApplied, c)
		}
	}
	return res.Failed == nil
}

// batchOutcome is applyOne's verdict on a change whose kernel write
// returned err.
func batchOutcome(c Change, err error) error {
	switch {
	case err == nil:
	case c.Action == ActionCreate && errors.Is(err, runtime.ErrExist) && c.After.Dynamic:
		err = nil // the runtime put it there since the plan was made
	case c.Action == ActionDelete && errors.Is(err, runtime.ErrNotExist):
		err = nil // already gone: the goal is met
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Action, c.ID, explain(err, c))
	}
	return nil
}

// record notes in inv what an applied change did to ownership.
func record(inv *Inventory, c Change, now time.Time) {
	switch {
	case c.Action == ActionDelete && c.Declared:
		// Still ours: the facts removed it, the config did not.
	case c.Action == ActionDelete:
		inv.Remove(c.ID)
	case c.Drain:
		t := now
		inv.Set(c.ID, Entry{Owner: c.Owner, Kind: c.Kind, DrainingSince: &t})
	default:
		inv.Set(c.ID, Entry{Owner: c.Owner, Kind: c.Kind})
	}
}

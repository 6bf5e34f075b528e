package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
)

// batchKernel gives the fake kernel an IPVSBatch that behaves as the Linux
// one does: ops go to the kernel in groups; within a group the kernel
// carries on after a failed op; after a group with a failure, later
// groups are not sent.
type batchKernel struct {
	*fake.Kernel
	group   int
	batches [][]runtime.IPVSOp
	// holds counts HoldIPVSBatch calls; held is true until the release,
	// heldBatches counts the batches made meanwhile.
	holds, heldBatches int
	held               bool
}

// HoldIPVSBatch counts holds, and the batches made while one is held.
func (k *batchKernel) HoldIPVSBatch() func() {
	k.holds++
	k.held = true
	return func() { k.held = false }
}

func (k *batchKernel) IPVSBatch(ops []runtime.IPVSOp) []error {
	if k.held {
		k.heldBatches++
	}
	k.batches = append(k.batches, ops)
	var errs []error
	for start := 0; start < len(ops); start += k.group {
		failed := false
		for _, op := range ops[start:min(start+k.group, len(ops))] {
			err := op.Do(k)
			failed = failed || err != nil
			errs = append(errs, err)
		}
		if failed {
			break
		}
	}
	return errs
}

func TestBatchedApply(t *testing.T) {
	k := &batchKernel{Kernel: fake.NewKernel("eth0", "eth1"), group: 2}
	r, _ := newTestReconciler(k)
	cfg := loadConfig(t, config1, "")
	p := mustReconcile(t, r, cfg, runtime.Facts{})
	if diff := cmp.Diff(state1, k.String()); diff != "" {
		t.Errorf("kernel (-want +got):\n%s", diff)
	}
	// The service and its two destinations went in one batch; addresses,
	// routes and rules one by one.
	var kinds []runtime.IPVSOpKind
	for _, b := range k.batches {
		for _, op := range b {
			kinds = append(kinds, op.Kind)
		}
	}
	want := []runtime.IPVSOpKind{runtime.IPVSAddService, runtime.IPVSAddDestination, runtime.IPVSAddDestination}
	if len(k.batches) != 1 || !cmp.Equal(want, kinds) {
		t.Errorf("batches = %d with ops %v, want 1 with %v", len(k.batches), kinds, want)
	}
	if got := r.Inventory.Len(); got != len(p.Changes) {
		t.Errorf("inventory has %d objects, want %d", got, len(p.Changes))
	}

	// Updates and deletes batch too: change one weight, drop the other
	// real server (no connections: deleted at once).
	k.batches = nil
	cfg2 := loadConfig(t, `
virtual_server "web" {
  address = "192.0.2.10:80"
  lb_algo = "rr"
  lb_kind = "DR"
  real_server "203.0.113.5:80" {
    weight = 4
  }
}
`, "")
	p2, _, err := r.Reconcile(cfg2, runtime.Facts{}, PlanOptions{Scope: Scope{VirtualServers: []string{"web"}}})
	if err != nil {
		t.Fatal(err)
	}
	kinds = nil
	for _, b := range k.batches {
		for _, op := range b {
			kinds = append(kinds, op.Kind)
		}
	}
	want = []runtime.IPVSOpKind{runtime.IPVSDelDestination, runtime.IPVSUpdateService, runtime.IPVSUpdateDestination}
	if !cmp.Equal(want, kinds) {
		t.Errorf("ops %v, want %v (plan %d changes)", kinds, want, len(p2.Changes))
	}
	if _, ok := r.Inventory.Get("rs:tcp/192.0.2.10:80/203.0.113.6:80"); ok {
		t.Error("deleted destination still in the inventory")
	}
}

func TestBatchedPartialApply(t *testing.T) {
	const (
		svc = "ipvs:tcp/192.0.2.10:80"
		rs5 = "rs:tcp/192.0.2.10:80/203.0.113.5:80"
		rs6 = "rs:tcp/192.0.2.10:80/203.0.113.6:80"
	)
	vips := []string{"vip:eth0/192.0.2.10/24", "vip:eth0/192.0.2.11/24"}
	rest := []string{"route:254/198.51.100.0/24/0", "rule:priority 1000 from 192.0.2.10/32 lookup 100"}
	tests := []struct {
		name           string
		group          int
		wantApplied    []string
		wantNotApplied []string
	}{
		{
			name:           "one op per group stops at the failure",
			group:          1,
			wantApplied:    append(vips[:2:2], svc),
			wantNotApplied: append([]string{rs6}, rest...),
		},
		{
			name:           "ops sent with the failed one still land",
			group:          512,
			wantApplied:    append(vips[:2:2], svc, rs6),
			wantNotApplied: rest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &batchKernel{Kernel: fake.NewKernel("eth0", "eth1"), group: tt.group}
			boom := errors.New("injected failure")
			k.FailOn(fake.FailID("AddDestination", "tcp/192.0.2.10:80/203.0.113.5:80", boom))
			r, _ := newTestReconciler(k)
			cfg := loadConfig(t, config1, "")
			p, res, err := r.Reconcile(cfg, runtime.Facts{}, PlanOptions{})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want the injected failure", err)
			}
			ids := func(cs []Change) []string {
				var out []string
				for _, c := range cs {
					out = append(out, c.ID)
				}
				return out
			}
			if res.Failed == nil || res.Failed.ID != rs5 {
				t.Fatalf("failed = %+v, want %s", res.Failed, rs5)
			}
			if diff := cmp.Diff(tt.wantApplied, ids(res.Applied)); diff != "" {
				t.Errorf("applied (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNotApplied, ids(res.NotApplied)); diff != "" {
				t.Errorf("not applied (-want +got):\n%s", diff)
			}
			if n := len(res.Applied) + 1 + len(res.NotApplied); n != len(p.Changes) {
				t.Errorf("applied + failed + not applied = %d, want the plan's %d", n, len(p.Changes))
			}
			// The result shares the plan's array until the failure: the
			// plan is still the plan.
			if diff := cmp.Diff(append(vips[:2:2], svc, rs5, rs6, rest[0], rest[1]), ids(p.Changes)); diff != "" {
				t.Errorf("plan after the apply (-want +got):\n%s", diff)
			}
			// Ownership is exactly what landed.
			if diff := cmp.Diff(sortedCopy(tt.wantApplied), r.Inventory.IDs()); diff != "" {
				t.Errorf("inventory (-want +got):\n%s", diff)
			}
			// A second apply finishes the job.
			k.FailOn(nil)
			mustReconcile(t, r, cfg, runtime.Facts{})
			if diff := cmp.Diff(state1, k.String()); diff != "" {
				t.Errorf("kernel (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBatchOutcome(t *testing.T) {
	svc := &Object{ID: "ipvs:tcp/192.0.2.10:80", Kind: KindService}
	dyn := &Object{ID: "rs:tcp/192.0.2.10:80/203.0.113.5:80", Kind: KindDestination, Dynamic: true}
	tests := []struct {
		name   string
		change Change
		err    error
		want   error // nil: success
	}{
		{"success", Change{Action: ActionCreate, ID: svc.ID, Kind: svc.Kind, After: svc}, nil, nil},
		{"create exists", Change{Action: ActionCreate, ID: svc.ID, Kind: svc.Kind, After: svc}, runtime.ErrExist, runtime.ErrExist},
		{"dynamic create exists", Change{Action: ActionCreate, ID: dyn.ID, Kind: dyn.Kind, After: dyn}, runtime.ErrExist, nil},
		{"delete gone", Change{Action: ActionDelete, ID: svc.ID, Kind: svc.Kind, Before: svc}, runtime.ErrNotExist, nil},
		{"update gone", Change{Action: ActionUpdate, ID: svc.ID, Kind: svc.Kind, Before: svc, After: svc}, runtime.ErrNotExist, runtime.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := batchOutcome(tt.change, tt.err)
			if (got == nil) != (tt.want == nil) || (tt.want != nil && !errors.Is(got, tt.want)) {
				t.Errorf("batchOutcome = %v, want %v", got, tt.want)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	st := State{}
	for _, id := range s {
		st[id] = nil
	}
	return st.IDs()
}

func TestIPVSRunLen(t *testing.T) {
	key := runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Family: runtime.FamilyV4}
	dest := Change{Action: ActionCreate, Kind: KindDestination, After: &Object{ServiceKey: &key, Destination: &runtime.Destination{}}}
	route := Change{Action: ActionCreate, Kind: KindRoute, After: &Object{}}
	// A run of 2×ipvsBatchMax+88 destinations, then a route, then two
	// destinations.
	var changes []Change
	for range 2*ipvsBatchMax + 88 {
		changes = append(changes, dest)
	}
	changes = append(changes, route, dest, dest)
	var got []int
	for i := 0; i < len(changes); {
		n := max(1, ipvsRunLen(changes, i))
		got = append(got, n)
		i += n
	}
	want := []int{ipvsBatchMax, ipvsBatchMax, 88, 1, 2}
	if !cmp.Equal(want, got) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

// TestBatchedApplyHolds: an apply of more changes than a batch carries
// holds the batcher's socket across its batches, and lets it go.
func TestBatchedApplyHolds(t *testing.T) {
	k := &batchKernel{Kernel: fake.NewKernel("eth0"), group: 64}
	r, _ := newTestReconciler(k)
	var b strings.Builder
	b.WriteString("virtual_server \"big\" {\n  address = \"192.0.2.30:80\"\n")
	for i := range ipvsBatchMax + 10 {
		fmt.Fprintf(&b, "  real_server \"198.51.100.%d:%d\" {}\n", i%250+1, 1000+i)
	}
	b.WriteString("}\n")
	cfg := loadConfig(t, b.String(), "")
	mustReconcile(t, r, cfg, runtime.Facts{})
	if k.holds != 1 || k.held || k.heldBatches != len(k.batches) || len(k.batches) < 2 {
		t.Errorf("holds %d (held at the end: %v), %d of %d batches held; want 1 hold, released, every batch (2 or more) held",
			k.holds, k.held, k.heldBatches, len(k.batches))
	}
	if n := len(k.Kernel.String()); n == 0 {
		t.Error("nothing applied")
	}
}

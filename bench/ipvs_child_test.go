package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hacfg/hacfg/reconcile"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/linux"
	"github.com/hacfg/hacfg/schema"
)

// The in-VM benchmark runs each hacfg phase in a fresh child process (this
// test binary again, running TestIPVSChild) so that each phase's peak
// memory is its own. The child reads these variables.
const (
	envChild    = "HACFG_BENCH_CHILD"    // phase to run: apply, plan, change
	envChildDir = "HACFG_BENCH_DIR"      // directory with config.hcl, inventory.json; result.json is written there
	envServices = "HACFG_BENCH_SERVICES" // table size (virtual services)
	envReals    = "HACFG_BENCH_REALS"    // real servers per virtual service
)

// phaseResult is what a child reports.
type phaseResult struct {
	Phase   string             `json:"phase"`
	Seconds map[string]float64 `json:"seconds"`
	Counts  map[string]int     `json:"counts"`
	// VmHWMKiB is the child's peak resident set from /proc/self/status.
	VmHWMKiB int64 `json:"vm_hwm_kib"`
}

// TestIPVSChild is one phase of BenchmarkIPVSInVM, run in a child process;
// it skips unless HACFG_BENCH_CHILD names the phase.
func TestIPVSChild(t *testing.T) {
	phase := os.Getenv(envChild)
	if phase == "" {
		t.Skip("runs only as a child of BenchmarkIPVSInVM")
	}
	dir := os.Getenv(envChildDir)
	tbl, err := tableFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	res := phaseResult{Phase: phase, Seconds: map[string]float64{}, Counts: map[string]int{}}
	switch phase {
	case "apply":
		err = childApply(dir, &res)
	case "plan":
		err = childPlan(dir, &res)
	case "change":
		err = childChange(dir, tbl, &res)
	default:
		err = fmt.Errorf("unknown phase %q", phase)
	}
	if err != nil {
		t.Fatalf("phase %s: %v", phase, err)
	}
	res.VmHWMKiB, err = vmHWM()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "result.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func tableFromEnv() (ipvsTable, error) {
	t := ipvsTable{services: 10000, reals: 10}
	for _, v := range []struct {
		env string
		dst *int
	}{{envServices, &t.services}, {envReals, &t.reals}} {
		s := os.Getenv(v.env)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return t, fmt.Errorf("%s=%q: want a positive number", v.env, s)
		}
		*v.dst = n
	}
	return t, nil
}

// vmHWM returns the peak resident set size of this process in KiB.
func vmHWM() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read peak memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.New("read peak memory: no VmHWM in /proc/self/status")
}

// stopwatch records the time of consecutive steps.
type stopwatch struct {
	res  *phaseResult
	last time.Time
}

func newStopwatch(res *phaseResult) *stopwatch { return &stopwatch{res: res, last: time.Now()} }

func (s *stopwatch) lap(name string) {
	now := time.Now()
	s.res.Seconds[name] += now.Sub(s.last).Seconds()
	s.last = now
}

// loadConfig reads and resolves config.hcl as hacfg plan and apply do:
// from the config cache next to the inventory while the config is
// unchanged since the last load (counted as config_cached), else parsed,
// resolved and the cache refreshed.
func loadConfig(dir string, sw *stopwatch, res *phaseResult) (*schema.Config, error) {
	path := filepath.Join(dir, "config.hcl")
	cache := schema.ConfigCache{Path: filepath.Join(dir, "config.cache")}
	if cfg, _, err := cache.Get(path, "", ""); err == nil {
		sw.lap("load")
		res.Counts["config_cached"] = 1
		return cfg, nil
	}
	raw, srcs, diags := schema.Load(path)
	if diags.HasErrors() {
		return nil, fmt.Errorf("load config: %s", diags.Error())
	}
	sw.lap("load")
	cfg, err := schema.Resolve(raw, "")
	if err != nil {
		return nil, err
	}
	sw.lap("resolve")
	if len(diags) == 0 {
		if err := cache.Put(srcs, "", "", "", cfg); err != nil {
			return nil, err
		}
	}
	sw.lap("cache_put")
	return cfg, nil
}

// loadAndOpen loads the config while it opens the kernel and the
// inventory, as hacfg plan and apply do. The load's steps and the open
// are timed each on its own (they overlap); load_open is the time of both.
func loadAndOpen(dir string, sw *stopwatch, res *phaseResult) (*schema.Config, *reconcile.Reconciler, *countingKernel, func(), error) {
	type opened struct {
		r       *reconcile.Reconciler
		ck      *countingKernel
		closeFn func()
		err     error
		took    time.Duration
	}
	kc := make(chan opened, 1)
	go func() {
		start := time.Now()
		r, ck, closeFn, err := openReconciler(dir)
		kc <- opened{r, ck, closeFn, err, time.Since(start)}
	}()
	cfg, err := loadConfig(dir, newStopwatch(res), res)
	k := <-kc
	sw.lap("load_open")
	res.Seconds["open"] = k.took.Seconds()
	if err == nil && k.err != nil {
		err = k.err
	}
	if err != nil {
		if k.err == nil {
			k.closeFn()
		}
		return nil, nil, nil, nil, err
	}
	return cfg, k.r, k.ck, k.closeFn, nil
}

// openReconciler opens the kernel of the current network namespace and
// the inventory in dir, as hacfg plan and apply do.
func openReconciler(dir string) (*reconcile.Reconciler, *countingKernel, func(), error) {
	k, err := linux.Open("", nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := k.IPVSError(); err != nil {
		k.Close()
		return nil, nil, nil, err
	}
	inv, err := reconcile.LoadInventory(filepath.Join(dir, "inventory.json"))
	if err != nil {
		k.Close()
		return nil, nil, nil, err
	}
	ck := newCountingKernel(k)
	return &reconcile.Reconciler{Kernel: ck, Inventory: inv}, ck, func() { k.Close() }, nil
}

// childApply is hacfg apply of the config from an empty kernel: load,
// resolve, plan, apply (saving the inventory), then verify.
func childApply(dir string, res *phaseResult) error {
	sw := newStopwatch(res)
	cfg, r, ck, closeFn, err := loadAndOpen(dir, sw, res)
	if err != nil {
		return err
	}
	defer closeFn()
	p, err := r.Plan(cfg, runtime.Facts{}, reconcile.PlanOptions{})
	if err != nil {
		return err
	}
	sw.lap("plan")
	if _, err := r.Apply(p); err != nil {
		return err
	}
	sw.lap("apply")
	res.Counts["changes"] = len(p.Changes)
	res.Counts["writes"] = ck.writes()
	again, err := r.Plan(cfg, runtime.Facts{}, reconcile.PlanOptions{})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	sw.lap("verify")
	if !again.Empty() {
		return fmt.Errorf("verify: %d changes remain after apply", len(again.Changes))
	}
	return nil
}

// childPlan is hacfg plan with nothing to change.
func childPlan(dir string, res *phaseResult) error {
	sw := newStopwatch(res)
	cfg, r, _, closeFn, err := loadAndOpen(dir, sw, res)
	if err != nil {
		return err
	}
	defer closeFn()
	p, err := r.Plan(cfg, runtime.Facts{}, reconcile.PlanOptions{})
	if err != nil {
		return err
	}
	sw.lap("plan")
	// The kernel dump alone, the floor of a full plan.
	if _, err := r.Kernel.ListAll(); err != nil {
		return err
	}
	sw.lap("listall")
	// The desired state alone, to show where the plan's time goes.
	desired, _, err := reconcile.Desired(cfg, runtime.Facts{}, reconcile.Scope{})
	if err != nil {
		return err
	}
	sw.lap("desired")
	if len(desired) == 0 {
		return errors.New("no desired state")
	}
	// What the config costs without the cache, for comparison.
	raw, _, diags := schema.Load(filepath.Join(dir, "config.hcl"))
	if diags.HasErrors() {
		return fmt.Errorf("load config: %s", diags.Error())
	}
	if _, err := schema.Resolve(raw, ""); err != nil {
		return err
	}
	sw.lap("uncached_load")
	if !p.Empty() {
		return fmt.Errorf("plan of the applied config has %d changes, want none (first: %s %s)", len(p.Changes), p.Changes[0].Action, p.Changes[0].ID)
	}
	return nil
}

// childChange changes one real server's weight in the loaded config and
// reconciles it twice: with a full plan, and with a plan scoped to its
// virtual server (what the agent does when it knows what changed). Each
// must take exactly one kernel write.
func childChange(dir string, tbl ipvsTable, res *phaseResult) error {
	sw := newStopwatch(res)
	cfg, r, ck, closeFn, err := loadAndOpen(dir, sw, res)
	if err != nil {
		return err
	}
	defer closeFn()
	vsIdx, rsIdx, weight := tbl.changed()
	name := vsName(vsIdx)
	var vs *schema.VirtualServer
	for _, v := range cfg.VirtualServers {
		if v.Name == name {
			vs = v
		}
	}
	if vs == nil || len(vs.RealServers) <= rsIdx {
		return fmt.Errorf("no real server %d in virtual server %s", rsIdx, name)
	}
	setWeight := func(w int) {
		// Resolve shares unchanged parts with the loaded config: copy
		// before changing.
		rs := *vs.RealServers[rsIdx]
		rs.Weight = &w
		servers := append([]*schema.RealServer(nil), vs.RealServers...)
		servers[rsIdx] = &rs
		vs.RealServers = servers
	}
	for _, run := range []struct {
		name   string
		scope  reconcile.Scope
		weight int
	}{
		{"full", reconcile.Scope{}, weight},
		{"scoped", reconcile.Scope{VirtualServers: []string{name}}, weight + 1},
	} {
		setWeight(run.weight)
		sw.lap("edit")
		before := ck.writes()
		p, err := r.Plan(cfg, runtime.Facts{}, reconcile.PlanOptions{Scope: run.scope})
		if err != nil {
			return err
		}
		sw.lap(run.name + "_plan")
		if _, err := r.Apply(p); err != nil {
			return err
		}
		sw.lap(run.name + "_apply")
		res.Counts[run.name+"_changes"] = len(p.Changes)
		res.Counts[run.name+"_writes"] = ck.writes() - before
	}
	// What one inventory save costs, which every apply pays: the part of
	// a one-write apply that grows with the table.
	if err := r.Inventory.Save(); err != nil {
		return err
	}
	sw.lap("inventory_save")
	// Leave the kernel as the config on disk says, for later phases.
	_, rs := tbl.real(vsIdx, rsIdx)
	setWeight(rs)
	if _, _, err := r.Reconcile(cfg, runtime.Facts{}, reconcile.PlanOptions{Scope: reconcile.Scope{VirtualServers: []string{name}}}); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// countingKernel counts the kernel writes made through it; a batch counts
// one write per op attempted.
type countingKernel struct {
	runtime.Kernel
	n atomic.Int64
}

func newCountingKernel(k runtime.Kernel) *countingKernel { return &countingKernel{Kernel: k} }

func (c *countingKernel) writes() int { return int(c.n.Load()) }

func (c *countingKernel) count(err error) error {
	c.n.Add(1)
	return err
}

func (c *countingKernel) AddAddr(a runtime.Address) error { return c.count(c.Kernel.AddAddr(a)) }
func (c *countingKernel) ReplaceAddr(a runtime.Address) error {
	return c.count(c.Kernel.ReplaceAddr(a))
}
func (c *countingKernel) DelAddr(a runtime.Address) error { return c.count(c.Kernel.DelAddr(a)) }
func (c *countingKernel) AddRoute(r runtime.Route) error  { return c.count(c.Kernel.AddRoute(r)) }
func (c *countingKernel) ReplaceRoute(r runtime.Route) error {
	return c.count(c.Kernel.ReplaceRoute(r))
}
func (c *countingKernel) DelRoute(r runtime.Route) error     { return c.count(c.Kernel.DelRoute(r)) }
func (c *countingKernel) AddRule(r runtime.Rule) error       { return c.count(c.Kernel.AddRule(r)) }
func (c *countingKernel) DelRule(r runtime.Rule) error       { return c.count(c.Kernel.DelRule(r)) }
func (c *countingKernel) AddService(s runtime.Service) error { return c.count(c.Kernel.AddService(s)) }
func (c *countingKernel) UpdateService(s runtime.Service) error {
	return c.count(c.Kernel.UpdateService(s))
}
func (c *countingKernel) DelService(k runtime.ServiceKey) error {
	return c.count(c.Kernel.DelService(k))
}
func (c *countingKernel) AddDestination(k runtime.ServiceKey, d runtime.Destination) error {
	return c.count(c.Kernel.AddDestination(k, d))
}
func (c *countingKernel) UpdateDestination(k runtime.ServiceKey, d runtime.Destination) error {
	return c.count(c.Kernel.UpdateDestination(k, d))
}
func (c *countingKernel) DelDestination(k runtime.ServiceKey, d runtime.Destination) error {
	return c.count(c.Kernel.DelDestination(k, d))
}

func (c *countingKernel) IPVSBatch(ops []runtime.IPVSOp) []error {
	b, ok := c.Kernel.(runtime.IPVSBatcher)
	if !ok {
		panic("countingKernel: the kernel has no IPVSBatch")
	}
	errs := b.IPVSBatch(ops)
	c.n.Add(int64(len(errs)))
	return errs
}

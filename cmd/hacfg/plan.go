package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hacfg/hacfg/reconcile"
	"github.com/hacfg/hacfg/reconcile/render"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/agent"
	"github.com/hacfg/hacfg/runtime/linux"
	"github.com/hacfg/hacfg/schema"
)

// kernelFlags select the kernel and the state to act on.
type kernelFlags struct {
	netns    string
	stateDir string
}

func (k *kernelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.netns, "netns", "", "act on the network namespace at this path (default: the current one)")
	fs.StringVar(&k.stateDir, "state-dir", "/var/lib/hacfg", "directory of the ownership inventory and the config cache")
}

func (k *kernelFlags) open(e *env) (*reconcile.Reconciler, func(), error) {
	kern, err := linux.Open(k.netns, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, nil, fmt.Errorf("open kernel: %w", err)
	}
	inv, err := reconcile.LoadInventory(filepath.Join(k.stateDir, "inventory.json"))
	if err != nil {
		kern.Close()
		return nil, nil, err
	}
	r := &reconcile.Reconciler{Kernel: kern, Inventory: inv}
	return r, func() { kern.Close() }, nil
}

// assumeFlag collects --assume-state INSTANCE=STATE.
type assumeFlag map[string]runtime.VRRPRole

func (a assumeFlag) String() string { return "" }

func (a assumeFlag) Set(s string) error {
	name, state, ok := strings.Cut(s, "=")
	role := runtime.VRRPRole(strings.ToUpper(state))
	if !ok || name == "" || (role != runtime.RoleMaster && role != runtime.RoleBackup && role != runtime.RoleFault) {
		return fmt.Errorf("want INSTANCE=MASTER|BACKUP|FAULT, got %q", s)
	}
	a[name] = role
	return nil
}

// savedPlan is what plan -out writes and apply PLANFILE reads.
type savedPlan struct {
	Format     string                      `json:"format"`
	ConfigPath string                      `json:"config_path"`
	Node       string                      `json:"node"`
	Facts      map[string]runtime.VRRPRole `json:"assumed_vrrp,omitempty"`
	Plan       *reconcile.Plan             `json:"plan"`
}

const savedPlanFormat = "hacfg-plan/1"

type planArgs struct {
	socket     string
	cf         configFlags
	kf         kernelFlags
	assume     assumeFlag
	adopt      bool
	allowEmpty bool
	noColor    bool
}

func (p *planArgs) register(fs *flag.FlagSet) {
	p.cf.register(fs)
	p.kf.register(fs)
	p.assume = assumeFlag{}
	fs.Var(p.assume, "assume-state", "assume a VRRP instance's state, INSTANCE=MASTER|BACKUP (repeatable)")
	fs.BoolVar(&p.adopt, "adopt", false, "take over existing kernel objects that collide with the config")
	fs.BoolVar(&p.allowEmpty, "allow-empty", false, "allow removing every owned address or service")
	fs.BoolVar(&p.noColor, "no-color", false, "no ANSI colours")
	fs.StringVar(&p.socket, "status-socket", agent.DefaultSocket, "a running agent's socket: its live facts are used")
}

// facts are the running agent's live facts, or offline: configured initial
// states unless assumed.
func (p *planArgs) facts(e *env, cfg *schema.Config) (runtime.Facts, error) {
	if len(p.assume) == 0 {
		if _, err := os.Stat(p.socket); err == nil {
			if f, err := agent.NewClient(p.socket).Facts(); err == nil {
				fmt.Fprintf(e.stderr, "Using the live facts of the agent at %s.\n", p.socket)
				return f, nil
			}
		}
		return runtime.Facts{}, nil
	}
	f := runtime.Facts{VRRP: map[string]runtime.VRRPRole{}}
	for _, in := range cfg.Instances {
		role := runtime.RoleBackup
		if in.State == "MASTER" {
			role = runtime.RoleMaster
		}
		f.VRRP[in.Name] = role
	}
	for name, role := range p.assume {
		if _, ok := f.VRRP[name]; !ok {
			return f, fmt.Errorf("--assume-state: no vrrp_instance %q", name)
		}
		f.VRRP[name] = role
	}
	return f, nil
}

func (p *planArgs) makePlan(e *env) (*reconcile.Plan, *schema.Config, runtime.Facts, *reconcile.Reconciler, func(), error) {
	// The kernel and the inventory are opened while the config loads:
	// with a large table each takes a while.
	type opened struct {
		r       *reconcile.Reconciler
		closeFn func()
		err     error
	}
	kc := make(chan opened, 1)
	go func() {
		r, closeFn, err := p.kf.open(e)
		kc <- opened{r, closeFn, err}
	}()
	cfg, node, err := p.cf.loadResolved(e, p.kf.stateDir)
	k := <-kc
	if err == nil && k.err != nil {
		err = k.err
	}
	if err != nil {
		if k.err == nil {
			k.closeFn()
		}
		return nil, nil, runtime.Facts{}, nil, nil, err
	}
	r, closeFn := k.r, k.closeFn
	facts, err := p.facts(e, cfg)
	if err != nil {
		closeFn()
		return nil, nil, facts, nil, nil, err
	}
	plan, err := r.Plan(cfg, facts, reconcile.PlanOptions{Node: node, Adopt: p.adopt, AllowEmpty: p.allowEmpty})
	if err != nil {
		closeFn()
		return nil, nil, facts, nil, nil, err
	}
	return plan, cfg, facts, r, closeFn, nil
}

func cmdPlan(e *env, args []string) error {
	fs := newFlags(e, "plan", "[-c PATH] [--node NAME] [--json] [--detailed-exitcode] [-out FILE]")
	var pa planArgs
	pa.register(fs)
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	detailed := fs.Bool("detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	out := fs.String("out", "", "save the plan to this file for 'hacfg apply FILE'")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	plan, _, facts, _, closeFn, err := pa.makePlan(e)
	if err != nil {
		return err
	}
	defer closeFn()
	if *asJSON {
		err = render.JSON(e.stdout, plan)
	} else {
		err = render.Text(e.stdout, plan, render.Options{Color: !pa.noColor && isTerminal(e.stdout)})
	}
	if err != nil {
		return err
	}
	if *out != "" {
		sp := savedPlan{Format: savedPlanFormat, ConfigPath: pa.cf.path, Node: plan.Node, Facts: facts.VRRP, Plan: plan}
		b, err := json.MarshalIndent(sp, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFileAtomic(*out, b, 0o600); err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(e.stdout, "\nSaved the plan to %s; apply it with: hacfg apply %s\n", *out, *out)
		}
	}
	if *detailed && !plan.Empty() {
		return errExit(2)
	}
	return nil
}

func cmdApply(e *env, args []string) error {
	fs := newFlags(e, "apply", "[-c PATH | PLANFILE] [--node NAME] [--auto-approve]")
	var pa planArgs
	pa.register(fs)
	auto := fs.Bool("auto-approve", false, "apply without asking")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("unexpected arguments %q", pos[1:])
	}
	saved := ""
	if len(pos) == 1 {
		if schema.FormatOf(pos[0]) != "" || isDir(pos[0]) {
			pa.cf.path = pos[0]
		} else {
			saved = pos[0]
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("apply changes addresses, routes and IPVS: run it as root (nothing was changed)")
	}
	unlock, err := lockState(pa.kf.stateDir)
	if err != nil {
		return applyViaAgent(e, &pa, err)
	}
	defer unlock()
	if saved != "" {
		return applySaved(e, &pa, saved)
	}
	plan, cfg, facts, r, closeFn, err := pa.makePlan(e)
	if err != nil {
		return err
	}
	defer closeFn()
	opts := render.Options{Color: !pa.noColor && isTerminal(e.stdout)}
	if err := render.Text(e.stdout, plan, opts); err != nil {
		return err
	}
	if plan.Empty() && len(plan.Adopt) == 0 && len(plan.Forget) == 0 {
		return nil
	}
	if !*auto && !plan.Empty() && !confirm(e) {
		return errors.New("apply cancelled")
	}
	return runApply(e, r, plan, cfg, facts, opts)
}

func runApply(e *env, r *reconcile.Reconciler, plan *reconcile.Plan, cfg *schema.Config, facts runtime.Facts, opts render.Options) error {
	res, err := r.Apply(plan)
	_ = render.Result(e.stdout, res, opts)
	if err != nil {
		return fmt.Errorf("%d of %d changes applied; run apply again to finish once the cause is fixed", len(res.Applied), len(plan.Changes))
	}
	if cfg != nil {
		again, err := r.Plan(cfg, facts, reconcile.PlanOptions{Node: plan.Node, AllowEmpty: true})
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if !again.Empty() {
			_ = render.Text(e.stderr, again, opts)
			return fmt.Errorf("verify: the kernel does not match the config after apply (%d changes remain)", len(again.Changes))
		}
	}
	add, change, destroy := plan.Counts()
	fmt.Fprintf(e.stdout, "\nApply complete! %d added, %d changed, %d destroyed. Verified: the kernel matches the config.\n", add, change, destroy)
	return nil
}

func applySaved(e *env, pa *planArgs, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	var sp savedPlan
	if err := json.Unmarshal(b, &sp); err != nil || sp.Format != savedPlanFormat || sp.Plan == nil {
		return fmt.Errorf("%s is not a plan saved by 'hacfg plan -out' (nor a .hcl/.yaml config)", file)
	}
	r, closeFn, err := pa.kf.open(e)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := r.CheckFresh(sp.Plan); err != nil {
		if errors.Is(err, reconcile.ErrStale) {
			return fmt.Errorf("%w; run 'hacfg plan' again", err)
		}
		return err
	}
	opts := render.Options{Color: !pa.noColor && isTerminal(e.stdout)}
	// Verification re-reads the config the plan was made from.
	var cfg *schema.Config
	if raw, _, diags := schema.Load(sp.ConfigPath); !diags.HasErrors() {
		cfg, _ = schema.Resolve(raw, sp.Node)
	}
	facts := runtime.Facts{}
	if len(sp.Facts) > 0 {
		facts.VRRP = sp.Facts
	}
	return runApply(e, r, sp.Plan, cfg, facts, opts)
}

func confirm(e *env) bool {
	fmt.Fprint(e.stdout, "\nDo you want to perform these actions? Only 'yes' will be accepted: ")
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// applyViaAgent handles apply while the agent holds the writer lock: the
// agent is the one writer, so apply asks it to reload its config and
// reports what it did.
func applyViaAgent(e *env, pa *planArgs, lockErr error) error {
	c := agent.NewClient(pa.socket)
	st, err := c.Status()
	if err != nil {
		return lockErr
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	if abs(st.ConfigPath) != abs(pa.cf.path) {
		return fmt.Errorf("the hacfg agent is running with config %s; change that config (it applies changes itself) or stop the agent to apply %s", st.ConfigPath, pa.cf.path)
	}
	before := st.Reconcile.Count
	if err := c.Reload(); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if st, err = c.Status(); err == nil && (st.Reconcile.Count > before || st.ReloadErr != "") {
			break
		}
	}
	if st.ReloadErr != "" {
		return fmt.Errorf("the agent rejected the config:\n%s", st.ReloadErr)
	}
	fmt.Fprintf(e.stdout, "The agent (config digest %s) reconciled: %d changes (%s).\n", st.Digest, st.Reconcile.Changes, st.Reconcile.Scope)
	if st.Reconcile.Err != "" {
		return fmt.Errorf("the agent's reconcile failed: %s", st.Reconcile.Err)
	}
	return nil
}

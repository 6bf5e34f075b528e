package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hacfg/hacfg/reconcile"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/announce"
	"github.com/hacfg/hacfg/runtime/check"
	"github.com/hacfg/hacfg/runtime/script"
	"github.com/hacfg/hacfg/runtime/vrrp"
	"github.com/hacfg/hacfg/schema"
)

// Deps are the agent's connections to the world.
type Deps struct {
	// Reconciler writes the kernel.
	Reconciler *reconcile.Reconciler
	// DialVRRP opens a VRRP transport on an interface for a family, with
	// src as the advertisements' source (zero: the interface's primary).
	DialVRRP func(iface string, family runtime.Family, src netip.Addr) (runtime.VRRPConn, error)
	// Announcer, if set, sends gratuitous ARPs / neighbour advertisements
	// for the addresses of an instance that became master.
	Announcer Announcer
	Clock     runtime.Clock
	Log       *slog.Logger

	// Runner runs vrrp_scripts and notify scripts; nil: script.NewExec
	// with the config's script_user and script security.
	Runner script.Runner
	// LinkWatcher reports interface up/down for track_interface; nil:
	// every interface the config names counts as up.
	LinkWatcher runtime.LinkWatcher
	// CheckProber and CheckRunner replace the health checkers' network
	// probes and script runner (tests); nil: the real ones.
	CheckProber check.Prober
	CheckRunner check.Runner
	// ReleaseProgram, if set, drops the process's mappings of its own
	// program's pages (linux.ReleaseProgramPages): the agent calls it as
	// it starts and after each config load and the reconcile that follows,
	// so the code only those run (package initializers, the config
	// decoder) does not stay in its resident set.
	ReleaseProgram func() (int64, error)
}

// Announcer is what the agent needs of an announce.Scheduler.
type Announcer interface {
	Master(name, iface string, addrs []netip.Addr, hw net.HardwareAddr, settings announce.Settings) error
	Stop(name string)
}

// Options tune the agent.
type Options struct {
	// ConfigPath is the config file or directory.
	ConfigPath string
	// Node is the --node flag; Hostname selects the node without it.
	Node, Hostname string
	// Debounce is how long the config must be quiet before a reload.
	Debounce time.Duration
	// FullInterval is the period of the full reconcile (jittered ±20%).
	FullInterval time.Duration
}

// Agent is a running hacfg agent.
type Agent struct {
	deps Deps
	opts Options
	log  *slog.Logger

	// lean ends the lean-memory phase of a config load (see leanMemory)
	// after its reconcile; only Run's goroutine touches it.
	lean func()

	mu        sync.Mutex
	cfg       *schema.Config // resolved for node
	node      string
	digest    string
	revision  string
	loadedAt  time.Time
	reloadErr string
	badDigest string
	// digests makes the config's digest (loadConfig, reload: the Run
	// goroutine only).
	digests   digestMemo
	stall     *stall
	facts     runtime.Facts // VRRP only: the health checker has the rest (see snapshotFactsLocked)
	instances map[string]*instance
	speakers  map[speakerKey]*speaker
	pending   pending
	lastRec   recInfo
	started   time.Time

	kick     chan struct{}
	reloadCh chan struct{}

	dyn dynamic

	// crash makes Run return without shutting down, as kill -9 would:
	// sockets closed, nothing sent, nothing removed. For tests.
	crash atomic.Bool
}

type stall struct {
	Digest string
	Err    string
	At     time.Time
}

type recInfo struct {
	At      time.Time
	Err     string
	Count   int
	Changes int
	Scope   string
}

type pending struct {
	full      bool
	instances map[string]bool
	servers   map[string]bool
}

func (p *pending) add(instances, servers []string) {
	for _, n := range instances {
		if p.instances == nil {
			p.instances = map[string]bool{}
		}
		p.instances[n] = true
	}
	for _, n := range servers {
		if p.servers == nil {
			p.servers = map[string]bool{}
		}
		p.servers[n] = true
	}
}

// delta is what a config change touches.
type delta struct {
	full      bool
	instances []string
	servers   []string
}

// configDelta compares two resolved configs: the instances and virtual
// servers added, removed or changed, or full when something shared (global
// settings, static addresses, routes and rules, server groups) changed.
func configDelta(old, cur *schema.Config) delta {
	if old == nil || !reflect.DeepEqual(old.Global, cur.Global) || !reflect.DeepEqual(old.StaticAddresses, cur.StaticAddresses) ||
		!reflect.DeepEqual(old.StaticRoutes, cur.StaticRoutes) || !reflect.DeepEqual(old.StaticRules, cur.StaticRules) ||
		!reflect.DeepEqual(old.VirtualGroups, cur.VirtualGroups) {
		return delta{full: true}
	}
	var d delta
	oldInst := map[string]*schema.VRRPInstance{}
	for _, in := range old.Instances {
		oldInst[in.Name] = in
	}
	for _, in := range cur.Instances {
		if o, ok := oldInst[in.Name]; !ok || !reflect.DeepEqual(o, in) {
			d.instances = append(d.instances, in.Name)
		}
		delete(oldInst, in.Name)
	}
	for name := range oldInst {
		d.instances = append(d.instances, name)
	}
	oldVS := map[string]*schema.VirtualServer{}
	for _, vs := range old.VirtualServers {
		oldVS[vs.Name] = vs
	}
	for _, vs := range cur.VirtualServers {
		if o, ok := oldVS[vs.Name]; !ok || !reflect.DeepEqual(o, vs) {
			d.servers = append(d.servers, vs.Name)
		}
		delete(oldVS, vs.Name)
	}
	for name := range oldVS {
		d.servers = append(d.servers, name)
	}
	return d
}

type speakerKey struct {
	iface  string
	family runtime.Family
	src    netip.Addr
}

type speaker struct {
	sp   *vrrp.Speaker
	conn runtime.VRRPConn
	n    int // instances on it
	done chan struct{}
}

type instance struct {
	name   string
	vcfg   vrrp.Config
	key    speakerKey
	inst   *vrrp.Instance
	last   *vrrp.Transition
	schema *schema.VRRPInstance
}

// New returns an agent; Start loads the config and starts it.
func New(deps Deps, opts Options) *Agent {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Clock == nil {
		deps.Clock = runtime.SystemClock{}
	}
	if opts.Debounce == 0 {
		opts.Debounce = 200 * time.Millisecond
	}
	if opts.FullInterval == 0 {
		opts.FullInterval = 30 * time.Second
	}
	return &Agent{
		deps: deps, opts: opts, log: deps.Log,
		instances: map[string]*instance{},
		speakers:  map[speakerKey]*speaker{},
		facts:     runtime.Facts{VRRP: map[string]runtime.VRRPRole{}},
		kick:      make(chan struct{}, 1),
		reloadCh:  make(chan struct{}, 1),
		digests:   digestMemo{margin: digestMemoMargin},
	}
}

// loadConfig reads, validates and resolves the config.
func (a *Agent) loadConfig() (raw, cfg *schema.Config, node, digest string, err error) {
	digest, err = a.digests.digestOf(a.opts.ConfigPath)
	if err != nil {
		return nil, nil, "", "", err
	}
	raw, srcs, diags := schema.LoadLean(a.opts.ConfigPath)
	if diags.HasErrors() {
		return nil, nil, "", digest, &ConfigError{Text: schema.RenderString(srcs, diags)}
	}
	node, err = schema.SelectNode(raw, a.opts.Node, a.opts.Hostname)
	if err != nil {
		return nil, nil, "", digest, err
	}
	cfg, err = schema.Resolve(raw, node)
	return raw, cfg, node, digest, err
}

// ConfigError is a config that does not parse or validate.
type ConfigError struct{ Text string }

func (e *ConfigError) Error() string { return "invalid config:\n" + e.Text }

// Run loads the config, starts the VRRP instances and serves until ctx is
// done, then shuts down gracefully. The first config must be valid.
func (a *Agent) Run(ctx context.Context) error {
	a.releaseProgram() // what the package initializers touched
	a.lean = leanMemory()
	defer a.endLean()
	_, cfg, node, digest, err := a.loadConfig()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	a.mu.Lock()
	a.cfg, a.node, a.digest, a.loadedAt = cfg, node, digest, a.deps.Clock.Now()
	a.revision = gitRevision(a.opts.ConfigPath)
	a.started = a.deps.Clock.Now()
	a.pending.full = true
	a.mu.Unlock()
	a.log.Info("config loaded", "path", a.opts.ConfigPath, "node", node, "digest", digest, "revision", a.revision)
	if err := a.ensureVMACs(cfg); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	a.startDynamic(cfg)
	restarted, err := a.syncInstances(cfg)
	if err != nil {
		a.shutdownInstances()
		a.stopDynamic()
		return fmt.Errorf("start: %w", err)
	}
	a.syncDynamic(cfg, restarted)
	a.releaseProgram() // the config decoder's, before the first reconcile's peak
	a.poke()

	watchErr := make(chan error, 1)
	go func() { watchErr <- a.watch(ctx) }()

	timer := a.deps.Clock.AfterFunc(a.jitter(), a.fullTick)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if a.crash.Load() {
				a.mu.Lock()
				for _, sp := range a.speakers {
					sp.conn.Close()
				}
				a.mu.Unlock()
				return nil
			}
			return a.shutdown()
		case <-a.reloadCh:
			a.reload()
		case <-a.kick:
			a.process()
		case err := <-watchErr:
			if err != nil {
				a.log.Warn("config watcher stopped; relying on the periodic reconcile", "err", err)
			}
			watchErr = nil
		}
	}
}

func (a *Agent) jitter() time.Duration {
	d := a.opts.FullInterval
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}

func (a *Agent) fullTick() {
	a.mu.Lock()
	a.pending.full = true
	a.mu.Unlock()
	// The periodic tick also re-checks the config: events are only hints.
	a.Reload()
	a.poke()
	a.deps.Clock.AfterFunc(a.jitter(), a.fullTick)
}

// Reload asks the agent to re-read its config (SIGHUP).
func (a *Agent) Reload() {
	select {
	case a.reloadCh <- struct{}{}:
	default:
	}
}

func (a *Agent) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// reload re-reads the config; an invalid one is reported and kept out.
func (a *Agent) reload() {
	// The digest is cheap; parsing a large config is not. The periodic
	// tick lands here too, nearly always with nothing changed.
	if d, err := a.digests.digestOf(a.opts.ConfigPath); err == nil {
		a.mu.Lock()
		same := d == a.digest || d == a.badDigest
		if d == a.digest {
			// Back to the running config: the rejected one is gone.
			a.reloadErr, a.badDigest = "", ""
		}
		a.mu.Unlock()
		if same {
			return
		}
	}
	if a.lean == nil {
		a.lean = leanMemory() // until the reconcile that follows
	}
	_, cfg, node, digest, err := a.loadConfig()
	a.mu.Lock()
	same := digest != "" && digest == a.digest
	a.mu.Unlock()
	if same {
		a.endLean()
		return
	}
	if err != nil {
		a.endLean()
		a.mu.Lock()
		a.reloadErr = err.Error()
		a.badDigest = digest // not retried until the config changes
		a.mu.Unlock()
		a.log.Error("config rejected; the last good config keeps running", "digest", digest, "err", err)
		return
	}
	a.mu.Lock()
	old := a.cfg
	a.cfg, a.node, a.digest, a.loadedAt, a.reloadErr = cfg, node, digest, a.deps.Clock.Now(), ""
	a.revision = gitRevision(a.opts.ConfigPath)
	// Reconcile only what the change touches: one real server's weight
	// is one virtual server's reconcile, not a dump of the whole table.
	d := configDelta(old, cfg)
	if d.full {
		a.pending.full = true
	}
	a.pending.add(d.instances, d.servers)
	a.mu.Unlock()
	a.log.Info("config reloaded", "digest", digest, "revision", a.revision)
	if err := a.ensureVMACs(cfg); err != nil {
		a.log.Error("reload", "err", err)
	}
	restarted, err := a.syncInstances(cfg)
	if err != nil {
		a.log.Error("reload: starting VRRP instances failed", "err", err)
		a.mu.Lock()
		a.reloadErr = err.Error()
		a.mu.Unlock()
	}
	a.syncDynamic(cfg, restarted)
	a.poke()
}

// vrrpConfig builds the speaker's view of an instance.
func vrrpConfig(in *schema.VRRPInstance) vrrp.Config {
	c := vrrp.Config{
		Name: in.Name, Version: uint8(in.Version), VRID: uint8(in.VirtualRouterID), Priority: uint8(in.Priority),
		AdvertInterval: in.AdvertInt.D(), NoPreempt: in.NoPreempt, PreemptDelay: in.PreemptDelay.D(),
		InitialState: vrrp.StateBackup, Source: in.UnicastSrcIP, Peers: in.UnicastPeers,
	}
	if !c.Source.IsValid() {
		c.Source = in.McastSrcIP
	}
	if in.State == "MASTER" {
		c.InitialState = vrrp.StateMaster
	}
	for _, va := range in.VirtualAddresses {
		c.Addresses = append(c.Addresses, va.Address.Addr())
	}
	if a := in.Authentication; a != nil && a.AuthType == "PASS" {
		c.AuthType = vrrp.AuthSimple
		c.AuthPass = a.AuthPass
	}
	return c
}

func familyOf(in *schema.VRRPInstance) runtime.Family {
	if in.Family() == 6 {
		return runtime.FamilyV6
	}
	return runtime.FamilyV4
}

// syncInstances starts, restarts and stops VRRP instances so they match
// cfg. Instances whose speaker settings did not change are left running.
func (a *Agent) syncInstances(cfg *schema.Config) (restarted bool, err error) {
	want := map[string]*schema.VRRPInstance{}
	for _, in := range cfg.Instances {
		want[in.Name] = in
	}
	a.mu.Lock()
	var stop []*instance
	var keep []string
	for name, cur := range a.instances {
		in, ok := want[name]
		if ok && reflect.DeepEqual(cur.vcfg, vrrpConfig(in)) && cur.key == keyOf(in) {
			cur.schema = in
			keep = append(keep, name)
			continue
		}
		stop = append(stop, cur)
		delete(a.instances, name)
	}
	a.mu.Unlock()
	for _, cur := range stop {
		a.log.Info("vrrp instance stopping (removed or changed)", "instance", cur.name)
		a.stopInstance(cur)
	}
	restarted = len(stop) > 0
	var errs []error
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if slices.Contains(keep, name) {
			continue
		}
		restarted = true
		if err := a.startInstance(want[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return restarted, errors.Join(errs...)
}

// keyOf says which socket an instance speaks on: its interface, or its
// VMAC interface with use_vmac (unless vmac_xmit_base), so adverts leave
// with the virtual MAC as keepalived sends them.
func keyOf(in *schema.VRRPInstance) speakerKey {
	iface := in.Interface
	if in.UseVMAC && !in.VMACXmitBase {
		iface = reconcile.VMACName(in)
	}
	return speakerKey{iface: iface, family: familyOf(in), src: vrrpConfig(in).Source}
}

// ensureVMACs creates the VMAC interfaces of the config's use_vmac
// instances (whatever their state) before their speakers open sockets.
func (a *Agent) ensureVMACs(cfg *schema.Config) error {
	var scope reconcile.Scope
	for _, in := range cfg.Instances {
		if in.UseVMAC {
			scope.Instances = append(scope.Instances, in.Name)
		}
		scope.Skip = append(scope.Skip, reconcile.InstanceOwner(in.Name))
	}
	if len(scope.Instances) == 0 {
		return nil
	}
	_, _, err := a.deps.Reconciler.Reconcile(cfg, runtime.Facts{VRRP: map[string]runtime.VRRPRole{}}, reconcile.PlanOptions{Node: a.node, Scope: scope, AllowEmpty: true})
	if err != nil {
		return fmt.Errorf("create VMAC interfaces: %w", err)
	}
	return nil
}

func (a *Agent) startInstance(in *schema.VRRPInstance) error {
	key := keyOf(in)
	if in.UseVMAC && !key.src.IsValid() {
		// The VMAC interface has no address of its own: adverts carry the
		// base interface's primary address, as keepalived sends them.
		src, err := a.primaryAddr(in.Interface, familyOf(in))
		if err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", in.Name, err)
		}
		key.src = src
	}
	sp, err := a.speakerFor(key)
	if err != nil {
		return fmt.Errorf("vrrp_instance %s: %w", in.Name, err)
	}
	vc := vrrpConfig(in)
	st := &instance{name: in.Name, vcfg: vc, key: key, schema: in}
	inst, err := sp.sp.Add(vc, a.deps.Clock, func(t vrrp.Transition) { a.transition(st, t) })
	if err != nil {
		a.releaseSpeaker(key)
		return fmt.Errorf("vrrp_instance %s: %w", in.Name, err)
	}
	st.inst = inst
	a.mu.Lock()
	a.instances[in.Name] = st
	a.mu.Unlock()
	inst.Start()
	a.log.Info("vrrp instance started", "instance", in.Name, "vrid", vc.VRID, "priority", vc.Priority, "interface", in.Interface)
	return nil
}

// primaryAddr is the first IPv4 address of iface, or its IPv6 link-local
// address (RFC 5798 §5.1.2.1).
func (a *Agent) primaryAddr(iface string, fam runtime.Family) (netip.Addr, error) {
	addrs, err := a.deps.Reconciler.Kernel.ListAddrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find the address of %s: %w", iface, err)
	}
	for _, ad := range addrs {
		ip := ad.Prefix.Addr()
		if ad.Interface != iface {
			continue
		}
		if (fam == runtime.FamilyV4 && ip.Is4()) || (fam == runtime.FamilyV6 && ip.Is6() && ip.IsLinkLocalUnicast()) {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address to send adverts from", iface, fam)
}

func (a *Agent) stopInstance(st *instance) {
	a.mu.Lock()
	sp := a.speakers[st.key]
	a.mu.Unlock()
	if a.deps.Announcer != nil {
		a.deps.Announcer.Stop(st.name)
	}
	if sp != nil {
		sp.sp.Remove(st.vcfg.VRID)
	}
	a.mu.Lock()
	delete(a.facts.VRRP, st.name)
	a.pending.add([]string{st.name}, nil)
	a.mu.Unlock()
	a.releaseSpeaker(st.key)
}

func (a *Agent) speakerFor(key speakerKey) (*speaker, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if sp, ok := a.speakers[key]; ok {
		sp.n++
		return sp, nil
	}
	conn, err := a.deps.DialVRRP(key.iface, key.family, key.src)
	if err != nil {
		return nil, fmt.Errorf("open VRRP socket on %s: %w", key.iface, err)
	}
	sp := &speaker{sp: vrrp.NewSpeaker(conn, a.log), conn: conn, n: 1, done: make(chan struct{})}
	a.speakers[key] = sp
	go func() {
		defer close(sp.done)
		if err := sp.sp.Run(); err != nil {
			a.log.Error("vrrp receive loop failed", "interface", key.iface, "err", err)
		}
	}()
	return sp, nil
}

func (a *Agent) releaseSpeaker(key speakerKey) {
	a.mu.Lock()
	sp, ok := a.speakers[key]
	if ok {
		sp.n--
		if sp.n > 0 {
			ok = false
		} else {
			delete(a.speakers, key)
		}
	}
	a.mu.Unlock()
	if ok {
		sp.conn.Close()
		<-sp.done
	}
}

// transition is called by an instance (under its lock) on a state change.
//
// The first transition of an instance, Initialize → Backup at startup, is
// not published at once: the node may have been master before a crash, and
// its addresses are still in the kernel. They are left alone for one
// Master_Down_Interval and a bit (the instance's own master down timer,
// which runs as long, must fire first on a node alone); if the instance
// is then still backup, another node
// is master and the backup fact is published (removing them), and if it
// became master meanwhile, it adopts them without a kernel change.
func (a *Agent) transition(st *instance, t vrrp.Transition) {
	role := roleOf(t.To)
	a.mu.Lock()
	tt := t
	st.last = &tt
	if t.From == vrrp.StateInit && t.To == vrrp.StateBackup {
		a.mu.Unlock()
		a.afterTransition(st, t)
		a.log.Info("vrrp transition", "instance", t.Instance, "from", t.From.String(), "to", t.To.String(), "reason", t.Reason,
			"note", "addresses left as found until the election settles")
		a.deps.Clock.AfterFunc(masterDownInterval(st.vcfg)+max(st.vcfg.AdvertInterval, 100*time.Millisecond), func() {
			a.mu.Lock()
			still := st.last == &tt
			a.mu.Unlock()
			if still {
				a.publishRole(st.name, runtime.RoleBackup)
			}
		})
		return
	}
	a.facts.VRRP = cloneRoles(a.facts.VRRP)
	a.facts.VRRP[st.name] = role
	if a.pending.instances == nil {
		a.pending.instances = map[string]bool{}
	}
	a.pending.instances[st.name] = true
	a.mu.Unlock()
	a.log.Info("vrrp transition", "instance", t.Instance, "from", t.From.String(), "to", t.To.String(), "reason", t.Reason, "priority", t.Priority, "master", t.Master)
	a.afterTransition(st, t)
	if role != runtime.RoleMaster && a.deps.Announcer != nil {
		a.deps.Announcer.Stop(st.name)
	}
	a.poke()
}

func roleOf(s vrrp.State) runtime.VRRPRole {
	switch s {
	case vrrp.StateMaster:
		return runtime.RoleMaster
	case vrrp.StateBackup:
		return runtime.RoleBackup
	case vrrp.StateFault:
		return runtime.RoleFault
	}
	return runtime.RoleInit
}

func cloneRoles(m map[string]runtime.VRRPRole) map[string]runtime.VRRPRole {
	out := make(map[string]runtime.VRRPRole, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (a *Agent) publishRole(name string, role runtime.VRRPRole) {
	a.mu.Lock()
	if a.instances[name] == nil {
		a.mu.Unlock()
		return
	}
	a.facts.VRRP = cloneRoles(a.facts.VRRP)
	a.facts.VRRP[name] = role
	if a.pending.instances == nil {
		a.pending.instances = map[string]bool{}
	}
	a.pending.instances[name] = true
	a.mu.Unlock()
	a.poke()
}

// masterDownInterval is RFC 5798's Master_Down_Interval for the configured
// priority and interval: 3 × interval + Skew_Time (v2: (256 − priority)/256
// seconds; v3: (256 − priority) × interval / 256).
func masterDownInterval(c vrrp.Config) time.Duration {
	skew := time.Duration(256-int(c.Priority)) * time.Second / 256
	if c.Version == 3 {
		skew = time.Duration(256-int(c.Priority)) * c.AdvertInterval / 256
	}
	return 3*c.AdvertInterval + skew
}

// endLean ends a lean-memory phase, if one is on.
func (a *Agent) endLean() {
	if a.lean != nil {
		a.lean()
		a.lean = nil
		a.releaseProgram()
	}
}

// releaseProgram drops the mappings of program pages (Deps.ReleaseProgram).
func (a *Agent) releaseProgram() {
	if a.deps.ReleaseProgram == nil {
		return
	}
	n, err := a.deps.ReleaseProgram()
	if err != nil {
		a.log.Debug("release program pages", "err", err)
		return
	}
	a.log.Debug("released program pages", "bytes", n)
}

// fullReconcilePart is about how many real servers a part of a full
// reconcile covers (see reconcile.ReconcileInParts): each holds a few
// hundred bytes a real server while its part runs.
const fullReconcilePart = 1000

// process runs the pending reconciles: scoped ones for the facts that
// changed, or a full one.

func (a *Agent) process() {
	defer a.endLean()
	a.mu.Lock()
	p := a.pending
	a.pending = pending{}
	cfg := a.cfg
	var facts runtime.Facts
	if p.full {
		facts = a.snapshotFactsLocked()
	} else {
		// A scoped reconcile reads the health of its own virtual servers
		// only: copying every real server's would cost O(all) per event.
		facts = a.scopedFactsLocked(p.servers)
	}
	digest := a.digest
	var skip []string
	for _, in := range cfg.Instances {
		if _, known := facts.VRRP[in.Name]; !known {
			skip = append(skip, reconcile.InstanceOwner(in.Name))
		}
	}
	a.mu.Unlock()
	if cfg == nil {
		return
	}
	var scope reconcile.Scope
	if !p.full {
		for n := range p.instances {
			scope.Instances = append(scope.Instances, n)
		}
		for n := range p.servers {
			scope.VirtualServers = append(scope.VirtualServers, n)
		}
		sort.Strings(scope.Instances)
		sort.Strings(scope.VirtualServers)
		if scope.All() {
			return
		}
	}
	scope.Skip = skip
	start := a.deps.Clock.Now()
	opts := reconcile.PlanOptions{Node: a.node, Scope: scope, AllowEmpty: true, NoVerify: !p.full}
	var changes int
	var err error
	if p.full {
		// A part at a time: the desired, observed and planned objects
		// of a large table are not all held at once.
		changes, err = a.deps.Reconciler.ReconcileInParts(cfg, facts, opts, fullReconcilePart)
	} else {
		var plan *reconcile.Plan
		plan, _, err = a.deps.Reconciler.Reconcile(cfg, facts, opts)
		if plan != nil {
			changes = len(plan.Changes)
		}
	}
	a.mu.Lock()
	a.lastRec = recInfo{At: start, Count: a.lastRec.Count + 1, Changes: changes, Scope: scopeString(scope)}
	if err != nil {
		a.lastRec.Err = err.Error()
		a.stall = &stall{Digest: digest, Err: err.Error(), At: start}
	} else if p.full {
		a.stall = nil
	}
	a.mu.Unlock()
	if err != nil {
		a.log.Error("reconcile failed", "scope", scopeString(scope), "err", err)
	} else if changes > 0 {
		a.log.Info("reconciled", "scope", scopeString(scope), "changes", changes, "took", a.deps.Clock.Now().Sub(start))
	}
	a.updateSuspend(cfg, facts)
	// Announce the addresses of instances that are master after this pass.
	if a.deps.Announcer != nil && err == nil {
		for _, name := range scope.Instances {
			a.announce(name)
		}
		if p.full {
			a.mu.Lock()
			var masters []string
			for n, r := range facts.VRRP {
				if r == runtime.RoleMaster && p.instances[n] {
					masters = append(masters, n)
				}
			}
			a.mu.Unlock()
			for _, n := range masters {
				a.announce(n)
			}
		}
	}
}

func (a *Agent) announce(name string) {
	a.mu.Lock()
	st := a.instances[name]
	role := a.facts.VRRP[name]
	a.mu.Unlock()
	if st == nil || role != runtime.RoleMaster {
		return
	}
	in := st.schema
	var addrs []netip.Addr
	for _, va := range in.VirtualAddresses {
		addrs = append(addrs, va.Address.Addr())
	}
	a.mu.Lock()
	g := a.cfg.Global
	a.mu.Unlock()
	set := announce.Settings{
		Repeat: in.GarpMasterRepeat, Delay: in.GarpMasterDelay.D(), Refresh: in.GarpMasterRefresh.D(), RefreshRepeat: in.GarpRefreshRepeat,
		LowerPrioRepeat: in.GarpMasterRepeat, LowerPrioDelay: in.GarpMasterDelay.D(),
	}
	if g != nil {
		set.ARPInterval, set.NAInterval = g.GarpInterval.D(), g.GnaInterval.D()
	}
	iface := in.Interface
	if in.UseVMAC {
		iface = reconcile.VMACName(in) // its own MAC is the VMAC
	}
	if err := a.deps.Announcer.Master(name, iface, addrs, nil, set); err != nil {
		a.log.Warn("announce", "instance", name, "err", err)
	}
}

func scopeString(s reconcile.Scope) string {
	if s.All() {
		return "full"
	}
	return fmt.Sprintf("instances=%v virtual_servers=%v", s.Instances, s.VirtualServers)
}

// shutdown stops every instance (masters send priority 0) and removes the
// addresses, routes and rules hacfg owns. IPVS is left in place, so
// connections survive a restart.
func (a *Agent) shutdown() error {
	a.log.Info("shutting down")
	a.shutdownInstances()
	a.stopDynamic()
	a.mu.Lock()
	// The config as it looks with every instance stopped: no addresses,
	// and no VMAC interfaces (keepalived removes them too; a restart
	// creates them again).
	cfg := *a.cfg
	cfg.Instances = make([]*schema.VRRPInstance, len(a.cfg.Instances))
	facts := runtime.Facts{VRRP: map[string]runtime.VRRPRole{}}
	var scope reconcile.Scope
	for i, in := range a.cfg.Instances {
		c := *in
		c.UseVMAC = false
		cfg.Instances[i] = &c
		facts.VRRP[in.Name] = runtime.RoleBackup
		scope.Instances = append(scope.Instances, in.Name)
	}
	a.mu.Unlock()
	if len(scope.Instances) == 0 {
		return nil
	}
	_, _, err := a.deps.Reconciler.Reconcile(&cfg, facts, reconcile.PlanOptions{Node: a.node, Scope: scope, AllowEmpty: true})
	if err != nil {
		return fmt.Errorf("shutdown: remove addresses: %w", err)
	}
	return nil
}

func (a *Agent) shutdownInstances() {
	a.mu.Lock()
	var all []*instance
	for _, st := range a.instances {
		all = append(all, st)
	}
	a.instances = map[string]*instance{}
	a.mu.Unlock()
	for _, st := range all {
		a.stopInstance(st)
	}
}

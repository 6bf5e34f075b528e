package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/check"
	"github.com/hacfg/hacfg/runtime/script"
	"github.com/hacfg/hacfg/runtime/track"
	"github.com/hacfg/hacfg/runtime/vrrp"
	"github.com/hacfg/hacfg/schema"
)

// dynamic holds the agent's fact producers besides VRRP: tracking, notify
// scripts, sync groups and the health checkers. Guarded by Agent.mu.
type dynamic struct {
	runner   script.Runner
	notifier *script.Notifier
	tracker  *track.Manager
	trackSig string
	checker  *check.Manager
	// health is where reconciles read the real servers' health and the
	// virtual servers' quorum: checker, or once stopped the last one
	// (nil before the first).
	health   *check.Manager
	links    map[string]runtime.LinkEvent
	groups   map[string]*schema.SyncGroup // by member instance
	groupSt  map[string]vrrp.State        // last notified group state
	notify   map[string]script.Scripts    // by instance name
	gnotify  map[string]script.Scripts    // by group name
	linkDone chan struct{}
}

// startDynamic creates the notifier, the health checkers and the link
// watcher feed for the first config.
func (a *Agent) startDynamic(cfg *schema.Config) {
	runner := a.deps.Runner
	if runner == nil {
		runner = script.NewExec(cfg.Global, a.log)
	}
	a.mu.Lock()
	a.dyn.runner = runner
	a.dyn.notifier = script.NewNotifier(runner, a.log, script.NotifierOptions{})
	a.dyn.links = map[string]runtime.LinkEvent{}
	a.dyn.groupSt = map[string]vrrp.State{}
	a.mu.Unlock()

	if w := a.deps.LinkWatcher; w != nil {
		if links, err := w.Links(); err == nil {
			a.mu.Lock()
			for _, ev := range links {
				a.dyn.links[ev.Name] = ev
			}
			a.mu.Unlock()
		} else {
			a.log.Warn("list links", "err", err)
		}
		done := make(chan struct{})
		a.dyn.linkDone = done
		go func() {
			defer close(done)
			for ev := range w.Events() {
				a.mu.Lock()
				a.dyn.links[ev.Name] = ev
				t := a.dyn.tracker
				a.mu.Unlock()
				if t != nil {
					t.LinkChanged(ev)
				}
			}
		}()
	}

	opts := check.Options{Clock: a.deps.Clock, Logger: a.log, Publish: a.healthEvent, Prober: a.deps.CheckProber, Runner: a.deps.CheckRunner}
	c := check.New(cfg, opts)
	a.mu.Lock()
	a.dyn.checker, a.dyn.health = c, c
	a.mu.Unlock()
}

// syncDynamic brings tracking, notify settings, sync groups and the health
// checkers in line with cfg. Tracking is rebuilt only when what it tracks
// changed or instances were restarted, so a reload does not reset scripts'
// rise/fall state (which could flap instances).
func (a *Agent) syncDynamic(cfg *schema.Config, restarted bool) {
	notify := map[string]script.Scripts{}
	for _, in := range cfg.Instances {
		s, err := script.FromNotify(in.Notify)
		if err != nil {
			a.log.Warn("notify scripts", "instance", in.Name, "err", err)
		}
		notify[in.Name] = s
	}
	groups := map[string]*schema.SyncGroup{}
	gnotify := map[string]script.Scripts{}
	for _, g := range cfg.SyncGroups {
		for _, m := range g.Group {
			groups[m] = g
		}
		s, err := script.FromNotify(g.Notify)
		if err != nil {
			a.log.Warn("notify scripts", "sync_group", g.Name, "err", err)
		}
		gnotify[g.Name] = s
	}
	sig := trackingSignature(cfg)
	a.mu.Lock()
	a.dyn.notify, a.dyn.groups, a.dyn.gnotify = notify, groups, gnotify
	rebuild := restarted || sig != a.dyn.trackSig || a.dyn.tracker == nil
	old := a.dyn.tracker
	checker := a.dyn.checker
	a.mu.Unlock()

	if checker != nil {
		checker.Update(cfg)
	}
	if !rebuild {
		return
	}
	if old != nil {
		old.Stop()
	}
	runner := a.dyn.runner
	if a.deps.Runner == nil {
		runner = script.NewExec(cfg.Global, a.log)
	}
	mgr, err := track.NewManager(cfg, track.Deps{Clock: a.deps.Clock, Runner: runner, Log: a.log})
	if err != nil {
		a.log.Error("tracking disabled: config rejected by the tracker", "err", err)
		return
	}
	a.mu.Lock()
	insts := make([]*instance, 0, len(a.instances))
	for _, st := range a.instances {
		insts = append(insts, st)
	}
	links := make([]runtime.LinkEvent, 0, len(a.dyn.links))
	for _, ev := range a.dyn.links {
		links = append(links, ev)
	}
	a.mu.Unlock()
	if a.deps.LinkWatcher == nil {
		// Without a watcher every interface the config names is up.
		seen := map[string]bool{}
		for _, in := range cfg.Instances {
			names := []string{in.Interface}
			for _, t := range in.TrackInterface {
				names = append(names, t.Name)
			}
			for _, n := range names {
				if !seen[n] {
					seen[n] = true
					links = append(links, runtime.LinkEvent{Name: n, Up: true})
				}
			}
		}
	}
	// Link states first, so an instance's own interface is not taken for
	// down (and faulted) while it is being tracked.
	for _, ev := range links {
		mgr.LinkChanged(ev)
	}
	for _, st := range insts {
		inst := st.inst
		if _, err := mgr.Track(st.name, track.Callbacks{OnPriority: inst.SetPriority, OnFault: inst.SetFault}); err != nil {
			a.log.Error("tracking", "instance", st.name, "err", err)
		}
	}
	for _, ev := range links {
		mgr.LinkChanged(ev)
	}
	mgr.Start()
	a.mu.Lock()
	a.dyn.tracker, a.dyn.trackSig = mgr, sig
	a.mu.Unlock()
}

// trackingSignature is what tracking depends on.
func trackingSignature(cfg *schema.Config) string {
	type inst struct {
		Name, Interface string
		Priority        int
		DontTrack       bool
		TI, TS, TF      []schema.TrackRef
	}
	sig := struct {
		Scripts []*schema.VRRPScript
		Files   []*schema.TrackFile
		Groups  []*schema.SyncGroup
		Insts   []inst
		User    string
	}{Scripts: cfg.Scripts, Files: cfg.TrackFiles, Groups: cfg.SyncGroups}
	if cfg.Global != nil {
		sig.User = cfg.Global.ScriptUser
	}
	for _, in := range cfg.Instances {
		sig.Insts = append(sig.Insts, inst{in.Name, in.Interface, in.Priority, in.DontTrackPrimary, in.TrackInterface, in.TrackScript, in.TrackFile})
	}
	b, _ := json.Marshal(sig)
	return string(b)
}

func (a *Agent) stopDynamic() {
	a.mu.Lock()
	t, c, n := a.dyn.tracker, a.dyn.checker, a.dyn.notifier
	a.dyn.tracker, a.dyn.checker = nil, nil
	a.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	if c != nil {
		c.Stop()
	}
	if n != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = n.Close(ctx)
		cancel()
	}
}

// afterTransition runs notify scripts and makes sync group members follow.
// It is called with the instance's lock held: nothing here may call into
// that instance synchronously.
func (a *Agent) afterTransition(st *instance, t vrrp.Transition) {
	a.mu.Lock()
	n := a.dyn.notifier
	scripts := a.dyn.notify[st.name]
	g := a.dyn.groups[st.name]
	a.mu.Unlock()
	if n != nil {
		n.Notify(scripts, script.Notification{Type: script.TypeInstance, Name: st.name, State: notifyState(t.To), Priority: int(t.Priority)})
	}
	if g != nil {
		go a.followGroup(g, st.name, t.From, t.To)
	}
}

func notifyState(s vrrp.State) string {
	switch s {
	case vrrp.StateMaster:
		return script.StateMaster
	case vrrp.StateBackup:
		return script.StateBackup
	case vrrp.StateFault:
		return script.StateFault
	}
	return script.StateStop
}

// followGroup applies keepalived's sync group rules after member moved
// from → to, and notifies the group's scripts when the group's state
// changes.
func (a *Agent) followGroup(g *schema.SyncGroup, member string, from, to vrrp.State) {
	a.mu.Lock()
	members := map[string]*vrrp.Instance{}
	for _, m := range g.Group {
		if st := a.instances[m]; st != nil {
			members[m] = st.inst
		}
	}
	a.mu.Unlock()
	states := map[string]vrrp.State{}
	for name, inst := range members {
		states[name] = inst.State()
	}
	states[member] = from
	reason := fmt.Sprintf("sync group %s: %s became %s", g.Name, member, to)
	for _, mv := range track.SyncFollow(g.Group, states, member, to) {
		inst := members[mv.Instance]
		if inst == nil {
			continue
		}
		switch mv.To {
		case vrrp.StateMaster:
			inst.SyncMaster(reason)
		case vrrp.StateBackup:
			inst.SyncBackup(reason)
		}
	}
	var now []vrrp.State
	for _, m := range g.Group {
		if inst := members[m]; inst != nil {
			now = append(now, inst.State())
		}
	}
	gs := track.GroupState(now)
	a.mu.Lock()
	changed := a.dyn.groupSt[g.Name] != gs
	a.dyn.groupSt[g.Name] = gs
	n := a.dyn.notifier
	scripts := a.dyn.gnotify[g.Name]
	a.mu.Unlock()
	if changed && n != nil {
		n.Notify(scripts, script.Notification{Type: script.TypeGroup, Name: g.Name, State: notifyState(gs)})
	}
}

// healthEvent receives the checkers' changes: a reconcile scoped to the
// virtual server is queued, which reads the checker's facts (see
// scopedFactsLocked).
func (a *Agent) healthEvent(e check.Event) {
	a.mu.Lock()
	if a.pending.servers == nil {
		a.pending.servers = map[string]bool{}
	}
	a.pending.servers[e.VirtualServer] = true
	a.mu.Unlock()
	a.poke()
}

// snapshotFactsLocked copies the facts for a full reconcile (a.mu held):
// the VRRP roles, and the health checker's facts. Neither the agent nor the
// reconcile copies the real servers' health (a real server's health is tens
// of bytes, and there may be tens of thousands): HealthOf asks the checker
// for each one.
func (a *Agent) snapshotFactsLocked() runtime.Facts {
	f := runtime.Facts{VRRP: cloneRoles(a.facts.VRRP)}
	if a.dyn.health != nil {
		cf := a.dyn.health.Facts()
		f.Health, f.HealthOf, f.Quorum = cf.Health, cf.HealthOf, cf.Quorum
	}
	return f
}

// scopedFactsLocked copies the VRRP roles and the health and quorum facts
// of the named virtual servers only (a.mu held).
func (a *Agent) scopedFactsLocked(servers map[string]bool) runtime.Facts {
	names := make([]string, 0, len(servers))
	for name := range servers {
		names = append(names, name)
	}
	return a.factsOfLocked(names)
}

// factsOfLocked copies the VRRP roles and the health and quorum facts of
// the virtual servers named (a.mu held); names the checker does not know
// are left out.
func (a *Agent) factsOfLocked(names []string) runtime.Facts {
	f := runtime.Facts{VRRP: cloneRoles(a.facts.VRRP)}
	if len(names) == 0 || a.dyn.health == nil {
		return f
	}
	cf := a.dyn.health.FactsOf(names...)
	f.Health, f.HealthOf, f.Quorum = cf.Health, cf.HealthOf, cf.Quorum
	return f
}

// updateSuspend resumes the checks of ha_suspend virtual servers whose
// address this node holds as a VRRP master, and suspends the others.
func (a *Agent) updateSuspend(cfg *schema.Config, facts runtime.Facts) {
	a.mu.Lock()
	c := a.dyn.checker
	a.mu.Unlock()
	if c == nil {
		return
	}
	for _, vs := range cfg.VirtualServers {
		if !vs.HASuspend || !vs.Address.IsValid() {
			continue
		}
		held := false
		for _, in := range cfg.Instances {
			if facts.VRRP[in.Name] != runtime.RoleMaster {
				continue
			}
			if slices.ContainsFunc(in.VirtualAddresses, func(va schema.VirtualAddress) bool { return va.Address.Addr() == vs.Address.Addr() }) {
				held = true
			}
		}
		c.Suspend(vs.Name, !held)
	}
}

package track

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/script"
	"github.com/hacfg/hacfg/schema"
)

// OwnerPriority is the address owner's priority, never adjusted.
const OwnerPriority = 255

// DefaultFilePoll is how often track files are read.
const DefaultFilePoll = time.Second

// Deps are what a Manager needs from the outside world.
type Deps struct {
	// Clock schedules script runs and file polls. Required.
	Clock runtime.Clock
	// Runner runs vrrp_scripts. Required when a script is tracked.
	Runner script.Runner
	// ReadFile reads a track file; nil means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
	// WriteFile creates a missing track file with init_file; nil means
	// os.WriteFile with mode 0644.
	WriteFile func(path string, data []byte) error
	// FilePoll is the track file polling interval; zero means
	// DefaultFilePoll.
	FilePoll time.Duration
	// Log may be nil.
	Log *slog.Logger
}

// Callbacks receive an instance's tracking results; wire them to
// vrrp.Instance.SetPriority and SetFault. They are called with no lock of
// the Manager held but serialised, and must not call back into the
// Manager's mutating methods (LinkChanged, Start, Stop, Poll).
type Callbacks struct {
	OnPriority func(priority int)
	OnFault    func(fault bool, reason string)
}

// Kind of a tracked object.
type Kind string

// Kinds.
const (
	KindScript    Kind = "script"
	KindFile      Kind = "file"
	KindInterface Kind = "interface"
)

// Status is one tracked object as one instance sees it.
type Status struct {
	Kind   Kind
	Name   string
	Weight int
	// State is "good"/"bad"/"init" for scripts, the value for files,
	// "up"/"down" for interfaces.
	State string
	// Delta is the contribution to the priority; Fault is set when the
	// object faults the instance.
	Delta int
	Fault bool
}

// Manager tracks the objects of every instance of one resolved config.
type Manager struct {
	deps   Deps
	log    *slog.Logger
	cfg    *schema.Config
	ctx    context.Context
	cancel context.CancelFunc

	emitMu sync.Mutex // serialises updates and their callbacks

	mu       sync.Mutex
	started  bool
	stopped  bool
	scripts  map[string]*scriptState
	files    map[string]*fileState
	links    map[string]bool // interface name → up
	trackers map[string]*Tracker
	groups   map[string]*schema.SyncGroup // instance → its sync group
	timers   []runtime.Timer
}

// NewManager prepares tracking for cfg, which must be resolved
// (schema.Resolve) and valid.
func NewManager(cfg *schema.Config, deps Deps) (*Manager, error) {
	if deps.Clock == nil {
		return nil, errors.New("track: new manager: no clock")
	}
	if deps.ReadFile == nil {
		deps.ReadFile = os.ReadFile
	}
	if deps.WriteFile == nil {
		deps.WriteFile = func(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }
	}
	if deps.FilePoll <= 0 {
		deps.FilePoll = DefaultFilePoll
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		deps: deps, log: log, cfg: cfg, ctx: ctx, cancel: cancel,
		scripts:  make(map[string]*scriptState),
		files:    make(map[string]*fileState),
		links:    make(map[string]bool),
		trackers: make(map[string]*Tracker),
		groups:   make(map[string]*schema.SyncGroup),
	}
	for _, g := range cfg.SyncGroups {
		for _, name := range g.Group {
			m.groups[name] = g
		}
	}
	return m, nil
}

// New is NewManager and Track for a config with one interesting instance.
func New(cfg *schema.Config, instance string, deps Deps, cb Callbacks) (*Manager, *Tracker, error) {
	m, err := NewManager(cfg, deps)
	if err != nil {
		return nil, nil, err
	}
	t, err := m.Track(instance, cb)
	if err != nil {
		return nil, nil, err
	}
	return m, t, nil
}

// Tracker is one instance's view: its base priority and tracked objects.
type Tracker struct {
	m     *Manager
	name  string
	base  int
	cb    Callbacks
	items []*item
	group *schema.SyncGroup

	// last emitted
	lastPrio     int
	lastFault    bool
	lastReason   string
	ownFault     bool
	ownReason    string
	effPrio      int
	effFault     bool
	effReason    string
	wantEmission bool
}

type item struct {
	kind   Kind
	name   string // script/file name or interface
	weight int
	script *scriptState
	file   *fileState
	via    string // "" or the sync group the reference comes from
}

// Track registers an instance and returns its Tracker. It must be called
// before Start.
func (m *Manager) Track(instance string, cb Callbacks) (*Tracker, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return nil, fmt.Errorf("track: instance %s: manager already started", instance)
	}
	if _, ok := m.trackers[instance]; ok {
		return nil, fmt.Errorf("track: instance %s: tracked twice", instance)
	}
	var in *schema.VRRPInstance
	for _, x := range m.cfg.Instances {
		if x.Name == instance {
			in = x
		}
	}
	if in == nil {
		return nil, fmt.Errorf("track: no vrrp_instance %q", instance)
	}
	t := &Tracker{m: m, name: instance, base: in.Priority, cb: cb, group: m.groups[instance]}
	if t.base == 0 {
		t.base = schema.DefaultPriority
	}
	// keepalived forces the weights of sync group members to 0 unless
	// the group has sync_group_tracking_weight.
	inSync := t.group != nil && !t.group.TrackingWeight
	add := func(refsIf, refsScript, refsFile []schema.TrackRef, via string) error {
		for _, r := range refsIf {
			t.addItem(&item{kind: KindInterface, name: r.Name, weight: m.weight(instance, KindInterface, r, nil, inSync, 0), via: via})
		}
		for _, r := range refsScript {
			s, err := m.script(r.Name)
			if err != nil {
				return fmt.Errorf("track: instance %s: %w", instance, err)
			}
			t.addItem(&item{kind: KindScript, name: r.Name, weight: m.weight(instance, KindScript, r, s.cfg.Weight, inSync, 0), script: s, via: via})
		}
		for _, r := range refsFile {
			f, err := m.file(r.Name)
			if err != nil {
				return fmt.Errorf("track: instance %s: %w", instance, err)
			}
			t.addItem(&item{kind: KindFile, name: r.Name, weight: m.weight(instance, KindFile, r, f.cfg.Weight, inSync, 1), file: f, via: via})
		}
		return nil
	}
	if in.Interface != "" && !in.DontTrackPrimary {
		t.addItem(&item{kind: KindInterface, name: in.Interface})
	}
	if err := add(in.TrackInterface, in.TrackScript, in.TrackFile, ""); err != nil {
		return nil, err
	}
	if g := t.group; g != nil {
		if err := add(g.TrackInterface, g.TrackScript, g.TrackFile, g.Name); err != nil {
			return nil, err
		}
	}
	m.trackers[instance] = t
	return t, nil
}

// addItem adds it unless the same object is already tracked (keepalived
// ignores duplicates, keeping the first).
func (t *Tracker) addItem(it *item) {
	for _, x := range t.items {
		if x.kind == it.kind && x.name == it.name {
			return
		}
	}
	t.items = append(t.items, it)
}

// weight resolves a reference's weight: the reference's, else the
// object's default, else def; scripts and interfaces are limited to ±253,
// files to ±254; in a sync group without sync_group_tracking_weight
// every weight is 0.
func (m *Manager) weight(instance string, k Kind, r schema.TrackRef, objDefault *int, inSync bool, def int) int {
	w := def
	if objDefault != nil {
		w = *objDefault
	}
	if r.Weight != nil {
		w = *r.Weight
	}
	limit := 253
	if k == KindFile {
		limit = 254
	}
	w = min(max(w, -limit), limit)
	if inSync && w != 0 {
		m.log.Warn("track weight ignored: instance is in a sync group", "instance", instance, "kind", k, "name", r.Name, "weight", w)
		w = 0
	}
	return w
}

func (m *Manager) script(name string) (*scriptState, error) {
	if s, ok := m.scripts[name]; ok {
		return s, nil
	}
	for _, sc := range m.cfg.Scripts {
		if sc.Name == name {
			cmd, err := script.Parse(sc.Script)
			if err != nil {
				return nil, fmt.Errorf("vrrp_script %s: %w", name, err)
			}
			s := newScriptState(sc, cmd)
			m.scripts[name] = s
			return s, nil
		}
	}
	return nil, fmt.Errorf("no vrrp_script %q", name)
}

func (m *Manager) file(name string) (*fileState, error) {
	if f, ok := m.files[name]; ok {
		return f, nil
	}
	for _, tf := range m.cfg.TrackFiles {
		if tf.Name == name {
			f := &fileState{cfg: tf}
			m.files[name] = f
			return f, nil
		}
	}
	return nil, fmt.Errorf("no vrrp_track_file %q", name)
}

// LinkChanged records an interface's state. Before Start it sets the
// initial state (feed it runtime.LinkWatcher.Links first); after Start it
// updates the instances tracking the interface.
func (m *Manager) LinkChanged(ev runtime.LinkEvent) {
	m.update(func() {
		m.links[ev.Name] = ev.Up && !ev.Deleted
	})
}

// Start reads the track files, computes every instance's initial priority
// and fault state, calls every callback once with them, and starts the
// script and file schedules (each script's first run is due at once).
func (m *Manager) Start() {
	m.update(func() {
		if m.started {
			return
		}
		m.started = true
		for _, t := range m.trackers {
			t.wantEmission = true
		}
		for _, name := range sortedKeys(m.files) {
			m.initFile(m.files[name])
		}
		for _, name := range sortedKeys(m.scripts) {
			s := m.scripts[name]
			s.timer = m.deps.Clock.AfterFunc(0, func() { m.runScript(s) })
			m.timers = append(m.timers, s.timer)
		}
		if len(m.files) > 0 {
			var poll func()
			var t runtime.Timer
			poll = func() {
				m.Poll()
				m.mu.Lock()
				if !m.stopped {
					t.Reset(m.deps.FilePoll)
				}
				m.mu.Unlock()
			}
			t = m.deps.Clock.AfterFunc(m.deps.FilePoll, poll)
			m.timers = append(m.timers, t)
		}
	})
}

// Stop cancels the schedules and kills running scripts. Callbacks are not
// called after Stop returns, except by an update already in progress.
func (m *Manager) Stop() {
	m.mu.Lock()
	m.stopped = true
	for _, t := range m.timers {
		t.Stop()
	}
	m.mu.Unlock()
	m.cancel()
}

// Poll reads the track files now (the agent may call it from a file
// watcher; the clock calls it every FilePoll).
func (m *Manager) Poll() {
	m.update(func() {
		for _, name := range sortedKeys(m.files) {
			m.readFile(m.files[name])
		}
	})
}

// update runs f under the state lock, recomputes every tracker and calls
// the callbacks whose values changed.
func (m *Manager) update(f func()) {
	m.emitMu.Lock()
	defer m.emitMu.Unlock()
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	f()
	var calls []func()
	if m.started {
		calls = m.recomputeLocked()
	}
	m.mu.Unlock()
	for _, c := range calls {
		c()
	}
}

// recomputeLocked evaluates every tracker, applies sync group fault
// propagation and returns the callbacks to make.
func (m *Manager) recomputeLocked() []func() {
	names := sortedKeys(m.trackers)
	for _, n := range names {
		t := m.trackers[n]
		t.effPrio, t.ownFault, t.ownReason = t.evaluate(m.links)
		t.effFault, t.effReason = t.ownFault, t.ownReason
	}
	// A sync group is in fault while any member is.
	for _, n := range names {
		t := m.trackers[n]
		if t.group == nil || t.ownFault {
			continue
		}
		for _, other := range t.group.Group {
			o, ok := m.trackers[other]
			if ok && other != n && o.ownFault {
				t.effFault = true
				t.effReason = fmt.Sprintf("sync group %s: member %s in fault: %s", t.group.Name, other, o.ownReason)
				break
			}
		}
	}
	var calls []func()
	for _, n := range names {
		t := m.trackers[n]
		first := t.wantEmission
		t.wantEmission = false
		if (first || t.effPrio != t.lastPrio) && t.cb.OnPriority != nil {
			p := t.effPrio
			calls = append(calls, func() { t.cb.OnPriority(p) })
		}
		if (first || t.effFault != t.lastFault || (t.effFault && t.effReason != t.lastReason)) && t.cb.OnFault != nil {
			f, r := t.effFault, t.effReason
			if !f && !first {
				r = "recovered from: " + t.lastReason
			}
			calls = append(calls, func() { t.cb.OnFault(f, r) })
		}
		if t.effPrio != t.lastPrio || first {
			m.log.Info("vrrp tracking priority", "instance", n, "priority", t.effPrio)
		}
		if t.effFault != t.lastFault || (t.effFault && t.effReason != t.lastReason) {
			m.log.Info("vrrp tracking fault", "instance", n, "fault", t.effFault, "reason", t.effReason)
		}
		t.lastPrio, t.lastFault, t.lastReason = t.effPrio, t.effFault, t.effReason
	}
	return calls
}

// evaluate computes the priority and the instance's own fault.
func (t *Tracker) evaluate(links map[string]bool) (prio int, fault bool, reason string) {
	total := t.base
	var reasons []string
	for _, st := range t.statusLocked(links) {
		total += st.Delta
		if st.Fault {
			reasons = append(reasons, faultReason(st))
		}
	}
	if t.base == OwnerPriority {
		total = OwnerPriority
	} else {
		total = min(max(total, 1), 254)
	}
	return total, len(reasons) > 0, strings.Join(reasons, "; ")
}

func faultReason(st Status) string {
	switch st.Kind {
	case KindScript:
		if st.State == stateInit {
			return "script " + st.Name + " has not reported yet"
		}
		return "script " + st.Name + " failed"
	case KindFile:
		return "track file " + st.Name + " value " + st.State
	default:
		return "interface " + st.Name + " down"
	}
}

// statusLocked returns the state of every tracked object.
func (t *Tracker) statusLocked(links map[string]bool) []Status {
	out := make([]Status, 0, len(t.items))
	for _, it := range t.items {
		st := Status{Kind: it.kind, Name: it.name, Weight: it.weight}
		switch it.kind {
		case KindInterface:
			up := links[it.name]
			st.State = "down"
			if up {
				st.State = "up"
			}
			switch {
			case it.weight == 0:
				st.Fault = !up
			case it.weight > 0 && up, it.weight < 0 && !up:
				st.Delta = it.weight
			}
		case KindScript:
			s := it.script.status()
			st.State = s
			switch {
			case it.weight == 0:
				st.Fault = s != stateGood
			case it.weight > 0 && s == stateGood, it.weight < 0 && s == stateBad:
				st.Delta = it.weight
			}
		case KindFile:
			v := it.file.value
			st.State = fmt.Sprint(v)
			d := fileStatus(v, it.weight)
			if d == -254 {
				st.Fault = true
			} else {
				st.Delta = d
			}
		}
		out = append(out, st)
	}
	return out
}

// fileStatus is keepalived's track file status: -254 means fault.
func fileStatus(v, w int) int {
	if w == 0 {
		if v != 0 {
			return -254
		}
		return 0
	}
	return min(max(v*w, -254), 253)
}

// Status returns the instance's tracked objects, its effective priority
// and its fault state (including faults of its sync group).
func (t *Tracker) Status() (priority int, fault bool, reason string, objects []Status) {
	m := t.m
	m.mu.Lock()
	defer m.mu.Unlock()
	p, f, r := t.evaluate(m.links)
	if m.started {
		p, f, r = t.effPrio, t.effFault, t.effReason
	}
	return p, f, r, t.statusLocked(m.links)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package check

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/schema"
)

// Defaults of Options.
const (
	DefaultConcurrency   = 1000
	DefaultScriptTimeout = 10 * time.Second
	// probeSlack is added to a Spec's Timeout before the Manager gives up
	// on a Prober that does not return by itself.
	probeSlack = 500 * time.Millisecond
	// semRetry is how soon a check on the event loop that found the
	// concurrency bound reached tries again.
	semRetry = 10 * time.Millisecond
)

// EventKind says what an Event reports.
type EventKind int

// The event kinds.
const (
	// HealthChanged: a real server went up or down, or its dynamic weight
	// changed.
	HealthChanged EventKind = iota + 1
	// QuorumChanged: a virtual server lost or regained its quorum.
	QuorumChanged
)

func (k EventKind) String() string {
	switch k {
	case HealthChanged:
		return "health"
	case QuorumChanged:
		return "quorum"
	}
	return "unknown"
}

// Event is a change of a fact, for a reconcile scoped to one virtual
// server.
type Event struct {
	Kind EventKind
	// VirtualServer is the config name of the virtual server concerned.
	VirtualServer string
	// RealServer and Health are set for HealthChanged.
	RealServer runtime.RealServerID
	Health     runtime.Health
	// Quorum is set for QuorumChanged: true when the quorum is met.
	Quorum bool
}

// Options configure a Manager. Every field is optional.
type Options struct {
	// Clock times the checks; default runtime.SystemClock.
	Clock runtime.Clock
	// Logger receives state changes and script failures.
	Logger *slog.Logger
	// Publish receives every change of a real server's health or a virtual
	// server's quorum, in order, one call at a time, without the Manager's
	// lock held: it may call Snapshot, Facts, Suspend or Update. It should
	// return quickly (hand the event to the reconciler's queue); checks go
	// on meanwhile, but further events wait for it.
	Publish func(Event)
	// Runner runs notify_up, notify_down, quorum_up and quorum_down, and
	// (through the default Prober) MISC_CHECK; default ExecRunner.
	Runner Runner
	// Prober runs the checks; default &NetProber{Runner: Runner}.
	Prober Prober
	// Concurrency bounds the checks running at once; default
	// DefaultConcurrency.
	Concurrency int
	// ScriptTimeout bounds each notify and quorum script; default
	// DefaultScriptTimeout.
	ScriptTimeout time.Duration
	// Jitter returns a random duration in [0, max], for warmup; default
	// uniform. Tests make it deterministic.
	Jitter func(max time.Duration) time.Duration
}

// Manager runs the health checks of a configuration and keeps their
// results.
type Manager struct {
	clock         runtime.Clock
	log           *slog.Logger
	publish       func(Event)
	runner        Runner
	prober        Prober
	ownProber     bool       // prober is the Manager's own NetProber, closed by Stop
	loop          *NetProber // the prober whose event loop also times the checks it runs; nil: the clock does
	jitter        func(time.Duration) time.Duration
	scriptTimeout time.Duration
	sem           chan struct{}
	// base is the clock's time at New: the checkers keep the start of an
	// attempt on the event loop as an offset from it (see
	// checker.attemptAt), and other times on the wall clock in
	// nanoseconds, in its location (see wallTime): 8 bytes rather than a
	// time.Time's 24.
	base time.Time

	ctx    context.Context // canceled by Stop: ends running probes
	cancel context.CancelFunc
	probes sync.WaitGroup // fire calls past their stopped check
	script sync.WaitGroup // running scripts

	mu         sync.Mutex
	stopped    bool
	queue      []Event // events waiting to be published
	publishing bool    // a goroutine is draining queue
	scriptUser string
	cfg        *schema.Config // the configuration of the last Update
	vss        []*vsState
	byName     map[string]*vsState
}

type vsState struct {
	cfg *schema.VirtualServer
	// rss are the real servers in config order, without duplicates. Set
	// by Update when it makes the vsState and not changed afterwards (a
	// new configuration makes new vsStates), so byAddr, built from it,
	// stays valid.
	rss []*rsState
	// byAddr indexes rss by address (sorted by rss[i].cfg.Address) for
	// lookup, built on the first lookup when rss is longer than
	// linearRSs; nil otherwise. 4 bytes a real server, against ~40 for
	// a map.
	byAddr    []int32
	quorum    bool
	suspended bool
}

// linearRSs is the most real servers a lookup by address scans one by
// one; beyond it the lookup builds and searches vsState.byAddr.
const linearRSs = 32

// rsLocked returns the real server of vs at addr, or nil (m.mu held).
func (vs *vsState) rsLocked(addr netip.AddrPort) *rsState {
	if len(vs.rss) <= linearRSs {
		for _, rs := range vs.rss {
			if rs.cfg.Address == addr {
				return rs
			}
		}
		return nil
	}
	if vs.byAddr == nil {
		idx := make([]int32, len(vs.rss))
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortFunc(idx, func(a, b int32) int { return vs.rss[a].cfg.Address.Compare(vs.rss[b].cfg.Address) })
		vs.byAddr = idx
	}
	i, ok := slices.BinarySearchFunc(vs.byAddr, addr, func(i int32, addr netip.AddrPort) int { return vs.rss[i].cfg.Address.Compare(addr) })
	if !ok {
		return nil
	}
	return vs.rss[vs.byAddr[i]]
}

// rsState is one real server's state. There is one per real server (tens
// of thousands in large configurations): keep it small. Its health is
// kept in parts (up, dynWeight, since) and made whole when it is read
// (see healthLocked): its Reason, the checkers' last results, is theirs.
type rsState struct {
	vs       *vsState
	cfg      *schema.RealServer
	checkers []*checker
	// one holds checkers when there is one (as usual): the struct has
	// room for it in its size class, a slice of its own would be another
	// allocation.
	one [1]*checker
	// since is when up last changed, on the wall clock (Unix
	// nanoseconds, see Manager.wallTime).
	since int64
	// dynWeight is the misc_dynamic weight, -1 when none has been set:
	// the health's Weight.
	dynWeight int32
	up        bool // the health's Up, as last published
	notified  bool
}

// id names the real server.
func (rs *rsState) id() runtime.RealServerID {
	return runtime.RealServerID{VirtualServer: rs.vs.cfg.Name, Addr: rs.cfg.Address}
}

// checker is one checker's state, one per checker of every real server:
// keep it small (fields ordered to pack; 128 bytes with a loop timer).
// The Spec of the check is not kept, but made when a Prober needs one (see
// specLocked): its real server and index are the checker's, and the rest
// is its target (target, port) and what it shares with other checkers
// (sh, which also leads to the Manager). None of them is modified (an
// Update keeps a checker only when its check is unchanged), so that a
// check running on the event loop reads them without the lock.
type checker struct {
	rs     *rsState
	sh     *shared
	timer  runtime.Timer // the clock's; unused when lt is
	target netip.Addr
	// The last result: its Reason (but see lastPass) and OK, and when its
	// attempt started, on the wall clock (Unix nanoseconds; see
	// Manager.wallTime).
	lastReason string
	lastAt     int64
	// On the event loop: when the attempt in flight started (nanoseconds
	// since Manager.base, on the clock's monotonic reading), the URL it
	// is at (HTTP_GET), and the timer (lt, when in use).
	attemptAt int64
	lt        loopTimer
	url       int32
	retryIt   int32 // failed attempts being retried while still up
	port      uint16
	up        bool
	hasRun    bool
	lastOK    bool
	// lastPass: the last result is a pass on the event loop without its
	// Reason (a TCP_CHECK's, see exchangeResult), which is made when it
	// is read (see reasonLocked) rather than kept: one string less a
	// real server.
	lastPass bool
	stopped  bool
}

// conn is where c's check connects.
func (c *checker) conn() Conn {
	return Conn{Target: netip.AddrPortFrom(c.target, c.port), BindAddr: c.sh.bind, BindPort: c.sh.bindPort, Timeout: c.sh.timeout}
}

// spec is c's Spec without its real server and index: enough to name,
// time and fingerprint the check.
func (c *checker) spec() Spec {
	return Spec{Conn: c.conn(), Settings: c.sh.Settings}
}

// specLocked makes c's Spec, for a Prober (m.mu held).
func (c *checker) specLocked() *Spec {
	s := c.spec()
	s.RealServer = c.rs.id()
	s.Index = slices.Index(c.rs.checkers, c)
	return &s
}

// name is the check's Spec.Name.
func (c *checker) name() string {
	s := c.spec()
	return s.Name()
}

// reasonLocked is the Reason of c's last result.
func (c *checker) reasonLocked() string {
	if c.lastPass {
		s := c.spec()
		return s.passReason()
	}
	return c.lastReason
}

// timerFired implements timerTarget: c's loop timer fired.
func (c *checker) timerFired() { c.sh.m.fire(c) }

// exchanged implements exchangeDone: an exchange of c's attempt on the
// event loop ended.
func (c *checker) exchanged(reply []byte, err error) {
	conn := c.conn()
	res, next := exchangeResult(conn, c.sh.Settings, int(c.url), reply, err)
	if next {
		c.url++
		c.sh.m.prober.(*NetProber).exchange(conn, c.sh.Settings, int(c.url), c)
		return
	}
	m := c.sh.m
	<-m.sem
	m.finish(c, res, time.Time{}, true) // the start is c's
	m.probes.Done()
}

// New starts checking the real servers of cfg, which must be resolved
// (schema.Resolve) and not modified afterwards. Checks begin after their
// warmup. Virtual servers with ha_suspend start suspended (see Suspend).
func New(cfg *schema.Config, opts Options) *Manager {
	m := &Manager{
		clock:         opts.Clock,
		log:           opts.Logger,
		publish:       opts.Publish,
		runner:        opts.Runner,
		prober:        opts.Prober,
		jitter:        opts.Jitter,
		scriptTimeout: opts.ScriptTimeout,
		byName:        map[string]*vsState{},
	}
	if m.clock == nil {
		m.clock = runtime.SystemClock{}
	}
	m.base = m.clock.Now()
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.runner == nil {
		m.runner = ExecRunner{}
	}
	if m.prober == nil {
		m.prober = &NetProber{Runner: m.runner}
		m.ownProber = true
	}
	if np, ok := m.prober.(*NetProber); ok {
		if _, ok := m.clock.(runtime.SystemClock); ok {
			m.loop = np
		}
	}
	if m.jitter == nil {
		m.jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return time.Duration(rand.Int64N(int64(max) + 1))
		}
	}
	if m.scriptTimeout <= 0 {
		m.scriptTimeout = DefaultScriptTimeout
	}
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	m.sem = make(chan struct{}, n)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.Update(cfg)
	return m
}

// Update moves the Manager to a new configuration (resolved; the Manager
// keeps pointers into it, so it must not be modified afterwards). Checkers
// whose configuration did not change keep their state and schedule, so
// their real servers do not flap; new or changed checkers start afresh
// (down under alpha, else up) after their warmup; removed ones stop.
// Events are published for real servers and virtual servers that exist in
// both configurations and whose facts changed; added and removed ones are
// read with Facts.
func (m *Manager) Update(cfg *schema.Config) {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	if cfg == m.cfg {
		// The configuration the Manager runs (the agent passes it again
		// right after New): nothing changes, and rebuilding every real
		// server's state would only double the memory for a moment.
		m.mu.Unlock()
		return
	}
	m.cfg = cfg
	if cfg.Global != nil {
		m.scriptUser = cfg.Global.ScriptUser
	}
	old := m.byName
	m.vss, m.byName = nil, map[string]*vsState{}
	cache := newSettingsCache()
	var evs []Event
	// New checkers are scheduled once every real server is built: a
	// checker due while the lock is held (the warmup of the first ones
	// ends before the last of 10,000 are built) would hold up the event
	// loop, every check on it, until the build is over, and then start in
	// a burst with all the others due meanwhile.
	var starts []checkerStart
	for _, vcfg := range cfg.VirtualServers {
		ovs := old[vcfg.Name]
		delete(old, vcfg.Name)
		vs := &vsState{cfg: vcfg, rss: make([]*rsState, 0, len(vcfg.RealServers))}
		vs.suspended = vcfg.HASuspend && vcfg.FwMark == 0
		if ovs != nil && ovs.cfg.HASuspend && vcfg.HASuspend {
			vs.suspended = ovs.suspended
		}
		// The real servers by address, only while updating: the old ones
		// to take over, the new ones to skip duplicates.
		var oldRSs map[netip.AddrPort]*rsState
		if ovs != nil {
			oldRSs = make(map[netip.AddrPort]*rsState, len(ovs.rss))
			for _, rs := range ovs.rss {
				oldRSs[rs.cfg.Address] = rs
			}
		}
		seen := make(map[netip.AddrPort]bool, len(vcfg.RealServers))
		var changed []*rsState
		for _, rcfg := range vcfg.RealServers {
			if seen[rcfg.Address] {
				continue // a duplicate; validation reports it
			}
			seen[rcfg.Address] = true
			ors := oldRSs[rcfg.Address]
			delete(oldRSs, rcfg.Address)
			rs := m.buildRS(vs, rcfg, ors, cache, &starts)
			vs.rss = append(vs.rss, rs)
			if ors != nil {
				changed = append(changed, rs)
			}
		}
		if ovs == nil {
			vs.quorum = weightSum(vs) >= vs.cfg.Quorum+vs.cfg.Hysteresis
		} else {
			for _, rs := range oldRSs {
				m.stopRS(rs)
			}
			vs.quorum = ovs.quorum
			for _, rs := range changed {
				evs = m.refreshLocked(rs, evs, false, false)
			}
			evs = m.quorumLocked(vs, evs)
		}
		m.vss = append(m.vss, vs)
		m.byName[vcfg.Name] = vs
	}
	for _, ovs := range old {
		for _, rs := range ovs.rss {
			m.stopRS(rs)
		}
	}
	for _, st := range starts {
		m.scheduleLocked(st.c, st.after)
	}
	m.unlockPublish(evs)
}

// checkerStart is a new checker and when its first attempt is due, from
// the end of the Update that made it.
type checkerStart struct {
	c     *checker
	after time.Duration
}

// buildRS makes the state of one real server, taking over the checkers of
// its previous state ors (nil for a new real server) whose configuration
// is unchanged. Its Specs share Settings through cache. Its new checkers
// are added to starts, for the caller to schedule.
func (m *Manager) buildRS(vs *vsState, cfg *schema.RealServer, ors *rsState, cache *settingsCache, starts *[]checkerStart) *rsState {
	rs := &rsState{vs: vs, cfg: cfg, dynWeight: -1}
	var pool map[[32]byte][]*checker
	if ors != nil {
		// The fingerprints are computed again rather than kept: they
		// are needed only here, and keeping them costs 32 bytes a
		// checker.
		pool = map[[32]byte][]*checker{}
		rs.up, rs.since, rs.dynWeight, rs.notified = ors.up, ors.since, ors.dynWeight, ors.notified
		for _, c := range ors.checkers {
			s := c.spec()
			fp := s.fingerprint()
			pool[fp] = append(pool[fp], c)
		}
	}
	// The Specs are made to compare and to start from: the checkers keep
	// what they need of them (see checker).
	specs := specs(vs.cfg, cfg, m.scriptUser, cache)
	if len(specs) == 1 {
		rs.checkers = rs.one[:0]
	} else {
		rs.checkers = make([]*checker, 0, len(specs))
	}
	for i := range specs {
		spec := &specs[i]
		if ors != nil {
			fp := spec.fingerprint()
			if cs := pool[fp]; len(cs) > 0 {
				c := cs[0]
				pool[fp] = cs[1:]
				c.rs = rs
				rs.checkers = append(rs.checkers, c)
				continue
			}
		}
		c := &checker{rs: rs, sh: cache.share(m, spec), target: spec.Conn.Target.Addr(), port: spec.Conn.Target.Port(), up: !spec.Alpha}
		*starts = append(*starts, checkerStart{c, m.jitter(spec.Warmup)})
		rs.checkers = append(rs.checkers, c)
	}
	for _, cs := range pool {
		for _, c := range cs {
			m.stopChecker(c)
		}
	}
	if ors == nil {
		rs.up, _ = rs.verdict()
		rs.since = m.clock.Now().UnixNano()
	}
	return rs
}

func (m *Manager) stopRS(rs *rsState) {
	for _, c := range rs.checkers {
		m.stopChecker(c)
	}
}

func (m *Manager) stopChecker(c *checker) {
	c.stopped = true
	if c.lt.inUse() {
		m.loop.x.stopTimer(&c.lt)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
}

// Suspend pauses (true) or resumes (false) the checks of virtual server vs
// when it has ha_suspend: the agent suspends it while this node does not
// hold its address. Health is kept while suspended. It does nothing for a
// virtual server without ha_suspend.
func (m *Manager) Suspend(vs string, suspended bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v := m.byName[vs]; v != nil && v.cfg.HASuspend && v.suspended != suspended {
		v.suspended = suspended
		m.log.Info("health checks "+map[bool]string{true: "suspended", false: "resumed"}[suspended], "virtual_server", vs)
	}
}

// Stop ends every check and waits for running checks and scripts. For
// virtual servers with omega it first runs notify_down for each up real
// server and quorum_down, as keepalived does on shutdown.
func (m *Manager) Stop() {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.stopped = true
	for _, vs := range m.vss {
		for _, rs := range vs.rss {
			for _, c := range rs.checkers {
				m.stopChecker(c)
			}
			if vs.cfg.Omega && rs.up && rs.cfg.NotifyDown != "" {
				m.runScriptLocked(rs.cfg.NotifyDown, "notify_down", rs.id().String())
			}
		}
		if vs.cfg.Omega && vs.cfg.QuorumDown != "" {
			m.runScriptLocked(vs.cfg.QuorumDown, "quorum_down", vs.cfg.Name)
		}
	}
	m.mu.Unlock()
	m.cancel()
	if m.ownProber {
		m.prober.(*NetProber).Close()
	}
	m.probes.Wait()
	m.script.Wait()
}

// fire runs one attempt of c and schedules the next.
func (m *Manager) fire(c *checker) {
	m.mu.Lock()
	if c.stopped {
		m.mu.Unlock()
		return
	}
	start := m.clock.Now()
	if c.rs.vs.suspended {
		m.scheduleLocked(c, c.sh.DelayLoop)
		m.mu.Unlock()
		return
	}
	np, onLoop := m.prober.(*NetProber)
	onLoop = onLoop && np.canStart(c.conn(), c.sh.Settings)
	var spec *Spec
	if !onLoop {
		spec = c.specLocked()
	}
	m.probes.Add(1)
	m.mu.Unlock()

	if onLoop {
		// On the event loop: this goroutine (often the loop's own) ends
		// here, and the result comes back through c.exchanged. Nothing
		// here may block the loop: at the concurrency bound, try again
		// shortly.
		select {
		case m.sem <- struct{}{}:
		default:
			m.mu.Lock()
			if !c.stopped {
				m.scheduleLocked(c, semRetry)
			}
			m.mu.Unlock()
			m.probes.Done()
			return
		}
		c.attemptAt = int64(start.Sub(m.base))
		c.url = 0
		np.exchange(c.conn(), c.sh.Settings, 0, c)
		return
	}
	res := m.probe(spec)
	m.finish(c, res, start, false)
	m.probes.Done()
}

// scheduleLocked arms c's timer to fire after d: on the NetProber's event
// loop when the check runs there and the clock is the system's (so that a
// check costs no goroutine), else with the clock.
func (m *Manager) scheduleLocked(c *checker, d time.Duration) {
	if c.lt.inUse() {
		m.loop.x.resetTimer(&c.lt, d) // the timer of the attempt that is calling this
		return
	}
	if m.loop != nil && m.loop.canStart(c.conn(), c.sh.Settings) {
		if err := m.loop.x.startTimer(&c.lt, d, c); err == nil {
			c.timer = nil
			return
		}
	}
	c.timer = m.clock.AfterFunc(d, func() { m.fire(c) })
}

// finish records the result of an attempt of c that started at start (on
// the event loop: onLoop, and the start is c.attemptAt) and schedules the
// next.
func (m *Manager) finish(c *checker, res Result, start time.Time, onLoop bool) {
	m.mu.Lock()
	if c.stopped {
		m.mu.Unlock()
		return
	}
	now := m.clock.Now()
	if onLoop {
		// The start is kept as its offset from m.base: on the clock's
		// monotonic reading, and its wall time is now's less the time
		// the attempt took.
		start = now.Add(time.Duration(c.attemptAt) - now.Sub(m.base))
	}
	evs := m.recordLocked(c, res, start, onLoop && res.OK && res.Reason == "")
	delay := c.sh.DelayLoop
	if c.retryIt > 0 {
		delay = c.sh.DelayBeforeRetry
	}
	delay -= now.Sub(start)
	m.scheduleLocked(c, max(0, delay))
	m.unlockPublish(evs)
}

// probe runs one attempt within the concurrency bound and the spec's
// timeout, even if the Prober overstays it.
func (m *Manager) probe(spec *Spec) Result {
	select {
	case m.sem <- struct{}{}:
	case <-m.ctx.Done():
		return fail("stopped")
	}
	defer func() { <-m.sem }()
	if np, ok := m.prober.(*NetProber); ok {
		// The network probes bound every step by the check's own
		// timeouts (dial, connection deadline, script timeout): no
		// watchdog goroutine and timer per check.
		return np.Probe(m.ctx, spec)
	}
	timeout := spec.Timeout() + probeSlack
	ctx, cancel := context.WithTimeout(m.ctx, timeout)
	defer cancel()
	ch := make(chan Result, 1)
	go func() { ch <- m.prober.Probe(ctx, spec) }()
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return fail("%s: no result within %v", spec.Name(), timeout)
	}
}

// recordLocked applies one result with keepalived's retry rule: a failure
// of an up checker is retried retry times before the checker goes down; a
// success brings it up at once. pass says that res is a pass on the event
// loop whose Reason is left to make (see checker.lastPass).
func (m *Manager) recordLocked(c *checker, res Result, at time.Time, pass bool) []Event {
	first := !c.hasRun
	c.hasRun = true
	c.lastReason, c.lastOK, c.lastAt, c.lastPass = res.Reason, res.OK, at.UnixNano(), pass
	rs := c.rs
	weightChanged := res.Weight >= 0 && int32(res.Weight) != rs.dynWeight
	if res.Weight >= 0 {
		rs.dynWeight = int32(res.Weight)
	}
	switch {
	case res.OK:
		c.retryIt = 0
		c.up = true
	case c.up && int(c.retryIt) < c.sh.Retry:
		c.retryIt++
		m.log.Debug("check failed, will retry", "real_server", rs.id().String(), "check", c.name(), "attempt", c.retryIt, "reason", res.Reason)
	default:
		c.retryIt = 0
		c.up = false
	}
	evs := m.refreshLocked(rs, nil, first && !res.OK && c.sh.Alpha, weightChanged)
	if len(evs) == 0 {
		return nil // the weight sum is unchanged: skip the O(real servers) quorum sum
	}
	return m.quorumLocked(rs.vs, evs)
}

// refreshLocked recomputes a real server's health from its checkers,
// appending an event and running its notify script when it changed (its
// Up, or its Weight: weightChanged). alphaDown is keepalived's notify_down
// for an alpha checker whose first result confirms the down state it
// started in.
func (m *Manager) refreshLocked(rs *rsState, evs []Event, alphaDown, weightChanged bool) []Event {
	up, _ := rs.verdict()
	if up != rs.up || weightChanged {
		upChanged := up != rs.up
		if upChanged {
			rs.since = m.clock.Now().UnixNano()
			m.log.Info("real server "+map[bool]string{true: "up", false: "down"}[up], "real_server", rs.id().String(), "reason", rs.reason())
		}
		rs.up = up
		id := rs.id()
		evs = append(evs, Event{Kind: HealthChanged, VirtualServer: id.VirtualServer, RealServer: id, Health: m.healthLocked(rs)})
		if upChanged {
			rs.notified = true
			m.notifyLocked(rs)
		}
		return evs
	}
	if alphaDown && !up && !rs.notified {
		rs.notified = true
		m.notifyLocked(rs)
	}
	return evs
}

// healthLocked is rs's health.
func (m *Manager) healthLocked(rs *rsState) runtime.Health {
	h := m.verdictLocked(rs)
	h.Reason = rs.reason()
	return h
}

// verdictLocked is rs's health without its Reason.
func (m *Manager) verdictLocked(rs *rsState) runtime.Health {
	return runtime.Health{Up: rs.up, Weight: int(rs.dynWeight), Since: m.wallTime(rs.since)}
}

// wallTime is the time of Unix nanoseconds ns in the clock's location.
func (m *Manager) wallTime(ns int64) time.Time {
	return time.Unix(0, ns).In(m.base.Location())
}

func (m *Manager) notifyLocked(rs *rsState) {
	if rs.up && rs.cfg.NotifyUp != "" {
		m.runScriptLocked(rs.cfg.NotifyUp, "notify_up", rs.id().String())
	}
	if !rs.up && rs.cfg.NotifyDown != "" {
		m.runScriptLocked(rs.cfg.NotifyDown, "notify_down", rs.id().String())
	}
}

// quorumLocked applies keepalived's quorum rule with hysteresis to vs.
func (m *Manager) quorumLocked(vs *vsState, evs []Event) []Event {
	sum := weightSum(vs)
	q, hy := vs.cfg.Quorum, vs.cfg.Hysteresis
	switch {
	case !vs.quorum && sum >= q+hy:
		vs.quorum = true
		m.log.Info("quorum gained", "virtual_server", vs.cfg.Name, "weight", sum, "threshold", q+hy)
		if vs.cfg.QuorumUp != "" {
			m.runScriptLocked(vs.cfg.QuorumUp, "quorum_up", vs.cfg.Name)
		}
	case vs.quorum && (sum == 0 || sum < q-hy):
		vs.quorum = false
		m.log.Info("quorum lost", "virtual_server", vs.cfg.Name, "weight", sum, "threshold", q-hy)
		if vs.cfg.QuorumDown != "" {
			m.runScriptLocked(vs.cfg.QuorumDown, "quorum_down", vs.cfg.Name)
		}
	default:
		return evs
	}
	return append(evs, Event{Kind: QuorumChanged, VirtualServer: vs.cfg.Name, Quorum: vs.quorum})
}

// runScriptLocked starts a notify script without waiting for it.
func (m *Manager) runScriptLocked(line, what, about string) {
	argv, err := ParseCommand(line)
	if err != nil {
		m.log.Error("cannot run "+what, "for", about, "err", err)
		return
	}
	cmd := Command{Argv: argv, User: m.scriptUser}
	m.script.Add(1)
	go func() {
		defer m.script.Done()
		ctx, cancel := context.WithTimeout(context.Background(), m.scriptTimeout)
		defer cancel()
		code, err := m.runner.Run(ctx, cmd)
		switch {
		case err != nil:
			m.log.Error(what+" failed", "for", about, "err", err)
		case code != 0:
			m.log.Warn(what+" failed", "for", about, "exit", code)
		}
	}()
}

// unlockPublish queues evs, releases m.mu and, unless another goroutine is
// already publishing (it will publish them), publishes the queue in order
// without holding m.mu, so Publish may call back into the Manager.
func (m *Manager) unlockPublish(evs []Event) {
	if m.publish == nil {
		m.mu.Unlock()
		return
	}
	m.queue = append(m.queue, evs...)
	if m.publishing || len(m.queue) == 0 {
		m.mu.Unlock()
		return
	}
	m.publishing = true
	for len(m.queue) > 0 {
		q := m.queue
		m.queue = nil
		m.mu.Unlock()
		for _, e := range q {
			m.publish(e)
		}
		m.mu.Lock()
	}
	m.publishing = false
	m.mu.Unlock()
}

// verdict says whether the real server is up (all its checkers are) and
// its effective weight.
func (rs *rsState) verdict() (bool, int) {
	up := true
	for _, c := range rs.checkers {
		up = up && c.up
	}
	return up, rs.weight()
}

// weight is the effective weight: the dynamic one if set, else the
// configured one.
func (rs *rsState) weight() int {
	if rs.dynWeight >= 0 {
		return int(rs.dynWeight)
	}
	return rs.configuredWeight()
}

// reason summarises the checkers' last results: the failures of down
// checkers, else retries in progress, else the last result.
func (rs *rsState) reason() string {
	if len(rs.checkers) == 0 {
		return "no checker"
	}
	var down, retry []string
	for _, c := range rs.checkers {
		switch {
		case !c.up && !c.hasRun:
			down = append(down, c.name()+": not checked yet (alpha)")
		case !c.up:
			down = append(down, c.reasonLocked())
		case c.retryIt > 0:
			retry = append(retry, c.reasonLocked()+" (retrying)")
		}
	}
	switch {
	case len(down) > 0:
		return strings.Join(down, "; ")
	case len(retry) > 0:
		return strings.Join(retry, "; ")
	}
	var last *checker
	for _, c := range rs.checkers {
		if c.hasRun && (last == nil || c.lastAt > last.lastAt) {
			last = c
		}
	}
	if last == nil {
		return "not checked yet"
	}
	return last.reasonLocked()
}

func weightSum(vs *vsState) int {
	sum := 0
	for _, rs := range vs.rss {
		if up, w := rs.verdict(); up {
			sum += w
		}
	}
	return sum
}

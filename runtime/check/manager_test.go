package check

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/schema"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeProber returns the result the test set for each checker, keyed
// "ADDR#INDEX", and records the calls with the fake clock's time.
type fakeProber struct {
	clock *fake.Clock
	mu    sync.Mutex
	res   map[string]Result
	calls []string
}

func newFakeProber(clock *fake.Clock) *fakeProber {
	return &fakeProber{clock: clock, res: map[string]Result{}}
}

func key(s *Spec) string { return fmt.Sprintf("%s#%d", s.RealServer.Addr, s.Index) }

func (p *fakeProber) Probe(_ context.Context, s *Spec) Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, fmt.Sprintf("%gs %s", p.clock.Now().Sub(t0).Seconds(), key(s)))
	if r, ok := p.res[key(s)]; ok {
		return r
	}
	return pass("ok")
}

func (p *fakeProber) set(k string, r Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res[k] = r
}

func (p *fakeProber) takeCalls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls
	p.calls = nil
	return c
}

// fakeRunner records the scripts run.
type fakeRunner struct {
	mu   sync.Mutex
	runs []string
}

func (r *fakeRunner) Run(_ context.Context, cmd Command) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, strings.Join(cmd.Argv, " "))
	return 0, nil
}

func (r *fakeRunner) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.runs
	r.runs = nil
	slices.Sort(out)
	return out
}

// harness runs a Manager on a fake clock with a fake prober and runner.
type harness struct {
	t      *testing.T
	clock  *fake.Clock
	prober *fakeProber
	runner *fakeRunner
	m      *Manager
	mu     sync.Mutex
	events []string
}

func newHarness(t *testing.T, cfg *schema.Config, jitter func(time.Duration) time.Duration) *harness {
	t.Helper()
	h := &harness{t: t, clock: fake.NewClock(t0), runner: &fakeRunner{}}
	h.prober = newFakeProber(h.clock)
	if jitter == nil {
		jitter = func(time.Duration) time.Duration { return 0 }
	}
	h.m = New(resolve(t, cfg), Options{
		Clock:   h.clock,
		Prober:  h.prober,
		Runner:  h.runner,
		Jitter:  jitter,
		Publish: h.publish,
	})
	t.Cleanup(h.m.Stop)
	return h
}

func (h *harness) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, eventString(e))
}

func eventString(e Event) string {
	switch e.Kind {
	case HealthChanged:
		return fmt.Sprintf("health %s up=%v weight=%d", e.RealServer, e.Health.Up, e.Health.Weight)
	case QuorumChanged:
		return fmt.Sprintf("quorum %s %v", e.VirtualServer, e.Quorum)
	}
	return "bad event"
}

func (h *harness) takeEvents() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.events
	h.events = nil
	return e
}

// upMap renders Facts as "vs/addr up weight" lines and quorum lines.
func upMap(f runtime.Facts) []string {
	var out []string
	for id, hl := range f.Health {
		out = append(out, fmt.Sprintf("%s up=%v weight=%d", id, hl.Up, hl.Weight))
	}
	for vs, q := range f.Quorum {
		out = append(out, fmt.Sprintf("quorum %s %v", vs, q))
	}
	slices.Sort(out)
	return out
}

// allFacts is m.Facts() with its Health map filled in from HealthOf, for
// every real server m checks, so upMap can list them.
func allFacts(m *Manager) runtime.Facts {
	f := m.Facts()
	var ids []runtime.RealServerID
	for _, vs := range m.Snapshot() {
		for _, rs := range vs.RealServers {
			ids = append(ids, runtime.RealServerID{VirtualServer: vs.Name, Addr: rs.Addr})
		}
	}
	f.Health = make(map[runtime.RealServerID]runtime.Health, len(ids))
	for _, id := range ids {
		if h, ok := f.HealthFor(id); ok {
			f.Health[id] = h
		}
	}
	return f
}

// step is one step of a step-sequence test: do something, advance the
// clock, then compare what happened.
type step struct {
	name        string
	do          func(h *harness)
	advance     time.Duration
	hold        bool     // do not even Advance(0)
	wantCalls   []string // prober calls during the step ("10s ADDR#0")
	wantEvents  []string
	wantScripts []string
	wantFacts   []string // when non-nil
}

func runSteps(t *testing.T, h *harness, steps []step) {
	t.Helper()
	for _, s := range steps {
		if s.do != nil {
			s.do(h)
		}
		if !s.hold {
			h.clock.Advance(s.advance)
		}
		h.m.script.Wait()
		if diff := cmp.Diff(s.wantCalls, h.prober.takeCalls()); diff != "" {
			t.Errorf("%s: prober calls (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.wantEvents, h.takeEvents()); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.wantScripts, h.runner.take()); diff != "" {
			t.Errorf("%s: scripts (-want +got):\n%s", s.name, diff)
		}
		if s.wantFacts != nil {
			if diff := cmp.Diff(s.wantFacts, upMap(allFacts(h.m))); diff != "" {
				t.Errorf("%s: facts (-want +got):\n%s", s.name, diff)
			}
		}
	}
}

func resolve(t *testing.T, cfg *schema.Config) *schema.Config {
	t.Helper()
	r, err := schema.Resolve(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) schema.Duration { return schema.Duration(d) }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// tcpRS is a real server with one TCP_CHECK.
func tcpRS(addr string, retry int, dbr time.Duration) *schema.RealServer {
	return &schema.RealServer{
		Address:    ap(addr),
		NotifyUp:   "/bin/notify up " + addr,
		NotifyDown: "/bin/notify down " + addr,
		Checks:     &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: schema.CheckCommon{Retry: ptr(retry), DelayBeforeRetry: dur(dbr)}}}},
	}
}

func oneVS(vs *schema.VirtualServer) *schema.Config {
	if vs.Name == "" {
		vs.Name = "web"
	}
	if !vs.Address.IsValid() {
		vs.Address = ap("192.0.2.10:80")
	}
	if vs.DelayLoop == 0 {
		vs.DelayLoop = dur(10 * time.Second)
	}
	return &schema.Config{VirtualServers: []*schema.VirtualServer{vs}}
}

var (
	failed = Result{Weight: -1, Reason: "connection refused"}
	ok     = Result{OK: true, Weight: -1, Reason: "ok"}
)

func TestRetryDownUp(t *testing.T) {
	cfg := oneVS(&schema.VirtualServer{
		QuorumUp:    "/bin/quorum up",
		QuorumDown:  "/bin/quorum down",
		RealServers: []*schema.RealServer{tcpRS("203.0.113.5:80", 2, 3*time.Second)},
	})
	h := newHarness(t, cfg, nil)
	const rs = "203.0.113.5:80#0"
	runSteps(t, h, []step{
		{name: "start: up without alpha", wantCalls: []string{"0s " + rs},
			wantFacts: []string{"quorum web true", "web/203.0.113.5:80 up=true weight=-1"}},
		{name: "next check after delay_loop", advance: 10 * time.Second, wantCalls: []string{"10s " + rs}},
		{name: "first failure is retried", do: func(h *harness) { h.prober.set(rs, failed) },
			advance: 10 * time.Second, wantCalls: []string{"20s " + rs},
			wantFacts: []string{"quorum web true", "web/203.0.113.5:80 up=true weight=-1"}},
		{name: "second failure is retried", advance: 3 * time.Second, wantCalls: []string{"23s " + rs}},
		{name: "third failure: down after retry x delay_before_retry", advance: 3 * time.Second,
			wantCalls:   []string{"26s " + rs},
			wantEvents:  []string{"health web/203.0.113.5:80 up=false weight=-1", "quorum web false"},
			wantScripts: []string{"/bin/notify down 203.0.113.5:80", "/bin/quorum down"},
			wantFacts:   []string{"quorum web false", "web/203.0.113.5:80 up=false weight=-1"}},
		{name: "down: no retries, next check after delay_loop", advance: 10 * time.Second, wantCalls: []string{"36s " + rs}},
		{name: "one success brings it up", do: func(h *harness) { h.prober.set(rs, ok) },
			advance:     10 * time.Second,
			wantCalls:   []string{"46s " + rs},
			wantEvents:  []string{"health web/203.0.113.5:80 up=true weight=-1", "quorum web true"},
			wantScripts: []string{"/bin/notify up 203.0.113.5:80", "/bin/quorum up"}},
		{name: "a failure then a success: no change", do: func(h *harness) { h.prober.set(rs, failed) },
			advance: 10 * time.Second, wantCalls: []string{"56s " + rs}},
		{name: "recovered on retry", do: func(h *harness) { h.prober.set(rs, ok) },
			advance: 3 * time.Second, wantCalls: []string{"59s " + rs}},
		{name: "back to delay_loop", advance: 10 * time.Second, wantCalls: []string{"69s " + rs}},
	})
	snap := h.m.Snapshot()
	c := snap[0].RealServers[0].Checks[0]
	if want := t0.Add(69 * time.Second); !c.LastCheck.Equal(want) || !c.LastOK || !c.Up {
		t.Errorf("snapshot check = %+v, want up, last ok at %v", c, want)
	}
	if got, want := snap[0].RealServers[0].Health.Since, t0.Add(46*time.Second); !got.Equal(want) {
		t.Errorf("Since = %v, want %v", got, want)
	}
}

func TestAlpha(t *testing.T) {
	a, b := tcpRS("203.0.113.5:80", 1, time.Second), tcpRS("203.0.113.6:80", 1, time.Second)
	cfg := oneVS(&schema.VirtualServer{Alpha: true, RealServers: []*schema.RealServer{a, b}})
	h := newHarness(t, cfg, func(d time.Duration) time.Duration { return 0 })
	h.prober.set("203.0.113.6:80#0", failed)
	runSteps(t, h, []step{
		{name: "alpha: down before the first check", hold: true,
			wantFacts: []string{"quorum web false", "web/203.0.113.5:80 up=false weight=-1", "web/203.0.113.6:80 up=false weight=-1"}},
		{name: "first success: up; first failure: stays down without retry, notify_down once",
			wantCalls:   []string{"0s 203.0.113.5:80#0", "0s 203.0.113.6:80#0"},
			wantEvents:  []string{"health web/203.0.113.5:80 up=true weight=-1", "quorum web true"},
			wantScripts: []string{"/bin/notify down 203.0.113.6:80", "/bin/notify up 203.0.113.5:80"}},
		{name: "still failing: no retry, no script", advance: 10 * time.Second,
			wantCalls: []string{"10s 203.0.113.5:80#0", "10s 203.0.113.6:80#0"}},
	})
}

func TestWarmup(t *testing.T) {
	var mu sync.Mutex
	var maxes []time.Duration
	jitter := func(d time.Duration) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		maxes = append(maxes, d)
		return d / 2
	}
	a := tcpRS("203.0.113.5:80", 1, time.Second)
	a.Checks.TCPChecks[0].Warmup = dur(30 * time.Second)
	b := tcpRS("203.0.113.6:80", 1, time.Second) // warmup defaults to delay_loop
	h := newHarness(t, oneVS(&schema.VirtualServer{RealServers: []*schema.RealServer{a, b}}), jitter)
	runSteps(t, h, []step{
		{name: "nothing before the jittered start", advance: 4 * time.Second},
		{name: "default warmup: up to delay_loop", advance: time.Second, wantCalls: []string{"5s 203.0.113.6:80#0"}},
		{name: "warmup 30s", advance: 10 * time.Second, wantCalls: []string{"15s 203.0.113.5:80#0", "15s 203.0.113.6:80#0"}},
	})
	if diff := cmp.Diff([]time.Duration{30 * time.Second, 10 * time.Second}, maxes); diff != "" {
		t.Errorf("jitter maxima (-want +got):\n%s", diff)
	}
}

func TestQuorumHysteresis(t *testing.T) {
	var rss []*schema.RealServer
	for i := range 4 {
		rs := tcpRS(fmt.Sprintf("203.0.113.%d:80", i+1), 0, time.Second)
		rs.NotifyUp, rs.NotifyDown = "", ""
		rss = append(rss, rs)
	}
	cfg := oneVS(&schema.VirtualServer{Quorum: 3, Hysteresis: 1, QuorumUp: "/bin/q up", QuorumDown: "/bin/q down", RealServers: rss})
	h := newHarness(t, cfg, nil)
	h.clock.Advance(0)
	h.prober.takeCalls()
	set := func(i int, r Result) func(*harness) {
		return func(h *harness) { h.prober.set(fmt.Sprintf("203.0.113.%d:80#0", i), r) }
	}
	all := []string{"%s 203.0.113.1:80#0", "%s 203.0.113.2:80#0", "%s 203.0.113.3:80#0", "%s 203.0.113.4:80#0"}
	at := func(s string) []string {
		var out []string
		for _, c := range all {
			out = append(out, fmt.Sprintf(c, s))
		}
		return out
	}
	runSteps(t, h, []step{
		{name: "4 of 4 up: quorum", hold: true, wantFacts: []string{
			"quorum web true",
			"web/203.0.113.1:80 up=true weight=-1", "web/203.0.113.2:80 up=true weight=-1",
			"web/203.0.113.3:80 up=true weight=-1", "web/203.0.113.4:80 up=true weight=-1"}},
		{name: "weight 3: kept", do: set(1, failed), advance: 10 * time.Second, wantCalls: at("10s"),
			wantEvents: []string{"health web/203.0.113.1:80 up=false weight=-1"}},
		{name: "weight 2 = quorum - hysteresis: kept", do: set(2, failed), advance: 10 * time.Second, wantCalls: at("20s"),
			wantEvents: []string{"health web/203.0.113.2:80 up=false weight=-1"}},
		{name: "weight 1 < quorum - hysteresis: lost", do: set(3, failed), advance: 10 * time.Second, wantCalls: at("30s"),
			wantEvents:  []string{"health web/203.0.113.3:80 up=false weight=-1", "quorum web false"},
			wantScripts: []string{"/bin/q down"}},
		{name: "weight 2: still lost", do: set(1, ok), advance: 10 * time.Second, wantCalls: at("40s"),
			wantEvents: []string{"health web/203.0.113.1:80 up=true weight=-1"}},
		{name: "weight 3 = quorum: still lost", do: set(2, ok), advance: 10 * time.Second, wantCalls: at("50s"),
			wantEvents: []string{"health web/203.0.113.2:80 up=true weight=-1"}},
		{name: "weight 4 = quorum + hysteresis: regained", do: set(3, ok), advance: 10 * time.Second, wantCalls: at("60s"),
			wantEvents:  []string{"health web/203.0.113.3:80 up=true weight=-1", "quorum web true"},
			wantScripts: []string{"/bin/q up"}},
	})
}

func TestMiscDynamicWeights(t *testing.T) {
	rs := &schema.RealServer{Address: ap("203.0.113.5:80"), Weight: ptr(5),
		Checks: &schema.Checks{MiscChecks: []*schema.MiscCheck{{Path: "/bin/check", Dynamic: true}}}}
	other := &schema.RealServer{Address: ap("203.0.113.6:80"), Weight: ptr(1)}
	cfg := oneVS(&schema.VirtualServer{Quorum: 4, RealServers: []*schema.RealServer{rs, other}})
	h := newHarness(t, cfg, nil)
	const k = "203.0.113.5:80#0"
	weight := func(w int) func(*harness) {
		return func(h *harness) { h.prober.set(k, Result{OK: true, Weight: w, Reason: "exit"}) }
	}
	runSteps(t, h, []step{
		{name: "exit 0: up, configured weight", wantCalls: []string{"0s " + k},
			wantFacts: []string{"quorum web true", "web/203.0.113.5:80 up=true weight=-1", "web/203.0.113.6:80 up=true weight=-1"}},
		{name: "exit 12: weight 10", do: weight(10), advance: 10 * time.Second, wantCalls: []string{"10s " + k},
			wantEvents: []string{"health web/203.0.113.5:80 up=true weight=10"}},
		{name: "exit 0: weight unchanged", do: weight(-1), advance: 10 * time.Second, wantCalls: []string{"20s " + k}},
		{name: "exit 1: down (MISC_CHECK retry defaults to 0), quorum 1 < 4 lost", do: func(h *harness) { h.prober.set(k, failed) },
			advance: 10 * time.Second, wantCalls: []string{"30s " + k},
			wantEvents: []string{"health web/203.0.113.5:80 up=false weight=10", "quorum web false"}},
		{name: "exit 4: up with weight 2, 2+1 < 4 quorum still lost", do: weight(2), advance: 10 * time.Second, wantCalls: []string{"40s " + k},
			wantEvents: []string{"health web/203.0.113.5:80 up=true weight=2"}},
		{name: "exit 5: weight 3, 3+1 quorum regained", do: weight(3), advance: 10 * time.Second, wantCalls: []string{"50s " + k},
			wantEvents: []string{"health web/203.0.113.5:80 up=true weight=3", "quorum web true"}},
	})
	snap := h.m.Snapshot()[0]
	if got := []int{snap.Weight, snap.RealServers[0].ConfiguredWeight, snap.RealServers[0].Weight}; !slices.Equal(got, []int{4, 5, 3}) {
		t.Errorf("weights (sum, configured, effective) = %v, want [4 5 3]", got)
	}
}

func TestReloadKeepsUnchanged(t *testing.T) {
	cfg := func(bTimeout time.Duration, withC bool) *schema.Config {
		a := tcpRS("203.0.113.1:80", 0, time.Second)
		b := tcpRS("203.0.113.2:80", 0, time.Second)
		b.Checks.TCPChecks[0].ConnectTimeout = dur(bTimeout)
		gone := tcpRS("203.0.113.9:80", 0, time.Second)
		rss := []*schema.RealServer{a, b, gone}
		if withC {
			a.Weight = ptr(7) // weight is not part of the check
			c := tcpRS("203.0.113.3:80", 0, time.Second)
			rss = []*schema.RealServer{a, b, c}
		}
		return oneVS(&schema.VirtualServer{Quorum: 1, RealServers: rss})
	}
	h := newHarness(t, cfg(time.Second, false), func(d time.Duration) time.Duration { return 0 })
	h.prober.set("203.0.113.1:80#0", failed)
	h.prober.set("203.0.113.2:80#0", failed)
	runSteps(t, h, []step{
		{name: "a and b go down", advance: 3 * time.Second,
			wantCalls:   []string{"0s 203.0.113.1:80#0", "0s 203.0.113.2:80#0", "0s 203.0.113.9:80#0"},
			wantEvents:  []string{"health web/203.0.113.1:80 up=false weight=-1", "health web/203.0.113.2:80 up=false weight=-1"},
			wantScripts: []string{"/bin/notify down 203.0.113.1:80", "/bin/notify down 203.0.113.2:80"}},
		{name: "reload: a unchanged keeps its state, b's check changed resets it, c added, 9 removed",
			do:          func(h *harness) { h.m.Update(resolve(t, cfg(2*time.Second, true))) },
			wantCalls:   []string{"3s 203.0.113.2:80#0", "3s 203.0.113.3:80#0"},
			wantEvents:  []string{"health web/203.0.113.2:80 up=true weight=-1", "health web/203.0.113.2:80 up=false weight=-1"},
			wantScripts: []string{"/bin/notify down 203.0.113.2:80", "/bin/notify up 203.0.113.2:80"},
			wantFacts: []string{"quorum web true",
				"web/203.0.113.1:80 up=false weight=-1", "web/203.0.113.2:80 up=false weight=-1", "web/203.0.113.3:80 up=true weight=-1"}},
		{name: "a keeps its schedule", advance: 7 * time.Second, wantCalls: []string{"10s 203.0.113.1:80#0"}},
	})
}

func TestReloadUnchangedConfigIsQuiet(t *testing.T) {
	mk := func() *schema.Config {
		return oneVS(&schema.VirtualServer{RealServers: []*schema.RealServer{tcpRS("203.0.113.1:80", 0, time.Second)}})
	}
	h := newHarness(t, mk(), nil)
	h.prober.set("203.0.113.1:80#0", failed)
	runSteps(t, h, []step{
		{name: "down", wantCalls: []string{"0s 203.0.113.1:80#0"},
			wantEvents:  []string{"health web/203.0.113.1:80 up=false weight=-1", "quorum web false"},
			wantScripts: []string{"/bin/notify down 203.0.113.1:80"}},
		{name: "reload the same config: nothing happens", do: func(h *harness) { h.m.Update(resolve(t, mk())) }, advance: 9 * time.Second},
		{name: "schedule kept", advance: time.Second, wantCalls: []string{"10s 203.0.113.1:80#0"}},
	})
}

// TestUpdateSameConfigKeepsState: Update with the configuration the
// Manager already runs (the agent does so right after New) rebuilds
// nothing.
func TestUpdateSameConfigKeepsState(t *testing.T) {
	cfg := resolve(t, oneVS(&schema.VirtualServer{RealServers: []*schema.RealServer{tcpRS("203.0.113.1:80", 0, time.Second)}}))
	m := New(cfg, Options{Clock: fake.NewClock(t0), Prober: &countingProber{inner: &NetProber{}, done: map[string]int{}}})
	t.Cleanup(m.Stop)
	m.mu.Lock()
	before := m.vss[0].rss[0]
	m.mu.Unlock()
	m.Update(cfg)
	m.mu.Lock()
	same := m.vss[0].rss[0] == before
	m.mu.Unlock()
	if !same {
		t.Error("Update with the running configuration rebuilt the real servers' state")
	}
	m.Update(resolve(t, oneVS(&schema.VirtualServer{RealServers: []*schema.RealServer{tcpRS("203.0.113.1:80", 0, time.Second)}})))
	m.mu.Lock()
	rebuilt := m.vss[0].rss[0] != before && m.vss[0].rss[0].checkers[0] == before.checkers[0]
	m.mu.Unlock()
	if !rebuilt {
		t.Error("Update with an equal new configuration: want new real server state keeping the same checker")
	}
}

// TestFactsOf: FactsOf is Facts for the named virtual servers.
func TestFactsOf(t *testing.T) {
	web := &schema.VirtualServer{Name: "web", Address: ap("192.0.2.10:80"), DelayLoop: dur(10 * time.Second),
		RealServers: []*schema.RealServer{tcpRS("203.0.113.1:80", 0, time.Second), tcpRS("203.0.113.2:80", 0, time.Second)}}
	mail := &schema.VirtualServer{Name: "mail", Address: ap("192.0.2.10:25"), DelayLoop: dur(10 * time.Second), Quorum: 2,
		RealServers: []*schema.RealServer{tcpRS("203.0.113.3:25", 0, time.Second)}}
	h := newHarness(t, &schema.Config{VirtualServers: []*schema.VirtualServer{web, mail}}, nil)
	h.prober.set("203.0.113.1:80#0", failed)
	h.clock.Advance(0)
	h.m.script.Wait()
	for _, tt := range []struct {
		name  string
		names []string
		want  []string
	}{
		{name: "none", want: nil},
		{name: "web", names: []string{"web"},
			want: []string{"quorum web true", "web/203.0.113.1:80 up=false weight=-1", "web/203.0.113.2:80 up=true weight=-1"}},
		{name: "mail and an unknown one", names: []string{"mail", "nope"},
			want: []string{"mail/203.0.113.3:25 up=true weight=-1", "quorum mail false"}},
	} {
		if diff := cmp.Diff(tt.want, upMap(h.m.FactsOf(tt.names...))); diff != "" {
			t.Errorf("%s: facts (-want +got):\n%s", tt.name, diff)
		}
	}
	all := upMap(allFacts(h.m))
	if diff := cmp.Diff(all, upMap(h.m.FactsOf("web", "mail"))); diff != "" {
		t.Errorf("FactsOf every virtual server differs from Facts (-Facts +FactsOf):\n%s", diff)
	}
}

// TestFactsHealthFor: Facts' HealthFor answers, for every real server,
// what a copy of them all would hold but the reason, which it leaves
// empty (a virtual server short enough to
// scan and one longer than linearRSs, which is indexed), false for real
// servers the Manager does not check, and the current health: a change
// after Facts returned, and a new configuration, are seen.
func TestFactsHealthFor(t *testing.T) {
	bigRSs := func(n int) []*schema.RealServer {
		var rss []*schema.RealServer
		for i := range n {
			// Descending, and IPv6 among IPv4, so config order is not
			// address order.
			addr := fmt.Sprintf("203.0.113.%d:80", 200-i)
			if i%5 == 0 {
				addr = fmt.Sprintf("[2001:db8::%x]:80", 1000-i)
			}
			rss = append(rss, tcpRS(addr, 0, time.Second))
		}
		return rss
	}
	mk := func(n int) *schema.Config {
		return &schema.Config{VirtualServers: []*schema.VirtualServer{
			{Name: "web", Address: ap("192.0.2.10:80"), DelayLoop: dur(10 * time.Second),
				RealServers: []*schema.RealServer{tcpRS("203.0.113.1:80", 0, time.Second), tcpRS("203.0.113.2:80", 0, time.Second)}},
			{Name: "big", Address: ap("192.0.2.11:80"), DelayLoop: dur(10 * time.Second), RealServers: bigRSs(n)},
		}}
	}
	const n = 3*linearRSs + 7
	h := newHarness(t, mk(n), nil)
	h.prober.set("203.0.113.2:80#0", failed)
	for i, rs := range bigRSs(n) {
		if i%3 == 0 {
			h.prober.set(rs.Address.String()+"#0", failed)
		}
	}
	h.clock.Advance(0)
	h.m.script.Wait()

	// check compares f.HealthFor with the copy factsOfLocked makes, for every
	// real server, and counts the ones down.
	check := func(name string, f runtime.Facts, bigN int) (down int) {
		t.Helper()
		h.m.mu.Lock()
		want := h.m.factsOfLocked(h.m.vss).Health
		h.m.mu.Unlock()
		if len(want) != 2+bigN {
			t.Fatalf("%s: %d real servers, want %d", name, len(want), 2+bigN)
		}
		for id, w := range want {
			got, ok := f.HealthFor(id)
			if !ok {
				t.Errorf("%s: HealthFor(%s): not found", name, id)
				continue
			}
			if w.Reason == "" {
				t.Fatalf("%s: the copy of %s has no reason", name, id)
			}
			w.Reason = ""
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("%s: HealthFor(%s) (-want +got):\n%s", name, id, diff)
			}
			if !got.Up {
				down++
			}
		}
		return down
	}
	f := h.m.Facts()
	if f.Health != nil || f.HealthOf == nil {
		t.Fatalf("Facts: want HealthOf and no Health map, got Health %v, HealthOf set %v", f.Health, f.HealthOf != nil)
	}
	if diff := cmp.Diff(map[string]bool{"web": true, "big": true}, f.Quorum); diff != "" {
		t.Errorf("quorum (-want +got):\n%s", diff)
	}
	if down, want := check("first checks", f, n), 1+(n+2)/3; down != want {
		t.Errorf("first checks: %d real servers down, want %d", down, want)
	}
	h.m.mu.Lock()
	indexed := []bool{h.m.byName["web"].byAddr != nil, h.m.byName["big"].byAddr != nil}
	h.m.mu.Unlock()
	if diff := cmp.Diff([]bool{false, true}, indexed); diff != "" {
		t.Errorf("web, big indexed (-want +got):\n%s", diff)
	}
	for _, id := range []runtime.RealServerID{
		{VirtualServer: "web", Addr: ap("203.0.113.3:80")},
		{VirtualServer: "web", Addr: ap("203.0.113.1:81")},
		{VirtualServer: "big", Addr: ap("203.0.113.1:80")},   // before them all
		{VirtualServer: "big", Addr: ap("203.0.113.150:81")}, // between two
		{VirtualServer: "big", Addr: ap("[2001:db8::1]:80")},
		{VirtualServer: "big", Addr: ap("[2001:db8::ffff]:80")}, // after them all
		{VirtualServer: "nope", Addr: ap("203.0.113.1:80")},
	} {
		if hl, ok := f.HealthFor(id); ok {
			t.Errorf("HealthFor(%s) = %+v, true; want false", id, hl)
		}
	}

	// A live lookup: the Facts already returned see later changes.
	up := runtime.RealServerID{VirtualServer: "big", Addr: bigRSs(n)[1].Address}
	if hl, _ := f.HealthFor(up); !hl.Up {
		t.Fatalf("HealthFor(%s): down before its check fails", up)
	}
	h.prober.set(up.Addr.String()+"#0", failed)
	h.prober.set("203.0.113.2:80#0", ok)
	h.clock.Advance(10 * time.Second)
	h.m.script.Wait()
	if hl, _ := f.HealthFor(up); hl.Up {
		t.Errorf("HealthFor(%s) after its check failed: still up", up)
	}
	if hl, _ := f.HealthFor(runtime.RealServerID{VirtualServer: "web", Addr: ap("203.0.113.2:80")}); !hl.Up {
		t.Error("HealthFor(web/203.0.113.2:80) after its check passed: still down")
	}
	if down, want := check("after changes", f, n), 1+(n+2)/3; down != want {
		t.Errorf("after changes: %d real servers down, want %d", down, want)
	}

	// New configurations with fewer real servers in big, still indexed
	// and then not: the old index is not used, the health kept is seen.
	for _, bigN := range []int{n - 2*linearRSs, linearRSs} {
		h.m.Update(resolve(t, mk(bigN)))
		name := fmt.Sprintf("reload to %d", bigN)
		check(name, f, bigN)
		gone := runtime.RealServerID{VirtualServer: "big", Addr: bigRSs(n)[bigN].Address}
		if hl, ok := f.HealthFor(gone); ok {
			t.Errorf("%s: HealthFor(%s) after it was removed = %+v, true; want false", name, gone, hl)
		}
		kept := runtime.RealServerID{VirtualServer: "big", Addr: bigRSs(n)[0].Address}
		if hl, ok := h.m.Facts().HealthFor(kept); !ok || hl.Up {
			t.Errorf("%s: HealthFor(%s) = %+v, %v; want down, true", name, kept, hl, ok)
		}
	}
}

// TestSpecsShareSettings: the checkers of real servers whose checks
// differ only by address share their Settings (and pass reason when it
// does not name the address), also after a reload, which keeps their
// health.
func TestSpecsShareSettings(t *testing.T) {
	httpRS := func(addr, host string) *schema.RealServer {
		return &schema.RealServer{Address: ap(addr),
			Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{URLs: []*schema.URL{{Path: "/health", Virtualhost: host}}}}}}
	}
	mk := func() *schema.Config {
		return oneVS(&schema.VirtualServer{RealServers: []*schema.RealServer{
			tcpRS("203.0.113.1:80", 0, time.Second), tcpRS("203.0.113.2:80", 0, time.Second),
			tcpRS("203.0.113.3:80", 1, time.Second), // another retry
			httpRS("203.0.113.4:80", "www.example.com"), httpRS("203.0.113.5:80", "www.example.com"),
			httpRS("203.0.113.6:80", ""), httpRS("203.0.113.7:80", ""), // the Host header is the address, added by the loop
		}})
	}
	h := newHarness(t, mk(), nil)
	h.prober.set("203.0.113.1:80#0", failed)
	h.clock.Advance(0)
	h.m.script.Wait()
	wantFacts := []string{"quorum web true",
		"web/203.0.113.1:80 up=false weight=-1", "web/203.0.113.2:80 up=true weight=-1",
		"web/203.0.113.3:80 up=true weight=-1", "web/203.0.113.4:80 up=true weight=-1",
		"web/203.0.113.5:80 up=true weight=-1", "web/203.0.113.6:80 up=true weight=-1",
		"web/203.0.113.7:80 up=true weight=-1"}
	if diff := cmp.Diff(wantFacts, upMap(allFacts(h.m))); diff != "" {
		t.Fatalf("facts (-want +got):\n%s", diff)
	}
	// sharing says, for each pair of real servers i<j (1-based), whether
	// their checkers share Settings ("i=j") and pass reason ("i~j": the
	// HTTP_GETs' "GET /health: ok"; a TCP_CHECK's names its address, and
	// is not made in advance).
	sharing := func() ([]string, []*checker) {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		var cs []*checker
		for _, rs := range h.m.vss[0].rss {
			cs = append(cs, rs.checkers[0])
		}
		var out []string
		for i := range cs {
			for j := i + 1; j < len(cs); j++ {
				si, sj := cs[i].sh, cs[j].sh
				if si.Settings == sj.Settings {
					out = append(out, fmt.Sprintf("%d=%d", i+1, j+1))
				}
				if si.okReason != "" && unsafe.StringData(si.okReason) == unsafe.StringData(sj.okReason) {
					out = append(out, fmt.Sprintf("%d~%d", i+1, j+1))
				}
			}
		}
		return out, cs
	}
	want := []string{"1=2", "4=5", "4~5", "4~6", "4~7", "5~6", "5~7", "6=7", "6~7"}
	got, before := sharing()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sharing (-want +got):\n%s", diff)
	}

	h.m.Update(resolve(t, mk()))
	h.clock.Advance(0)
	h.m.script.Wait()
	if diff := cmp.Diff(wantFacts, upMap(allFacts(h.m))); diff != "" {
		t.Errorf("facts after reload (-want +got):\n%s", diff)
	}
	got, after := sharing()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sharing after reload (-want +got):\n%s", diff)
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("real server %d: reload replaced its unchanged checker", i+1)
		}
	}
	if calls := h.prober.takeCalls(); len(calls) != len(before) {
		t.Errorf("prober calls %q: want one a checker, none after the reload", calls)
	}
	if ev := h.takeEvents(); len(ev) != 1 {
		t.Errorf("events %q: want .1 down, and nothing from the reload", ev)
	}
}

func TestHASuspend(t *testing.T) {
	cfg := oneVS(&schema.VirtualServer{HASuspend: true, RealServers: []*schema.RealServer{tcpRS("203.0.113.1:80", 0, time.Second)}})
	h := newHarness(t, cfg, nil)
	const k = "203.0.113.1:80#0"
	runSteps(t, h, []step{
		{name: "ha_suspend: suspended until the address is here", advance: 20 * time.Second},
		{name: "resumed: checks at the next tick", do: func(h *harness) { h.m.Suspend("web", false) },
			advance: 10 * time.Second, wantCalls: []string{"30s " + k}},
		{name: "suspended again: health kept, no checks", do: func(h *harness) {
			h.prober.set(k, failed)
			h.m.Suspend("web", true)
		}, advance: 30 * time.Second, wantFacts: []string{"quorum web true", "web/203.0.113.1:80 up=true weight=-1"}},
		{name: "Suspend ignores a virtual server without ha_suspend", do: func(h *harness) { h.m.Suspend("nope", false) }},
	})
	if !h.m.Snapshot()[0].Suspended {
		t.Error("Snapshot: not suspended")
	}
}

func TestNoCheckerIsUp(t *testing.T) {
	cfg := oneVS(&schema.VirtualServer{Alpha: true, RealServers: []*schema.RealServer{{Address: ap("203.0.113.1:80")}}})
	h := newHarness(t, cfg, nil)
	runSteps(t, h, []step{{name: "always up", advance: time.Minute,
		wantFacts: []string{"quorum web true", "web/203.0.113.1:80 up=true weight=-1"}}})
	if got := h.m.Snapshot()[0].RealServers[0].Health.Reason; got != "no checker" {
		t.Errorf("Reason = %q", got)
	}
}

func TestAllCheckersMustBeUp(t *testing.T) {
	rs := tcpRS("203.0.113.1:80", 0, time.Second)
	rs.NotifyUp, rs.NotifyDown = "", ""
	rs.Checks.HTTPGets = []*schema.HTTPCheck{{URLs: []*schema.URL{{Path: "/"}}, CheckCommon: schema.CheckCommon{Retry: ptr(0)}}}
	h := newHarness(t, oneVS(&schema.VirtualServer{RealServers: []*schema.RealServer{rs}}), nil)
	h.prober.set("203.0.113.1:80#1", Result{Weight: -1, Reason: "GET /: status 503"})
	runSteps(t, h, []step{
		{name: "tcp up, http down: down", wantCalls: []string{"0s 203.0.113.1:80#0", "0s 203.0.113.1:80#1"},
			wantEvents: []string{"health web/203.0.113.1:80 up=false weight=-1", "quorum web false"}},
		{name: "both up: up", do: func(h *harness) { h.prober.set("203.0.113.1:80#1", ok) }, advance: 10 * time.Second,
			wantCalls:  []string{"10s 203.0.113.1:80#0", "10s 203.0.113.1:80#1"},
			wantEvents: []string{"health web/203.0.113.1:80 up=true weight=-1", "quorum web true"}},
	})
}

func TestStopOmega(t *testing.T) {
	for _, tt := range []struct {
		name  string
		omega bool
		want  []string
	}{
		{name: "omega runs notify_down and quorum_down", omega: true,
			want: []string{"/bin/notify down 203.0.113.1:80", "/bin/quorum down"}},
		{name: "without omega nothing runs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := oneVS(&schema.VirtualServer{Omega: tt.omega, QuorumDown: "/bin/quorum down",
				RealServers: []*schema.RealServer{tcpRS("203.0.113.1:80", 0, time.Second)}})
			h := newHarness(t, cfg, nil)
			h.clock.Advance(0)
			h.m.Stop()
			if diff := cmp.Diff(tt.want, h.runner.take()); diff != "" {
				t.Errorf("scripts (-want +got):\n%s", diff)
			}
			if n := h.clock.Pending(); n != 0 {
				t.Errorf("%d timers pending after Stop", n)
			}
		})
	}
}

// blockingProber never returns until released.
type blockingProber struct{ release chan struct{} }

func (p blockingProber) Probe(ctx context.Context, s *Spec) Result {
	<-p.release
	return pass("late")
}

func TestProbeTimeoutEnforced(t *testing.T) {
	p := blockingProber{release: make(chan struct{})}
	defer close(p.release)
	m := New(&schema.Config{}, Options{Prober: p})
	defer m.Stop()
	s := &Spec{Conn: Conn{Target: ap("203.0.113.1:80"), Timeout: 50 * time.Millisecond}, Settings: &Settings{Kind: KindTCP}}
	start := time.Now()
	r := m.probe(s)
	if r.OK || !strings.Contains(r.Reason, "no result within") {
		t.Errorf("probe = %+v, want a timeout failure", r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("probe took %v", d)
	}
}

func TestWarmupSpreadsTheFirstChecks(t *testing.T) {
	var rss []*schema.RealServer
	for i := range 1000 {
		rs := tcpRS(fmt.Sprintf("203.0.%d.%d:80", 112+i/250, i%250+1), 1, time.Second)
		rs.NotifyUp, rs.NotifyDown = "", ""
		rss = append(rss, rs)
	}
	clock := fake.NewClock(t0)
	p := newFakeProber(clock)
	m := New(resolve(t, oneVS(&schema.VirtualServer{DelayLoop: dur(time.Second), RealServers: rss})),
		Options{Clock: clock, Prober: p}) // the default, random, jitter
	defer m.Stop()
	for bucket := range 10 {
		clock.Advance(100 * time.Millisecond)
		// 1000 checks over a 1s warmup: about 100 per 100ms (σ ≈ 10).
		if n := len(p.takeCalls()); n < 50 || n > 150 {
			t.Errorf("%d checks in [%dms, %dms), want about 100", n, bucket*100, bucket*100+100)
		}
	}
}

// hookClock is a fake clock that calls after before each AfterFunc.
type hookClock struct {
	*fake.Clock
	after func()
}

func (c *hookClock) AfterFunc(d time.Duration, f func()) runtime.Timer {
	c.after()
	return c.Clock.AfterFunc(d, f)
}

// TestUpdateSchedulesAfterBuilding: a Manager schedules the first attempts
// of new checkers once it has built every real server, so that none is due
// while the build holds its lock (which would hold up the event loop) —
// when a config is first run and when an Update adds real servers.
func TestUpdateSchedulesAfterBuilding(t *testing.T) {
	mk := func(vss, rss int) *schema.Config {
		cfg := &schema.Config{}
		for i := range vss {
			vs := &schema.VirtualServer{Name: fmt.Sprintf("vs%d", i), Address: ap(fmt.Sprintf("192.0.2.%d:80", i+1)), DelayLoop: dur(10 * time.Second)}
			for k := range rss {
				vs.RealServers = append(vs.RealServers, tcpRS(fmt.Sprintf("203.0.113.%d:%d", k+1, 80+i), 0, time.Second))
			}
			cfg.VirtualServers = append(cfg.VirtualServers, vs)
		}
		return resolve(t, cfg)
	}
	var built int
	scheduledAt := -1 // built when the first attempt was scheduled
	clock := &hookClock{Clock: fake.NewClock(t0), after: func() {
		if scheduledAt < 0 {
			scheduledAt = built
		}
	}}
	m := New(mk(3, 5), Options{Clock: clock, Prober: newFakeProber(clock.Clock), Runner: &fakeRunner{},
		Jitter: func(time.Duration) time.Duration { built++; return 0 }})
	t.Cleanup(m.Stop)
	if scheduledAt != 15 {
		t.Errorf("New: the first attempt was scheduled after %d of 15 checkers were built", scheduledAt)
	}
	built, scheduledAt = 0, -1
	m.Update(mk(4, 5))
	if scheduledAt != 5 {
		t.Errorf("Update: the first attempt was scheduled after %d of 5 new checkers were built", scheduledAt)
	}
}

package track

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/runtime/script"
	"github.com/hacfg/hacfg/schema"
)

// fakeRunner answers every run of a command with the exit code set for
// it (0 by default) and counts the runs.
type fakeRunner struct {
	mu    sync.Mutex
	exit  map[string]int
	hang  map[string]bool // report a timeout
	runs  map[string]int
	users []string
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{exit: map[string]int{}, hang: map[string]bool{}, runs: map[string]int{}}
}

func (r *fakeRunner) Run(ctx context.Context, s script.Spec) (script.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs[s.Command.Text]++
	r.users = append(r.users, s.User)
	if r.hang[s.Command.Text] {
		return script.Result{ExitCode: -1, TimedOut: true}, nil
	}
	return script.Result{ExitCode: r.exit[s.Command.Text]}, nil
}

func (r *fakeRunner) set(cmd string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exit[cmd] = code
}

// harness runs a Manager on a fake clock, files in memory and a fake
// runner, and records the callbacks as text.
type harness struct {
	t      *testing.T
	clock  *fake.Clock
	runner *fakeRunner
	mu     sync.Mutex
	files  map[string]string
	events []string
	m      *Manager
}

func newHarness(t *testing.T, cfg *schema.Config, instances ...string) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		clock:  fake.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		runner: newFakeRunner(),
		files:  map[string]string{},
	}
	rc, err := schema.Resolve(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	h.m, err = NewManager(rc, Deps{
		Clock:  h.clock,
		Runner: h.runner,
		ReadFile: func(p string) ([]byte, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			s, ok := h.files[p]
			if !ok {
				return nil, fs.ErrNotExist
			}
			return []byte(s), nil
		},
		WriteFile: func(p string, b []byte) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.files[p] = string(b)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range instances {
		_, err := h.m.Track(name, Callbacks{
			OnPriority: func(p int) { h.record(fmt.Sprintf("%s priority %d", name, p)) },
			OnFault: func(f bool, r string) {
				if f {
					h.record(fmt.Sprintf("%s fault: %s", name, r))
				} else {
					h.record(name + " ok")
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(h.m.Stop)
	return h
}

func (h *harness) record(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, s)
}

func (h *harness) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.events
	h.events = nil
	return e
}

func (h *harness) setFile(p, v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[p] = v
}

func (h *harness) delFile(p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.files, p)
}

type step struct {
	name string
	do   func(h *harness)
	want []string
}

func runSteps(t *testing.T, h *harness, steps []step) {
	t.Helper()
	for i, s := range steps {
		s.do(h)
		if diff := cmp.Diff(s.want, h.take()); diff != "" {
			t.Fatalf("step %d %q: callbacks (-want +got):\n%s", i, s.name, diff)
		}
	}
}

func start(h *harness) { h.m.Start() }
func advance(d time.Duration) func(*harness) {
	return func(h *harness) { h.clock.Advance(d) }
}
func exit(cmd string, code int) func(*harness) {
	return func(h *harness) { h.runner.set(cmd, code) }
}
func then(fs ...func(*harness)) func(*harness) {
	return func(h *harness) {
		for _, f := range fs {
			f(h)
		}
	}
}
func link(name string, up bool) func(*harness) {
	return func(h *harness) { h.m.LinkChanged(runtime.LinkEvent{Name: name, Up: up}) }
}
func file(p, v string) func(*harness) { return func(h *harness) { h.setFile(p, v) } }

func ptr(i int) *int { return &i }

// instance returns a minimal instance with no primary interface tracking.
func instance(name string, prio int) *schema.VRRPInstance {
	return &schema.VRRPInstance{Name: name, VirtualRouterID: 1, Priority: prio, Interface: "eth0", DontTrackPrimary: true}
}

func scriptCfg(name, cmd string, weight *int, rise, fall int) *schema.VRRPScript {
	return &schema.VRRPScript{Name: name, Script: cmd, Weight: weight, Rise: rise, Fall: fall, Interval: schema.Duration(time.Second)}
}

func TestScriptWeights(t *testing.T) {
	tests := []struct {
		name   string
		script *schema.VRRPScript
		ref    schema.TrackRef
		prio   int
		steps  []step
	}{
		{
			name:   "positive weight, rise 2 fall 2",
			script: scriptCfg("chk", "/chk", ptr(10), 2, 2),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   100,
			steps: []step{
				{"start: no result yet, no contribution", start, []string{"VI_1 priority 100", "VI_1 ok"}},
				{"first run at once: one success is enough at start", advance(0), []string{"VI_1 priority 110"}},
				{"one failure is not enough", then(exit("/chk", 1), advance(time.Second)), nil},
				{"second failure: bad", advance(time.Second), []string{"VI_1 priority 100"}},
				{"one success is not enough", then(exit("/chk", 0), advance(time.Second)), nil},
				{"second success: good", advance(time.Second), []string{"VI_1 priority 110"}},
				{"steady", advance(10 * time.Second), nil},
			},
		},
		{
			name:   "negative weight",
			script: scriptCfg("chk", "/chk", ptr(-20), 1, 1),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   100,
			steps: []step{
				{"start", start, []string{"VI_1 priority 100", "VI_1 ok"}},
				{"first run fails", then(exit("/chk", 2), advance(0)), []string{"VI_1 priority 80"}},
				{"success", then(exit("/chk", 0), advance(time.Second)), []string{"VI_1 priority 100"}},
			},
		},
		{
			name:   "reference weight overrides the script's",
			script: scriptCfg("chk", "/chk", ptr(-20), 1, 1),
			ref:    schema.TrackRef{Name: "chk", Weight: ptr(30)},
			prio:   100,
			steps: []step{
				{"start", start, []string{"VI_1 priority 100", "VI_1 ok"}},
				{"success adds", advance(0), []string{"VI_1 priority 130"}},
			},
		},
		{
			name:   "weight 0 faults",
			script: scriptCfg("chk", "/chk", nil, 1, 3),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   100,
			steps: []step{
				{"start: held until the first result", start, []string{"VI_1 priority 100", "VI_1 fault: script chk has not reported yet"}},
				{"success", advance(0), []string{"VI_1 ok"}},
				{"fall 3: two failures tolerated", then(exit("/chk", 1), advance(2*time.Second)), nil},
				{"third failure", advance(time.Second), []string{"VI_1 fault: script chk failed"}},
				{"rise 1", then(exit("/chk", 0), advance(time.Second)), []string{"VI_1 ok"}},
			},
		},
		{
			name:   "first result a failure faults at once despite fall",
			script: scriptCfg("chk", "/chk", ptr(0), 1, 3),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   100,
			steps: []step{
				{"start", then(exit("/chk", 1), start), []string{"VI_1 priority 100", "VI_1 fault: script chk has not reported yet"}},
				{"failure", advance(0), []string{"VI_1 fault: script chk failed"}},
			},
		},
		{
			name:   "timeout is a failure",
			script: scriptCfg("chk", "/chk", ptr(-5), 1, 1),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   100,
			steps: []step{
				{"start", start, []string{"VI_1 priority 100", "VI_1 ok"}},
				{"hangs", then(func(h *harness) { h.runner.hang["/chk"] = true }, advance(0)), []string{"VI_1 priority 95"}},
			},
		},
		{
			name:   "clamped to 254",
			script: scriptCfg("chk", "/chk", ptr(10), 1, 1),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   250,
			steps: []step{
				{"start", start, []string{"VI_1 priority 250", "VI_1 ok"}},
				{"success", advance(0), []string{"VI_1 priority 254"}},
			},
		},
		{
			name:   "clamped to 1",
			script: scriptCfg("chk", "/chk", ptr(-253), 1, 1),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   5,
			steps: []step{
				{"start", then(exit("/chk", 1), start), []string{"VI_1 priority 5", "VI_1 ok"}},
				{"failure", advance(0), []string{"VI_1 priority 1"}},
			},
		},
		{
			name:   "weight 254 is 253",
			script: scriptCfg("chk", "/chk", ptr(254), 1, 1),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   1,
			steps: []step{
				{"start", start, []string{"VI_1 priority 1", "VI_1 ok"}},
				{"success", advance(0), []string{"VI_1 priority 254"}},
			},
		},
		{
			name:   "owner never adjusted",
			script: scriptCfg("chk", "/chk", ptr(-50), 1, 1),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   255,
			steps: []step{
				{"start", then(exit("/chk", 1), start), []string{"VI_1 priority 255", "VI_1 ok"}},
				{"failure", advance(0), nil},
			},
		},
		{
			name:   "owner still faults",
			script: scriptCfg("chk", "/chk", nil, 1, 1),
			ref:    schema.TrackRef{Name: "chk"},
			prio:   255,
			steps: []step{
				{"start", then(exit("/chk", 1), start), []string{"VI_1 priority 255", "VI_1 fault: script chk has not reported yet"}},
				{"failure", advance(0), []string{"VI_1 fault: script chk failed"}},
			},
		},
		{
			name: "init_fail with weight 0",
			script: func() *schema.VRRPScript {
				s := scriptCfg("chk", "/chk", nil, 2, 1)
				s.InitFail = true
				return s
			}(),
			ref:  schema.TrackRef{Name: "chk"},
			prio: 100,
			steps: []step{
				{"start failed", start, []string{"VI_1 priority 100", "VI_1 fault: script chk failed"}},
				{"rise 2 from failed: one success is not enough", advance(0), nil},
				{"second success", advance(time.Second), []string{"VI_1 ok"}},
			},
		},
		{
			name: "init_fail with negative weight",
			script: func() *schema.VRRPScript {
				s := scriptCfg("chk", "/chk", ptr(-10), 1, 1)
				s.InitFail = true
				return s
			}(),
			ref:  schema.TrackRef{Name: "chk"},
			prio: 100,
			steps: []step{
				{"start failed: weight applies", start, []string{"VI_1 priority 90", "VI_1 ok"}},
				{"success", advance(0), []string{"VI_1 priority 100"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := instance("VI_1", tt.prio)
			in.TrackScript = []schema.TrackRef{tt.ref}
			h := newHarness(t, &schema.Config{Scripts: []*schema.VRRPScript{tt.script}, Instances: []*schema.VRRPInstance{in}}, "VI_1")
			runSteps(t, h, tt.steps)
		})
	}
}

func TestScriptSchedule(t *testing.T) {
	sc := scriptCfg("chk", "/chk", ptr(5), 1, 1)
	sc.Interval = schema.Duration(3 * time.Second)
	sc.User = "nobody"
	a, b := instance("VI_1", 100), instance("VI_2", 90)
	a.TrackScript = []schema.TrackRef{{Name: "chk"}}
	b.TrackScript = []schema.TrackRef{{Name: "chk", Weight: ptr(-5)}}
	h := newHarness(t, &schema.Config{Scripts: []*schema.VRRPScript{sc}, Instances: []*schema.VRRPInstance{a, b}}, "VI_1", "VI_2")
	h.m.Start()
	h.clock.Advance(0)
	if got := h.runner.runs["/chk"]; got != 1 {
		t.Errorf("runs after start = %d, want 1 (one run shared by both instances)", got)
	}
	h.clock.Advance(2999 * time.Millisecond)
	if got := h.runner.runs["/chk"]; got != 1 {
		t.Errorf("runs before the interval = %d, want 1", got)
	}
	h.clock.Advance(time.Millisecond)
	if got := h.runner.runs["/chk"]; got != 2 {
		t.Errorf("runs after the interval = %d, want 2", got)
	}
	h.clock.Advance(30 * time.Second)
	if got := h.runner.runs["/chk"]; got != 12 {
		t.Errorf("runs after 33s = %d, want 12", got)
	}
	if h.runner.users[0] != "nobody" {
		t.Errorf("script ran as %q, want nobody", h.runner.users[0])
	}
	h.m.Stop()
	h.clock.Advance(time.Minute)
	if got := h.runner.runs["/chk"]; got != 12 {
		t.Errorf("runs after Stop = %d, want 12", got)
	}
	if h.clock.Pending() != 0 {
		t.Errorf("%d timers pending after Stop", h.clock.Pending())
	}
}

func TestInterfaces(t *testing.T) {
	in := &schema.VRRPInstance{Name: "VI_1", VirtualRouterID: 1, Priority: 100, Interface: "eth0",
		TrackInterface: []schema.TrackRef{{Name: "eth1"}, {Name: "eth2", Weight: ptr(-30)}, {Name: "eth3", Weight: ptr(15)}}}
	h := newHarness(t, &schema.Config{Instances: []*schema.VRRPInstance{in}}, "VI_1")
	runSteps(t, h, []step{
		{"initial states before start", then(link("eth0", true), link("eth1", true), link("eth2", true), link("eth3", false)), nil},
		{"start", start, []string{"VI_1 priority 100", "VI_1 ok"}},
		{"positive weight up", link("eth3", true), []string{"VI_1 priority 115"}},
		{"negative weight down", link("eth2", false), []string{"VI_1 priority 85"}},
		{"repeated event", link("eth2", false), nil},
		{"weight 0 down", link("eth1", false), []string{"VI_1 fault: interface eth1 down"}},
		{"primary deleted too", func(h *harness) { h.m.LinkChanged(runtime.LinkEvent{Name: "eth0", Deleted: true}) },
			[]string{"VI_1 fault: interface eth0 down; interface eth1 down"}},
		{"primary back", link("eth0", true), []string{"VI_1 fault: interface eth1 down"}},
		{"eth1 back", link("eth1", true), []string{"VI_1 ok"}},
		{"unrelated interface", link("eth7", false), nil},
	})
}

func TestInterfaceNeverSeenIsDown(t *testing.T) {
	in := &schema.VRRPInstance{Name: "VI_1", VirtualRouterID: 1, Priority: 100, Interface: "eth0"}
	h := newHarness(t, &schema.Config{Instances: []*schema.VRRPInstance{in}}, "VI_1")
	runSteps(t, h, []step{
		{"start", start, []string{"VI_1 priority 100", "VI_1 fault: interface eth0 down"}},
		{"appears", link("eth0", true), []string{"VI_1 ok"}},
	})
}

func TestTrackFiles(t *testing.T) {
	files := []*schema.TrackFile{
		{Name: "f1", File: "/run/f1"},                      // weight default 1
		{Name: "f2", File: "/run/f2", Weight: ptr(2)},      // weight 2
		{Name: "f0", File: "/run/f0", Weight: ptr(0)},      // fault on non-zero
		{Name: "fi", File: "/run/fi", InitFile: true},      // created
		{Name: "fr", File: "/run/fr", Weight: ptr(5)},      // reference overrides
		{Name: "big", File: "/run/big", Weight: ptr(-100)}, // -254 faults
	}
	in := instance("VI_1", 100)
	in.TrackFile = []schema.TrackRef{{Name: "f1"}, {Name: "f2"}, {Name: "f0"}, {Name: "fi"}, {Name: "fr", Weight: ptr(-1)}, {Name: "big"}}
	h := newHarness(t, &schema.Config{TrackFiles: files, Instances: []*schema.VRRPInstance{in}}, "VI_1")
	h.setFile("/run/f1", "5\n")
	runSteps(t, h, []step{
		{"start: read at once, missing files are 0", start, []string{"VI_1 priority 105", "VI_1 ok"}},
		{"polled every second", then(file("/run/f2", "-3"), advance(time.Second)), []string{"VI_1 priority 99"}},
		{"hex, ×2", then(file("/run/f2", "0x10 trailing"), advance(time.Second)), []string{"VI_1 priority 137"}},
		{"octal", then(file("/run/f2", " 010"), advance(time.Second)), []string{"VI_1 priority 121"}},
		{"garbage is 0", then(file("/run/f2", "abc"), advance(time.Second)), []string{"VI_1 priority 105"}},
		{"reference weight -1", then(file("/run/fr", "7"), advance(time.Second)), []string{"VI_1 priority 98"}},
		{"weight 0 non-zero faults", then(file("/run/f0", "1"), advance(time.Second)), []string{"VI_1 fault: track file f0 value 1"}},
		{"weight 0 zero recovers", then(file("/run/f0", "0"), advance(time.Second)), []string{"VI_1 ok"}},
		{"-100 × 3 = -300 → -254 faults", then(file("/run/big", "3"), advance(time.Second)), []string{"VI_1 fault: track file big value 3"}},
		{"-100 × 2 = -200 is added", then(file("/run/big", "2"), advance(time.Second)), []string{"VI_1 priority 1", "VI_1 ok"}},
		{"file removed counts as 0", then(func(h *harness) { h.delFile("/run/big") }, advance(time.Second)), []string{"VI_1 priority 98"}},
		{"value clamped to 254 before the weight", then(file("/run/f1", "100000"), advance(time.Second)), []string{"VI_1 priority 254"}},
		{"254 × 1 counts 253", then(file("/run/big", "2"), advance(time.Second)), []string{"VI_1 priority 146"}},
		{"Poll reads at once", then(file("/run/f1", "0"), func(h *harness) { h.m.Poll() }), []string{"VI_1 priority 1"}},
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if got := h.files["/run/fi"]; got != "0\n" {
		t.Errorf("init_file wrote %q, want %q", got, "0\n")
	}
}

func TestSyncGroup(t *testing.T) {
	sc := scriptCfg("chk", "/chk", ptr(10), 1, 1)
	a, b, c := instance("VI_1", 100), instance("VI_2", 100), instance("VI_3", 100)
	a.TrackScript = []schema.TrackRef{{Name: "chk"}} // weight 10 forced to 0
	g := &schema.SyncGroup{Name: "G", Group: []string{"VI_1", "VI_2"}, TrackInterface: []schema.TrackRef{{Name: "eth9", Weight: ptr(-10)}}}
	h := newHarness(t, &schema.Config{Scripts: []*schema.VRRPScript{sc}, SyncGroups: []*schema.SyncGroup{g}, Instances: []*schema.VRRPInstance{a, b, c}}, "VI_1", "VI_2", "VI_3")
	runSteps(t, h, []step{
		{"eth9 up", link("eth9", true), nil},
		{"start: VI_1 waits for its script, so the group does", start, []string{
			"VI_1 priority 100", "VI_1 fault: script chk has not reported yet",
			"VI_2 priority 100", "VI_2 fault: sync group G: member VI_1 in fault: script chk has not reported yet",
			"VI_3 priority 100", "VI_3 ok",
		}},
		{"script good", advance(0), []string{"VI_1 ok", "VI_2 ok"}},
		{"script fails: weight was forced to 0", then(exit("/chk", 1), advance(time.Second)), []string{
			"VI_1 fault: script chk failed",
			"VI_2 fault: sync group G: member VI_1 in fault: script chk failed",
		}},
		{"script recovers", then(exit("/chk", 0), advance(time.Second)), []string{"VI_1 ok", "VI_2 ok"}},
		{"group interface down faults every member (weight forced to 0)", link("eth9", false), []string{
			"VI_1 fault: interface eth9 down", "VI_2 fault: interface eth9 down",
		}},
		{"back", link("eth9", true), []string{"VI_1 ok", "VI_2 ok"}},
	})
	_, _, _, st := h.m.trackers["VI_1"].Status()
	want := []Status{
		{Kind: KindScript, Name: "chk", State: "good"},
		{Kind: KindInterface, Name: "eth9", State: "up"},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("VI_1 status (-want +got):\n%s", diff)
	}
}

func TestTrackErrors(t *testing.T) {
	tests := []struct {
		name string
		in   *schema.VRRPInstance
		want string
	}{
		{name: "unknown script", in: &schema.VRRPInstance{Name: "VI_1", TrackScript: []schema.TrackRef{{Name: "nope"}}}, want: `no vrrp_script "nope"`},
		{name: "unknown file", in: &schema.VRRPInstance{Name: "VI_1", TrackFile: []schema.TrackRef{{Name: "nope"}}}, want: `no vrrp_track_file "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewManager(&schema.Config{Instances: []*schema.VRRPInstance{tt.in}}, Deps{Clock: fake.NewClock(time.Time{})})
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Track("VI_1", Callbacks{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Track error = %v, want %q", err, tt.want)
			}
			if _, err := m.Track("VI_9", Callbacks{}); err == nil {
				t.Error("Track of an unknown instance succeeded")
			}
		})
	}
}

func TestStrtol(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"0", 0}, {"12", 12}, {"  -7\n", -7}, {"+3", 3}, {"0x1f", 31}, {"0X1F", 31}, {"010", 8},
		{"09", 0}, {"12abc", 12}, {"abc", 0}, {"", 0}, {"0x", 0}, {"-0x10", -16},
	}
	for _, tt := range tests {
		if got := strtol(tt.in); got != tt.want {
			t.Errorf("strtol(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

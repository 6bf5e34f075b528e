package announce_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/announce"
	"github.com/hacfg/hacfg/runtime/fake"
)

var (
	vip1  = netip.MustParseAddr("192.0.2.10")
	vip2  = netip.MustParseAddr("192.0.2.11")
	vip6  = netip.MustParseAddr("2001:db8::10")
	vmac7 = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x07}
)

// step is one step of a scenario: do something (optional), advance the
// clock, and compare the announcements made meanwhile.
type step struct {
	name    string
	do      func(t *testing.T, s *announce.Scheduler)
	advance time.Duration
	want    []string
	pending *int // timers left on the clock after the step; nil: not checked
}

func master(name, iface string, addrs []netip.Addr, hw net.HardwareAddr, st announce.Settings) func(*testing.T, *announce.Scheduler) {
	return func(t *testing.T, s *announce.Scheduler) {
		t.Helper()
		if err := s.Master(name, iface, addrs, hw, st); err != nil {
			t.Fatalf("Master(%s): %v", name, err)
		}
	}
}

func stop(name string) func(*testing.T, *announce.Scheduler) {
	return func(_ *testing.T, s *announce.Scheduler) { s.Stop(name) }
}

func lowerPrio(name string, wantMaster bool) func(*testing.T, *announce.Scheduler) {
	return func(t *testing.T, s *announce.Scheduler) {
		t.Helper()
		if got := s.LowerPriority(name); got != wantMaster {
			t.Fatalf("LowerPriority(%s) = %v, want %v", name, got, wantMaster)
		}
	}
}

// p returns a pointer to n.
func p(n int) *int { return &n }

// times repeats line n times.
func times(n int, line string) []string {
	l := make([]string, n)
	for i := range l {
		l[i] = line
	}
	return l
}

func cat(ls ...[]string) []string {
	var all []string
	for _, l := range ls {
		all = append(all, l...)
	}
	return all
}

func with(f func(*announce.Settings)) announce.Settings {
	s := announce.DefaultSettings()
	f(&s)
	return s
}

var start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func runSteps(t *testing.T, steps []step) {
	t.Helper()
	clock := fake.NewClock(start)
	a := fake.NewAnnouncer(clock)
	s := announce.New(a, clock, nil)
	defer s.Close()
	for i, st := range steps {
		if st.do != nil {
			st.do(t, s)
		}
		clock.Advance(st.advance)
		if diff := cmp.Diff(st.want, a.Take()); diff != "" {
			t.Errorf("step %d %q: announcements (-want +got):\n%s", i, st.name, diff)
		}
		if st.pending != nil && clock.Pending() != *st.pending {
			t.Errorf("step %d %q: %d timers pending, want %d", i, st.name, clock.Pending(), *st.pending)
		}
	}
}

func TestSchedule(t *testing.T) {
	v4 := []netip.Addr{vip1, vip2}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "defaults: 5 at once, 5 more after 5s, then nothing",
			steps: []step{
				{name: "become master", do: master("VI_1", "eth0", v4, nil, announce.DefaultSettings()),
					want: times(5, "+0s eth0 192.0.2.10 192.0.2.11"), pending: p(1)},
				{name: "just before the delay", advance: 5*time.Second - time.Nanosecond, pending: p(1)},
				{name: "delay", advance: time.Nanosecond, want: times(5, "+5s eth0 192.0.2.10 192.0.2.11")},
				{name: "an hour later", advance: time.Hour},
			},
		},
		{
			name: "vrrp_min_garp: one, no second set",
			steps: []step{
				{do: master("VI_1", "eth0", v4, nil, announce.Settings{Repeat: 1}),
					want: []string{"+0s eth0 192.0.2.10 192.0.2.11"}},
				{advance: time.Hour},
			},
		},
		{
			name: "repeat 0 means 1",
			steps: []step{
				{do: master("VI_1", "eth0", []netip.Addr{vip1}, nil, announce.Settings{}), want: []string{"+0s eth0 192.0.2.10"}},
				{advance: time.Hour},
			},
		},
		{
			name: "refresh every 60s while master, counted from becoming master",
			steps: []step{
				{do: master("VI_1", "eth0", []netip.Addr{vip1}, nil, with(func(s *announce.Settings) {
					s.Repeat, s.Refresh, s.RefreshRepeat = 1, time.Minute, 2
				})), want: []string{"+0s eth0 192.0.2.10"}, pending: p(2)},
				{advance: 5 * time.Second, want: []string{"+5s eth0 192.0.2.10"}, pending: p(1)},
				{advance: 55 * time.Second, want: times(2, "+1m0s eth0 192.0.2.10"), pending: p(1)},
				{advance: time.Minute, want: times(2, "+2m0s eth0 192.0.2.10"), pending: p(1)},
				{name: "leave master", advance: 10 * time.Second, do: stop("VI_1"), pending: p(0)},
				{advance: time.Hour, pending: p(0)},
			},
		},
		{
			name: "refresh repeat 0 means 1",
			steps: []step{
				{do: master("VI_1", "eth0", []netip.Addr{vip1}, nil, announce.Settings{Refresh: time.Second}),
					advance: 2 * time.Second,
					want:    []string{"+0s eth0 192.0.2.10", "+1s eth0 192.0.2.10", "+2s eth0 192.0.2.10"}, pending: p(1)},
			},
		},
		{
			name: "leaving master before the delay cancels the second set",
			steps: []step{
				{do: master("VI_1", "eth0", v4, nil, announce.DefaultSettings()), advance: 3 * time.Second,
					want: times(5, "+0s eth0 192.0.2.10 192.0.2.11")},
				{do: stop("VI_1"), advance: time.Hour, pending: p(0)},
				{name: "stop again", do: stop("VI_1"), pending: p(0)},
			},
		},
		{
			name: "becoming master again restarts the schedule",
			steps: []step{
				{do: master("VI_1", "eth0", []netip.Addr{vip1}, nil, announce.Settings{Repeat: 2, Delay: 5 * time.Second}),
					advance: 3 * time.Second, want: times(2, "+0s eth0 192.0.2.10")},
				{name: "restart with another address", do: master("VI_1", "eth0", []netip.Addr{vip2}, nil, announce.Settings{Repeat: 1, Delay: 5 * time.Second}),
					advance: 4 * time.Second, want: []string{"+3s eth0 192.0.2.11"}, pending: p(1)},
				{advance: time.Second, want: []string{"+8s eth0 192.0.2.11"}, pending: p(0)},
			},
		},
		{
			name: "garp_interval paces ARPs one by one; NAs have their own interval",
			steps: []step{
				{do: master("VI_1", "eth0", []netip.Addr{vip1, vip6, vip2}, nil, announce.Settings{
					Repeat: 2, ARPInterval: 10 * time.Millisecond,
				}), want: []string{
					"+0s eth0 192.0.2.10",
					"+0s eth0 2001:db8::10",
					"+0s eth0 2001:db8::10",
				}},
				{advance: 9 * time.Millisecond},
				{advance: time.Millisecond, want: []string{"+10ms eth0 192.0.2.11"}},
				{advance: 20 * time.Millisecond, want: []string{"+20ms eth0 192.0.2.10", "+30ms eth0 192.0.2.11"}},
				{advance: time.Hour, pending: p(0)},
			},
		},
		{
			name: "gna_interval paces NAs",
			steps: []step{
				{do: master("VI_6", "eth0", []netip.Addr{vip6}, nil, announce.Settings{Repeat: 3, NAInterval: time.Second}),
					advance: 5 * time.Second,
					want:    []string{"+0s eth0 2001:db8::10", "+1s eth0 2001:db8::10", "+2s eth0 2001:db8::10"}, pending: p(0)},
			},
		},
		{
			name: "instances on one interface share its pause, in order",
			steps: []step{
				{do: func(t *testing.T, s *announce.Scheduler) {
					st := announce.Settings{Repeat: 2, ARPInterval: time.Second}
					master("VI_1", "eth0", []netip.Addr{vip1}, nil, st)(t, s)
					master("VI_2", "eth0", []netip.Addr{vip2}, nil, st)(t, s)
					master("VI_3", "eth1", []netip.Addr{vip2}, nil, st)(t, s)
				}, want: []string{"+0s eth0 192.0.2.10", "+0s eth1 192.0.2.11"}},
				{advance: 2 * time.Second, want: []string{"+1s eth0 192.0.2.10", "+1s eth1 192.0.2.11", "+2s eth0 192.0.2.11"}},
				{name: "VI_2's second packet is dropped when it leaves master", do: stop("VI_2"), advance: time.Hour},
			},
		},
		{
			name: "a stopped instance's queued packets make way for the next",
			steps: []step{
				{do: func(t *testing.T, s *announce.Scheduler) {
					st := announce.Settings{Repeat: 3, ARPInterval: time.Second}
					master("VI_1", "eth0", []netip.Addr{vip1}, nil, st)(t, s)
					master("VI_2", "eth0", []netip.Addr{vip2}, nil, announce.Settings{Repeat: 1})(t, s)
				}, advance: 500 * time.Millisecond, want: []string{"+0s eth0 192.0.2.10"}},
				{do: stop("VI_1"), advance: time.Hour, want: []string{"+1s eth0 192.0.2.11"}, pending: p(0)},
			},
		},
		{
			name: "vmac: the virtual MAC is passed on",
			steps: []step{
				{do: master("VI_7", "eth0", []netip.Addr{vip1}, vmac7, announce.Settings{Repeat: 1}),
					want: []string{"+0s eth0 192.0.2.10 hw 00:00:5e:00:01:07"}},
			},
		},
		{
			name: "lower priority advert: repeat at once and after the delay, each time",
			steps: []step{
				{do: master("VI_1", "eth0", []netip.Addr{vip1}, nil, with(func(s *announce.Settings) {
					s.Repeat, s.Delay, s.LowerPrioRepeat, s.LowerPrioDelay = 1, 0, 2, 3*time.Second
				})), advance: 10 * time.Second, want: []string{"+0s eth0 192.0.2.10"}, pending: p(0)},
				{do: lowerPrio("VI_1", true), advance: time.Second, want: times(2, "+10s eth0 192.0.2.10"), pending: p(1)},
				{do: lowerPrio("VI_1", true), advance: 2 * time.Second, want: cat(times(2, "+11s eth0 192.0.2.10"), times(2, "+13s eth0 192.0.2.10")), pending: p(1)},
				{advance: time.Second, want: times(2, "+14s eth0 192.0.2.10"), pending: p(0)},
				{name: "not master", do: func(t *testing.T, s *announce.Scheduler) { s.Stop("VI_1"); lowerPrio("VI_1", false)(t, s) }, advance: time.Hour},
			},
		},
		{
			name: "lower priority repeat 0 sends nothing",
			steps: []step{
				{do: master("VI_1", "eth0", []netip.Addr{vip1}, nil, announce.Settings{Repeat: 1}), want: []string{"+0s eth0 192.0.2.10"}},
				{do: lowerPrio("VI_1", true), advance: time.Hour, pending: p(0)},
			},
		},
		{
			name: "lower priority defaults follow the master defaults",
			steps: []step{
				{do: master("VI_1", "eth0", []netip.Addr{vip1}, nil, announce.DefaultSettings()), advance: 6 * time.Second,
					want: cat(times(5, "+0s eth0 192.0.2.10"), times(5, "+5s eth0 192.0.2.10"))},
				{do: lowerPrio("VI_1", true), advance: 5 * time.Second,
					want: cat(times(5, "+6s eth0 192.0.2.10"), times(5, "+11s eth0 192.0.2.10"))},
			},
		},
		{
			name: "a master without addresses sends nothing and keeps no timers",
			steps: []step{
				{do: master("VI_1", "eth0", nil, nil, announce.DefaultSettings()), advance: time.Hour, pending: p(0)},
				{do: lowerPrio("VI_1", true), advance: time.Hour, pending: p(0)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, tt.steps)
		})
	}
}

func TestMastersAndClose(t *testing.T) {
	clock := fake.NewClock(start)
	a := fake.NewAnnouncer(clock)
	s := announce.New(a, clock, nil)
	st := announce.Settings{Repeat: 1, Delay: time.Second, Refresh: time.Second, ARPInterval: time.Second}
	for _, n := range []string{"VI_2", "VI_1"} {
		if err := s.Master(n, "eth0", []netip.Addr{vip1}, nil, st); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"VI_1", "VI_2"}, s.Masters()); diff != "" {
		t.Errorf("Masters (-want +got):\n%s", diff)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := a.Packets()
	clock.Advance(time.Hour)
	if got := a.Packets(); got != before {
		t.Errorf("%d packets sent after Close", got-before)
	}
	if got := clock.Pending(); got != 0 {
		t.Errorf("%d timers pending after Close", got)
	}
	if err := s.Master("VI_1", "eth0", []netip.Addr{vip1}, nil, st); !errors.Is(err, announce.ErrClosed) {
		t.Errorf("Master after Close = %v, want ErrClosed", err)
	}
	if s.LowerPriority("VI_1") {
		t.Error("LowerPriority after Close reports master")
	}
	if got := s.Masters(); len(got) != 0 {
		t.Errorf("Masters after Close = %q", got)
	}
}

func TestAnnouncerErrorsAreLoggedAndScheduleGoesOn(t *testing.T) {
	clock := fake.NewClock(start)
	a := fake.NewAnnouncer(clock)
	var logs strings.Builder
	log := newTextLogger(&logs)
	s := announce.New(a, clock, log)
	defer s.Close()
	a.AnnounceFailOn("eth0", runtime.ErrNoDevice)
	if err := s.Master("VI_1", "eth0", []netip.Addr{vip1}, nil, announce.Settings{Repeat: 2, Delay: time.Second}); err != nil {
		t.Fatalf("Master = %v; announcer errors must not be returned", err)
	}
	if got := strings.Count(logs.String(), "announce failed"); got != 2 {
		t.Errorf("logged %d failures, want 2:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "no such device") {
		t.Errorf("log lacks the error:\n%s", logs.String())
	}
	a.AnnounceFailOn("eth0", nil)
	clock.Advance(time.Second)
	if diff := cmp.Diff(times(2, "+1s eth0 192.0.2.10"), a.Take()); diff != "" {
		t.Errorf("after the interface is back (-want +got):\n%s", diff)
	}
}

func TestMasterRejects(t *testing.T) {
	tests := []struct {
		name     string
		instance string
		iface    string
		addrs    []netip.Addr
		hw       net.HardwareAddr
		settings announce.Settings
		want     string
	}{
		{name: "no instance", iface: "eth0", want: "empty instance name"},
		{name: "no interface", instance: "VI_1", want: "empty interface name"},
		{name: "zero address", instance: "VI_1", iface: "eth0", addrs: []netip.Addr{{}}, want: "address invalid IP cannot be announced"},
		{name: "multicast", instance: "VI_1", iface: "eth0", addrs: []netip.Addr{netip.MustParseAddr("ff02::1")}, want: "address ff02::1 cannot be announced"},
		{name: "mapped", instance: "VI_1", iface: "eth0", addrs: []netip.Addr{netip.MustParseAddr("::ffff:192.0.2.1")}, want: "address ::ffff:192.0.2.1 cannot be announced"},
		{name: "short hw", instance: "VI_1", iface: "eth0", hw: net.HardwareAddr{1}, want: "hardware address 01: want 6 bytes"},
		{name: "negative delay", instance: "VI_1", iface: "eth0", settings: announce.Settings{Delay: -time.Second}, want: "garp_master_delay -1s is negative"},
		{name: "negative repeat", instance: "VI_1", iface: "eth0", settings: announce.Settings{LowerPrioRepeat: -1}, want: "garp_lower_prio_repeat -1 is negative"},
		{name: "negative interval", instance: "VI_1", iface: "eth0", settings: announce.Settings{NAInterval: -1}, want: "gna_interval -1ns is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := fake.NewClock(start)
			a := fake.NewAnnouncer(clock)
			s := announce.New(a, clock, nil)
			defer s.Close()
			err := s.Master(tt.instance, tt.iface, tt.addrs, tt.hw, tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Master = %v, want an error containing %q", err, tt.want)
			}
			if len(s.Masters()) != 0 || a.Packets() != 0 || clock.Pending() != 0 {
				t.Errorf("a rejected Master left state: masters %q, %d packets, %d timers", s.Masters(), a.Packets(), clock.Pending())
			}
		})
	}
}

func TestDefaultSettingsAreKeepalivedDefaults(t *testing.T) {
	want := announce.Settings{
		Repeat:          5,
		Delay:           5 * time.Second,
		RefreshRepeat:   1,
		LowerPrioRepeat: 5,
		LowerPrioDelay:  5 * time.Second,
	}
	if diff := cmp.Diff(want, announce.DefaultSettings()); diff != "" {
		t.Errorf("DefaultSettings (-want +got):\n%s", diff)
	}
	if err := announce.DefaultSettings().Validate(); err != nil {
		t.Errorf("DefaultSettings().Validate() = %v", err)
	}
}

// TestConcurrentSystemClock runs schedules on the real clock from several
// goroutines (for the race detector) and checks that nothing is sent for
// an instance once Stop has returned.
func TestConcurrentSystemClock(t *testing.T) {
	rec := &stopRecorder{Announcer: fake.NewAnnouncer(nil)}
	s := announce.New(rec, runtime.SystemClock{}, nil)
	defer s.Close()
	st := announce.Settings{Repeat: 2, Delay: time.Millisecond, Refresh: time.Millisecond, ARPInterval: 100 * time.Microsecond}
	done := make(chan error, 4)
	for g := range 4 {
		go func() {
			// One interface per instance, so that the recorder can tell
			// whose announcement it sees.
			name, iface := fmt.Sprintf("VI_%d", g), fmt.Sprintf("eth%d", g)
			for range 20 {
				rec.setActive(iface, true)
				if err := s.Master(name, iface, []netip.Addr{vip1, vip2}, nil, st); err != nil {
					done <- err
					return
				}
				time.Sleep(200 * time.Microsecond)
				s.LowerPriority(name)
				s.Stop(name)
				rec.setActive(iface, false)
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond) // let stray timers fire
	if rec.Packets() == 0 {
		t.Error("nothing was sent")
	}
	if n := rec.late(); n != 0 {
		t.Errorf("%d announcements after Stop returned", n)
	}
}

// stopRecorder counts announcements on interfaces whose instance has been
// stopped.
type stopRecorder struct {
	*fake.Announcer
	mu     sync.Mutex
	active map[string]bool
	nLate  int
}

func (r *stopRecorder) setActive(iface string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		r.active = make(map[string]bool)
	}
	r.active[iface] = on
}

func (r *stopRecorder) Announce(iface string, addrs []netip.Addr, hw net.HardwareAddr) error {
	r.mu.Lock()
	if !r.active[iface] {
		r.nLate++
	}
	r.mu.Unlock()
	return r.Announcer.Announce(iface, addrs, hw)
}

func (r *stopRecorder) late() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nLate
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

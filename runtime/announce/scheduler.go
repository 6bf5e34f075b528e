package announce

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/hacfg/hacfg/runtime"
)

// keepalived's defaults (keepalived.conf(5), global_defs).
const (
	DefaultDelay         = 5 * time.Second // vrrp_garp_master_delay
	DefaultRepeat        = 5               // vrrp_garp_master_repeat
	DefaultRefreshRepeat = 1               // vrrp_garp_master_refresh_repeat
)

// Settings are one instance's announcement settings, in keepalived's
// terms. The zero value sends one announcement per address on becoming
// master and nothing else; DefaultSettings gives keepalived's defaults.
type Settings struct {
	// Repeat is garp_master_repeat: how many announcements of every address
	// are sent at once on becoming master, and again after Delay. Values
	// below 1 mean 1.
	Repeat int
	// Delay is garp_master_delay: when the second set of Repeat
	// announcements follows the first. 0 means no second set.
	Delay time.Duration
	// Refresh is garp_master_refresh: the period of further announcements
	// while master, counted from becoming master. 0 means none.
	Refresh time.Duration
	// RefreshRepeat is garp_master_refresh_repeat: announcements of every
	// address per refresh. Values below 1 mean 1.
	RefreshRepeat int
	// LowerPrioRepeat is garp_lower_prio_repeat: announcements of every
	// address sent at once when the master receives an advertisement of
	// lower priority (see Scheduler.LowerPriority). 0 means none.
	LowerPrioRepeat int
	// LowerPrioDelay is garp_lower_prio_delay: when a second set of
	// LowerPrioRepeat announcements follows. 0 means no second set.
	LowerPrioDelay time.Duration
	// ARPInterval is vrrp_garp_interval: the least time between two
	// gratuitous ARPs on the interface. 0 sends them back to back.
	ARPInterval time.Duration
	// NAInterval is vrrp_gna_interval: the least time between two
	// unsolicited neighbour advertisements on the interface.
	NAInterval time.Duration
}

// DefaultSettings returns keepalived's defaults: 5 announcements at once,
// 5 more after 5 s, no refresh, the same after a lower-priority advert,
// no pause between packets.
func DefaultSettings() Settings {
	return Settings{
		Repeat:          DefaultRepeat,
		Delay:           DefaultDelay,
		RefreshRepeat:   DefaultRefreshRepeat,
		LowerPrioRepeat: DefaultRepeat,
		LowerPrioDelay:  DefaultDelay,
	}
}

// Validate reports negative durations and counts.
func (s Settings) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"garp_master_delay", s.Delay},
		{"garp_master_refresh", s.Refresh},
		{"garp_lower_prio_delay", s.LowerPrioDelay},
		{"garp_interval", s.ARPInterval},
		{"gna_interval", s.NAInterval},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", d.name, d.v))
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"garp_master_repeat", s.Repeat},
		{"garp_master_refresh_repeat", s.RefreshRepeat},
		{"garp_lower_prio_repeat", s.LowerPrioRepeat},
	} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d is negative", n.name, n.v))
		}
	}
	return errors.Join(errs...)
}

// ErrClosed is returned by Master after Close.
var ErrClosed = errors.New("announce: scheduler closed")

// Scheduler sends the announcements of every instance that is master. It
// is safe for concurrent use.
type Scheduler struct {
	a     runtime.Announcer
	clock runtime.Clock
	log   *slog.Logger

	mu        sync.Mutex
	closed    bool
	instances map[string]*instance
	lines     map[lineKey]*line
	bursts    uint64
}

// New returns a Scheduler sending through a, timed by clock, logging to
// log (nil discards).
func New(a runtime.Announcer, clock runtime.Clock, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{
		a:         a,
		clock:     clock,
		log:       log,
		instances: make(map[string]*instance),
		lines:     make(map[lineKey]*line),
	}
}

// instance is one master instance's schedule.
type instance struct {
	name   string
	iface  string
	addrs  []netip.Addr
	hw     net.HardwareAddr
	s      Settings
	timers map[runtime.Timer]struct{} // pending delayed sets and refresh
}

// lineKey names a pacing queue: one per interface and family, as
// keepalived keeps one next-send time for ARP and one for NA per
// interface.
type lineKey struct {
	iface string
	v6    bool
}

// line is a pacing queue.
type line struct {
	next  time.Time // earliest time the head may be sent
	queue []packet
	timer runtime.Timer // pending pump, or nil
}

// packet is one queued announcement.
type packet struct {
	inst     *instance
	addr     netip.Addr
	burst    uint64        // packets of one burst and line go out in one call
	interval time.Duration // pause after this packet
	reason   string
}

// Master starts the announcement schedule of instance, which has just
// become master with addrs on iface: Repeat announcements of every
// address at once, Repeat more after Delay, RefreshRepeat more every
// Refresh. hw is passed to the Announcer (nil: the interface's MAC; the
// virtual MAC with use_vmac). Calling Master again for the same instance
// restarts its schedule with the new arguments.
//
// Packets that need not wait for ARPInterval or NAInterval are sent
// before Master returns; errors from the Announcer are logged, not
// returned, and do not stop the schedule. Master returns an error only for
// invalid arguments or after Close.
func (s *Scheduler) Master(name, iface string, addrs []netip.Addr, hw net.HardwareAddr, settings Settings) error {
	if err := validate(name, iface, addrs, hw, settings); err != nil {
		return fmt.Errorf("announce: instance %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if old := s.instances[name]; old != nil {
		s.stopLocked(old)
	}
	inst := &instance{
		name:   name,
		iface:  iface,
		addrs:  slices.Clone(addrs),
		s:      settings,
		timers: make(map[runtime.Timer]struct{}),
	}
	if hw != nil {
		inst.hw = slices.Clone(hw)
	}
	s.instances[name] = inst
	if len(addrs) == 0 {
		return nil
	}
	s.burstLocked(inst, max(settings.Repeat, 1), "master")
	if settings.Delay > 0 {
		s.afterLocked(inst, settings.Delay, func() {
			s.burstLocked(inst, max(settings.Repeat, 1), "master delay")
		})
	}
	if settings.Refresh > 0 {
		var refresh func()
		refresh = func() {
			s.burstLocked(inst, max(settings.RefreshRepeat, 1), "refresh")
			s.afterLocked(inst, settings.Refresh, refresh)
		}
		s.afterLocked(inst, settings.Refresh, refresh)
	}
	return nil
}

// LowerPriority sends the announcements keepalived sends when a master
// receives an advertisement of lower priority: LowerPrioRepeat of every
// address at once and LowerPrioRepeat more after LowerPrioDelay. Like
// keepalived, every call adds its own pair of sets. It reports whether
// instance is master here.
func (s *Scheduler) LowerPriority(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[name]
	if inst == nil || s.closed {
		return false
	}
	st := inst.s
	if st.LowerPrioRepeat < 1 || len(inst.addrs) == 0 {
		return true
	}
	s.burstLocked(inst, st.LowerPrioRepeat, "lower priority advert")
	if st.LowerPrioDelay > 0 {
		s.afterLocked(inst, st.LowerPrioDelay, func() {
			s.burstLocked(inst, st.LowerPrioRepeat, "lower priority advert delay")
		})
	}
	return true
}

// Stop ends the schedule of instance, which has left the master state:
// its pending sets, refreshes and queued packets are dropped, and nothing
// more is sent for it once Stop returns. Stopping an instance that is not
// master does nothing.
func (s *Scheduler) Stop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inst := s.instances[name]; inst != nil {
		s.stopLocked(inst)
	}
}

// Close stops every schedule. Later calls to Master return ErrClosed.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inst := range s.instances {
		s.stopLocked(inst)
	}
	for k, l := range s.lines {
		if l.timer != nil {
			l.timer.Stop()
		}
		delete(s.lines, k)
	}
	s.closed = true
	return nil
}

// Masters returns the names of the instances with a running schedule,
// sorted.
func (s *Scheduler) Masters() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.instances))
	for n := range s.instances {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (s *Scheduler) stopLocked(inst *instance) {
	for t := range inst.timers {
		t.Stop()
	}
	clear(inst.timers)
	for _, l := range s.lines {
		l.queue = slices.DeleteFunc(l.queue, func(p packet) bool { return p.inst == inst })
	}
	delete(s.instances, inst.name)
}

// afterLocked runs f under the lock after d, unless inst has been stopped
// or replaced by then.
func (s *Scheduler) afterLocked(inst *instance, d time.Duration, f func()) {
	var t runtime.Timer
	t = s.clock.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, pending := inst.timers[t]; !pending || s.instances[inst.name] != inst {
			return
		}
		delete(inst.timers, t)
		f()
	})
	inst.timers[t] = struct{}{}
}

// burstLocked queues rep rounds of one announcement per address, in
// keepalived's order (every address of round 1, then of round 2, ...),
// and sends what need not wait.
func (s *Scheduler) burstLocked(inst *instance, rep int, reason string) {
	s.log.Debug("announce", "instance", inst.name, "interface", inst.iface, "addresses", len(inst.addrs), "repeat", rep, "reason", reason)
	for range rep {
		s.bursts++
		touched := make(map[lineKey]bool, 2)
		for _, a := range inst.addrs {
			k := lineKey{iface: inst.iface, v6: a.Is6()}
			interval := inst.s.ARPInterval
			if k.v6 {
				interval = inst.s.NAInterval
			}
			l := s.lines[k]
			if l == nil {
				l = &line{}
				s.lines[k] = l
			}
			l.queue = append(l.queue, packet{inst: inst, addr: a, burst: s.bursts, interval: interval, reason: reason})
			touched[k] = true
		}
		for _, v6 := range []bool{false, true} {
			if k := (lineKey{iface: inst.iface, v6: v6}); touched[k] {
				s.pumpLocked(k)
			}
		}
	}
}

// pumpLocked sends the packets of line k that are due and arms a timer
// for the rest.
func (s *Scheduler) pumpLocked(k lineKey) {
	l := s.lines[k]
	if l == nil {
		return
	}
	now := s.clock.Now()
	for len(l.queue) > 0 && !now.Before(l.next) {
		head := l.queue[0]
		n := 1
		if head.interval == 0 {
			for n < len(l.queue) && l.queue[n].burst == head.burst && l.queue[n].interval == 0 {
				n++
			}
		}
		addrs := make([]netip.Addr, n)
		for i, p := range l.queue[:n] {
			addrs[i] = p.addr
		}
		l.queue = l.queue[n:]
		if err := s.a.Announce(k.iface, addrs, head.inst.hw); err != nil {
			s.log.Warn("announce failed", "instance", head.inst.name, "interface", k.iface, "reason", head.reason, "err", err)
		}
		// The pause runs from when the packet left: sending may take a
		// while (the first one opens the line's sockets), and the next
		// must not follow it sooner than the interval.
		now = s.clock.Now()
		l.next = now.Add(head.interval)
	}
	switch {
	case len(l.queue) > 0 && l.timer == nil:
		l.timer = s.clock.AfterFunc(l.next.Sub(now), func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.lines[k] != l {
				return
			}
			l.timer = nil
			s.pumpLocked(k)
		})
	case len(l.queue) == 0 && !now.Before(l.next):
		// Nothing queued and no pause to keep: forget the line.
		if l.timer != nil {
			l.timer.Stop()
		}
		delete(s.lines, k)
	}
}

func validate(name, iface string, addrs []netip.Addr, hw net.HardwareAddr, settings Settings) error {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("empty instance name"))
	}
	if iface == "" {
		errs = append(errs, errors.New("empty interface name"))
	}
	for _, a := range addrs {
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Is4In6() {
			errs = append(errs, fmt.Errorf("address %v cannot be announced", a))
		}
	}
	if hw != nil && len(hw) != 6 {
		errs = append(errs, fmt.Errorf("hardware address %v: want 6 bytes", hw))
	}
	if err := settings.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

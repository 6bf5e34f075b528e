package vrrp

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"sync"
	"time"

	"github.com/hacfg/hacfg/runtime"
)

// State is a VRRP instance state: RFC 5798 §6.4's Initialize, Backup and
// Master, plus keepalived's Fault.
type State uint8

// States. The zero value is StateInit.
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
)

// String returns keepalived's name of the state.
func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Transition is the fact an Instance publishes when its state changes.
type Transition struct {
	Instance string
	VRID     uint8
	From, To State
	// Reason says why, for logs and status: "master down timer expired",
	// "higher priority advert from 192.0.2.2 (priority 200)", ...
	Reason string
	// Master is the current master's address when known: our Source when
	// To is StateMaster, the advert's sender when a better master made us
	// back off, otherwise the last master heard from (may be zero).
	Master netip.Addr
	// Priority is our effective priority at the time.
	Priority uint8
	At       time.Time
}

// Output receives what an Instance produces. Its methods are called
// synchronously while the Instance holds its lock: they must not call back
// into the same Instance (doing so from another goroutine is fine).
type Output interface {
	// SendAdvertisement sends adv to the group, or to each unicast peer.
	SendAdvertisement(adv *Advertisement)
	// StateChanged publishes a state change.
	StateChanged(t Transition)
}

// Stats are an instance's counters.
type Stats struct {
	AdvertsReceived      uint64 // accepted advertisements
	AdvertsSent          uint64
	PriorityZeroReceived uint64
	PriorityZeroSent     uint64
	BecameMaster         uint64
	// Drops counts dropped advertisements by reason.
	Drops map[DropReason]uint64
}

// Instance is one VRRP instance's state machine (RFC 5798 §6.4). Inputs are
// method calls and timer callbacks from the injected Clock; all are
// serialised by an internal lock, so an Instance is safe for concurrent
// use. It never touches the kernel: it sends advertisements and publishes
// Transitions through its Output.
type Instance struct {
	cfg   Config
	clock runtime.Clock
	out   Output
	log   *slog.Logger

	mu       sync.Mutex
	started  bool
	fault    bool
	state    State
	priority uint8 // effective priority (Config.Priority adjusted by SetPriority)
	// masterAdverInterval is Master_Adver_Interval (RFC 5798 §6.1): learned
	// from the master's advertisements in VRRPv3.
	masterAdverInterval time.Duration
	master              netip.Addr
	// downReason is what the master down timer means if it fires now.
	downReason string
	// preemptAt is when a lower-priority master may be preempted
	// (PreemptDelay); zero while none has been seen.
	preemptAt time.Time
	adver     instTimer // Adver_Timer
	down      instTimer // Master_Down_Timer
	stats     Stats
}

// instTimer wraps a runtime.Timer with a generation, so a callback that
// was already running when the timer was stopped or re-armed does nothing.
type instTimer struct {
	t   runtime.Timer
	gen uint64
}

// NewInstance returns an instance in StateInit; Start runs it. log may be
// nil.
func NewInstance(cfg Config, clock runtime.Clock, out Output, log *slog.Logger) (*Instance, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Addresses = append([]netip.Addr(nil), cfg.Addresses...)
	cfg.Peers = append([]netip.Addr(nil), cfg.Peers...)
	return &Instance{
		cfg:      cfg,
		clock:    clock,
		out:      out,
		log:      log.With("instance", cfg.Name, "vrid", cfg.VRID),
		priority: cfg.Priority,
		stats:    Stats{Drops: make(map[DropReason]uint64)},
	}, nil
}

// Config returns the instance's configuration.
func (in *Instance) Config() Config { return in.cfg }

// State returns the current state.
func (in *Instance) State() State {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.state
}

// Master returns the address of the current master as far as this
// instance knows (its own Source when master).
func (in *Instance) Master() netip.Addr {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.master
}

// Priority returns the effective priority.
func (in *Instance) Priority() uint8 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.priority
}

// Stats returns a copy of the counters.
func (in *Instance) Stats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.stats
	s.Drops = maps.Clone(in.stats.Drops)
	return s
}

// Start is RFC 5798 §6.4.1's Startup event. Starting a started instance
// does nothing.
func (in *Instance) Start() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.started {
		return
	}
	in.started = true
	if in.fault {
		in.setState(StateFault, "startup with a fault")
		return
	}
	in.startup("startup")
}

// startup leaves Initialize or Fault (RFC 5798 §6.4.1).
func (in *Instance) startup(reason string) {
	if in.priority == 255 {
		in.sendAdvert(in.priority)
		in.armAdver()
		in.becomeMaster(reason + ": address owner (priority 255)")
		return
	}
	in.masterAdverInterval = in.cfg.AdvertInterval
	in.downReason = "master down timer expired"
	in.armDown(in.masterDownInterval())
	in.setState(StateBackup, reason)
}

// Shutdown is RFC 5798's Shutdown event: a master sends an advertisement
// with priority 0 so that a backup takes over after Skew_Time (§6.4.3);
// every state goes back to Initialize.
func (in *Instance) Shutdown() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.started {
		return
	}
	in.started = false
	in.stopTimers()
	if in.state == StateMaster {
		in.sendAdvert(0)
	}
	in.setState(StateInit, "shutdown")
}

// SetFault marks the instance failed (a tracked interface, script or
// process is down: keepalived's FAULT state) or recovered. A master going
// to fault sends priority 0 first, as keepalived does, so a backup takes
// over at once. Recovery re-enters as at startup.
func (in *Instance) SetFault(fault bool, reason string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.fault == fault {
		return
	}
	in.fault = fault
	if !in.started {
		return
	}
	if fault {
		in.stopTimers()
		if in.state == StateMaster {
			in.sendAdvert(0)
		}
		in.setState(StateFault, "fault: "+reason)
		return
	}
	in.startup("fault cleared: " + reason)
}

// SetPriority sets the effective priority (the configured priority adjusted
// by track weights), clamped to 1..254 as keepalived does. The address
// owner's priority (255) never changes. The new priority is used from the
// next advertisement or election on.
func (in *Instance) SetPriority(p int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cfg.Priority == 255 {
		return
	}
	p = min(max(p, 1), 254)
	if uint8(p) == in.priority {
		return
	}
	in.log.Info("vrrp priority changed", "from", in.priority, "to", p)
	in.priority = uint8(p)
}

// HandlePacket runs the receive checks (RFC 5798 §7.1, RFC 3768 §7.1) on a
// packet from the network and, if it passes, ReceiveAdvert. It returns the
// reason for a drop, which is also counted.
func (in *Instance) HandlePacket(pkt runtime.VRRPPacket) error {
	if !in.cfg.acceptTTL(pkt.TTL) {
		err := fmt.Errorf("vrrp: advert from %v with ttl %d, want 255: %w", pkt.Src, pkt.TTL, ErrTTL)
		in.countDrop(err)
		return err
	}
	adv, err := Unmarshal(pkt.Payload, pkt.Src, pkt.Dst)
	if err != nil {
		in.countDrop(err)
		return err
	}
	return in.ReceiveAdvert(pkt.Src, adv)
}

func (in *Instance) countDrop(err error) {
	var r DropReason
	if !errors.As(err, &r) {
		r = "other"
	}
	in.mu.Lock()
	in.stats.Drops[r]++
	in.mu.Unlock()
	in.log.Debug("vrrp advert dropped", "reason", string(r), "err", err)
}

// ReceiveAdvert is the ADVERTISEMENT received event for a decoded
// advertisement from src. It applies Validate, counting drops, then RFC
// 5798 §6.4.2 (Backup) or §6.4.3 (Master).
func (in *Instance) ReceiveAdvert(src netip.Addr, adv *Advertisement) error {
	if err := Validate(&in.cfg, src, adv); err != nil {
		in.countDrop(err)
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stats.AdvertsReceived++
	if adv.Priority == 0 {
		in.stats.PriorityZeroReceived++
	}
	if !in.started {
		return nil
	}
	switch in.state {
	case StateBackup:
		in.backupReceive(src, adv)
	case StateMaster:
		in.masterReceive(src, adv)
	}
	return nil
}

// backupReceive is RFC 5798 §6.4.2's ADVERTISEMENT received.
func (in *Instance) backupReceive(src netip.Addr, adv *Advertisement) {
	if adv.Priority == 0 {
		// The master is stopping: take over after Skew_Time.
		in.downReason = fmt.Sprintf("master %v stopped (priority 0 advert)", src)
		in.armDown(in.skewTime())
		return
	}
	lower := adv.Priority < in.priority
	if lower && !in.cfg.NoPreempt {
		if in.cfg.PreemptDelay <= 0 {
			// Discard: the master down timer runs out and we preempt.
			in.downReason = fmt.Sprintf("preempting lower priority master %v (priority %d)", src, adv.Priority)
			return
		}
		// keepalived's preempt_delay: tolerate a lower-priority master
		// for PreemptDelay after first seeing it.
		now := in.clock.Now()
		if in.preemptAt.IsZero() {
			in.preemptAt = now.Add(in.cfg.PreemptDelay)
		}
		if !now.Before(in.preemptAt) {
			in.downReason = fmt.Sprintf("preempting lower priority master %v (priority %d) after preempt delay", src, adv.Priority)
			return
		}
	}
	if !lower {
		in.preemptAt = time.Time{}
	}
	in.master = src
	if in.cfg.Version == 3 && adv.AdverInt > 0 {
		in.masterAdverInterval = adv.AdverInt
	}
	in.downReason = "master down timer expired"
	in.armDown(in.masterDownInterval())
}

// masterReceive is RFC 5798 §6.4.3's ADVERTISEMENT received.
func (in *Instance) masterReceive(src netip.Addr, adv *Advertisement) {
	switch {
	case adv.Priority == 0:
		// Another router stops: reassert at once.
		in.sendAdvert(in.priority)
		in.armAdver()
	case adv.Priority > in.priority || (adv.Priority == in.priority && src.Compare(in.cfg.Source) > 0):
		reason := fmt.Sprintf("higher priority advert from %v (priority %d)", src, adv.Priority)
		if adv.Priority == in.priority {
			reason = fmt.Sprintf("equal priority advert from higher address %v", src)
		}
		in.stopTimer(&in.adver)
		if in.cfg.Version == 3 && adv.AdverInt > 0 {
			in.masterAdverInterval = adv.AdverInt
		} else {
			in.masterAdverInterval = in.cfg.AdvertInterval
		}
		in.master = src
		in.preemptAt = time.Time{}
		in.downReason = "master down timer expired"
		in.armDown(in.masterDownInterval())
		in.setState(StateBackup, reason)
	default:
		// RFC 5798 discards it. Like keepalived, also advertise at once
		// so that the other router learns of us without waiting for the
		// Adver_Timer ("forcing a new election").
		in.log.Debug("vrrp advert from lower priority router, reasserting", "from", src, "priority", adv.Priority)
		in.sendAdvert(in.priority)
		in.armAdver()
	}
}

// SyncMaster makes a backup instance master at once because another member
// of its sync group became master (keepalived's vrrp_sync_master). It does
// nothing in any other state.
func (in *Instance) SyncMaster(reason string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.started || in.state != StateBackup {
		return
	}
	in.stopTimer(&in.down)
	in.sendAdvert(in.priority)
	in.armAdver()
	in.becomeMaster(reason)
}

// SyncBackup makes a master instance backup because another member of its
// sync group left the master state (keepalived's vrrp_sync_backup). It
// waits for a master like any backup, Master_Down_Interval from now.
func (in *Instance) SyncBackup(reason string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.started || in.state != StateMaster {
		return
	}
	in.stopTimer(&in.adver)
	in.masterAdverInterval = in.cfg.AdvertInterval
	in.preemptAt = time.Time{}
	in.downReason = "master down timer expired"
	in.armDown(in.masterDownInterval())
	in.setState(StateBackup, reason)
}

func (in *Instance) becomeMaster(reason string) {
	in.master = in.cfg.Source
	in.preemptAt = time.Time{}
	in.stats.BecameMaster++
	in.setState(StateMaster, reason)
}

// onDown is the Master_Down_Timer firing in Backup (RFC 5798 §6.4.2).
func (in *Instance) onDown() {
	if !in.started || in.state != StateBackup {
		return
	}
	in.sendAdvert(in.priority)
	in.armAdver()
	in.becomeMaster(in.downReason)
}

// onAdver is the Adver_Timer firing in Master (RFC 5798 §6.4.3).
func (in *Instance) onAdver() {
	if !in.started || in.state != StateMaster {
		return
	}
	in.sendAdvert(in.priority)
	in.armAdver()
}

// skewTime is Skew_Time: ((256 - Priority) * Master_Adver_Interval) / 256
// in VRRPv3 (RFC 5798 §6.1), (256 - Priority) / 256 seconds in VRRPv2
// (RFC 3768 §6.1).
func (in *Instance) skewTime() time.Duration {
	if in.cfg.Version == 2 {
		return time.Duration(256-int(in.priority)) * time.Second / 256
	}
	return time.Duration(256-int(in.priority)) * in.masterAdverInterval / 256
}

// masterDownInterval is Master_Down_Interval: (3 * Master_Adver_Interval) +
// Skew_Time (RFC 5798 §6.1, RFC 3768 §6.1).
func (in *Instance) masterDownInterval() time.Duration {
	return 3*in.masterAdverInterval + in.skewTime()
}

// MasterDownInterval returns the current Master_Down_Interval.
func (in *Instance) MasterDownInterval() time.Duration {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.masterDownInterval()
}

func (in *Instance) sendAdvert(priority uint8) {
	adv := &Advertisement{
		Version:      in.cfg.Version,
		Type:         TypeAdvertisement,
		VRID:         in.cfg.VRID,
		Priority:     priority,
		CountIPAddrs: uint8(len(in.cfg.Addresses)),
		AdverInt:     in.cfg.AdvertInterval,
		Addresses:    in.cfg.Addresses,
	}
	if in.cfg.Version == 2 {
		adv.AuthType = in.cfg.AuthType
		if in.cfg.AuthType == AuthSimple {
			adv.AuthData = AuthPass(in.cfg.AuthPass)
		}
	}
	in.stats.AdvertsSent++
	if priority == 0 {
		in.stats.PriorityZeroSent++
	}
	in.out.SendAdvertisement(adv)
}

func (in *Instance) setState(to State, reason string) {
	from := in.state
	in.state = to
	t := Transition{
		Instance: in.cfg.Name,
		VRID:     in.cfg.VRID,
		From:     from,
		To:       to,
		Reason:   reason,
		Master:   in.master,
		Priority: in.priority,
		At:       in.clock.Now(),
	}
	in.log.Info("vrrp state change", "from", from.String(), "to", to.String(), "reason", reason)
	in.out.StateChanged(t)
}

func (in *Instance) armAdver() { in.arm(&in.adver, in.cfg.AdvertInterval, in.onAdver) }

func (in *Instance) armDown(d time.Duration) { in.arm(&in.down, d, in.onDown) }

func (in *Instance) arm(t *instTimer, d time.Duration, fire func()) {
	if t.t != nil {
		t.t.Stop()
	}
	t.gen++
	gen := t.gen
	t.t = in.clock.AfterFunc(d, func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if t.gen != gen {
			return // stopped or re-armed meanwhile
		}
		t.gen++
		fire()
	})
}

func (in *Instance) stopTimer(t *instTimer) {
	if t.t != nil {
		t.t.Stop()
	}
	t.gen++
}

func (in *Instance) stopTimers() {
	in.stopTimer(&in.adver)
	in.stopTimer(&in.down)
}

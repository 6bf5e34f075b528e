package fake

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hacfg/hacfg/runtime"
)

// Announcer is a runtime.Announcer that records every call with the time
// of its clock, for tests of announcement schedules. It rejects what the
// real one rejects: an empty interface name (runtime.ErrNoDevice), and an
// invalid, unspecified or multicast address or a hardware address that is
// not 6 bytes long (runtime.ErrInvalid); a rejected call is not recorded.
// AnnounceFailOn injects failures.
//
// Announcer is safe for concurrent use.
type Announcer struct {
	mu    sync.Mutex
	clock runtime.Clock
	start time.Time
	calls []AnnounceCall
	taken int
	fail  map[string]error
}

var _ runtime.Announcer = (*Announcer)(nil)

// AnnounceCall is one recorded Announce call.
type AnnounceCall struct {
	// At is the clock's time of the call.
	At    time.Time
	Iface string
	Addrs []netip.Addr
	HW    net.HardwareAddr
}

// String renders the call as "+5s eth0 192.0.2.10 2001:db8::10", with
// " hw 00:00:5e:00:01:07" appended when HW is set; the time is relative
// to start.
func (c AnnounceCall) String(start time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "+%v %s", c.At.Sub(start), c.Iface)
	for _, a := range c.Addrs {
		b.WriteString(" " + a.String())
	}
	if c.HW != nil {
		b.WriteString(" hw " + c.HW.String())
	}
	return b.String()
}

// NewAnnouncer returns an Announcer that stamps calls with clock's time
// and renders them relative to clock's time now. A nil clock stamps every
// call with the zero time.
func NewAnnouncer(clock runtime.Clock) *Announcer {
	a := &Announcer{clock: clock, fail: make(map[string]error)}
	if clock != nil {
		a.start = clock.Now()
	}
	return a
}

// Announce records the call, or returns the error injected for iface.
func (a *Announcer) Announce(iface string, addrs []netip.Addr, hw net.HardwareAddr) error {
	if iface == "" {
		return fmt.Errorf("announce: interface %q: %w", iface, runtime.ErrNoDevice)
	}
	if hw != nil && len(hw) != 6 {
		return fmt.Errorf("announce on %s: hardware address %v: want 6 bytes: %w", iface, hw, runtime.ErrInvalid)
	}
	for _, ad := range addrs {
		if !ad.IsValid() || ad.IsUnspecified() || ad.IsMulticast() {
			return fmt.Errorf("announce on %s: address %v: %w", iface, ad, runtime.ErrInvalid)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.fail[iface]; err != nil {
		return fmt.Errorf("announce on %s: %w", iface, err)
	}
	c := AnnounceCall{Iface: iface, Addrs: append([]netip.Addr(nil), addrs...)}
	if hw != nil {
		c.HW = append(net.HardwareAddr(nil), hw...)
	}
	if a.clock != nil {
		c.At = a.clock.Now()
	}
	a.calls = append(a.calls, c)
	return nil
}

// AnnounceFailOn makes every later Announce on iface fail with err (nil
// clears it).
func (a *Announcer) AnnounceFailOn(iface string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		delete(a.fail, iface)
		return
	}
	a.fail[iface] = err
}

// Calls returns a copy of every recorded call, oldest first.
func (a *Announcer) Calls() []AnnounceCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AnnounceCall(nil), a.calls...)
}

// Lines renders every recorded call with AnnounceCall.String, relative to
// the clock's time when the Announcer was made.
func (a *Announcer) Lines() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.linesLocked(a.calls)
}

// Take renders the calls recorded since the previous Take (or since the
// start) like Lines, for step-by-step tests.
func (a *Announcer) Take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.linesLocked(a.calls[a.taken:])
	a.taken = len(a.calls)
	return l
}

// linesLocked returns nil for no calls, so that tests can want nil.
func (a *Announcer) linesLocked(calls []AnnounceCall) []string {
	if len(calls) == 0 {
		return nil
	}
	l := make([]string, len(calls))
	for i, c := range calls {
		l[i] = c.String(a.start)
	}
	return l
}

// Packets returns the number of packets sent so far: one per address of
// every recorded call.
func (a *Announcer) Packets() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.calls {
		n += len(c.Addrs)
	}
	return n
}

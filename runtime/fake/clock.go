package fake

import (
	"sync"
	"time"

	"github.com/hacfg/hacfg/runtime"
)

// Clock is a manual runtime.Clock for tests. Time stands still until
// Advance moves it; Advance then fires the due timers one by one in deadline
// order (ties in the order they were scheduled), synchronously in the
// caller's goroutine, setting Now to each timer's deadline before calling
// it. A timer scheduled by a callback for a deadline inside the advanced
// window fires within the same Advance. This makes runs fully
// deterministic, unlike runtime.SystemClock whose callbacks run in their
// own goroutines.
//
// Clock is safe for concurrent use; callbacks run without its lock held, so
// they may call AfterFunc, Stop and Reset.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers map[*clockTimer]struct{}
}

var _ runtime.Clock = (*Clock)(nil)

// NewClock returns a Clock whose Now is start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, timers: make(map[*clockTimer]struct{})}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the clock has been advanced by d.
// A d <= 0 fires at the next Advance, even Advance(0).
func (c *Clock) AfterFunc(d time.Duration, f func()) runtime.Timer {
	t := &clockTimer{c: c, f: f}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduleLocked(t, d)
	return t
}

// Advance moves the clock forward by d, firing every timer that falls due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		next := c.nextLocked(target)
		if next == nil {
			c.now = target
			c.mu.Unlock()
			return
		}
		delete(c.timers, next)
		if next.when.After(c.now) {
			c.now = next.when
		}
		f := next.f
		c.mu.Unlock()
		f()
	}
}

// Pending returns the number of timers that have not fired or been stopped.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextDeadline returns the deadline of the timer that fires next, and false
// when no timer is pending.
func (c *Clock) NextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.nextLocked(time.Time{})
	if next == nil {
		return time.Time{}, false
	}
	return next.when, true
}

// nextLocked returns the earliest pending timer due at or before target, or
// the earliest of all when target is zero.
func (c *Clock) nextLocked(target time.Time) *clockTimer {
	var best *clockTimer
	for t := range c.timers {
		if !target.IsZero() && t.when.After(target) {
			continue
		}
		if best == nil || t.when.Before(best.when) || (t.when.Equal(best.when) && t.seq < best.seq) {
			best = t
		}
	}
	return best
}

func (c *Clock) scheduleLocked(t *clockTimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.seq++
	t.seq = c.seq
	t.when = c.now.Add(d)
	c.timers[t] = struct{}{}
}

type clockTimer struct {
	c    *Clock
	f    func()
	when time.Time
	seq  uint64
}

// Stop implements runtime.Timer.
func (t *clockTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, active := t.c.timers[t]
	delete(t.c.timers, t)
	return active
}

// Reset implements runtime.Timer.
func (t *clockTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, active := t.c.timers[t]
	t.c.scheduleLocked(t, d)
	return active
}

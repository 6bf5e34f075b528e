package fake

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(start)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+c.Now().Sub(start).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(1*time.Second, at("a1"))
	c.AfterFunc(1*time.Second, at("a2"))
	stopped := c.AfterFunc(2*time.Second, at("stopped"))
	reset := c.AfterFunc(2*time.Second, at("reset"))
	c.AfterFunc(500*time.Millisecond, func() {
		got = append(got, "chain@"+c.Now().Sub(start).String())
		c.AfterFunc(time.Second, at("chained"))
	})
	if !stopped.Stop() {
		t.Error("Stop of a pending timer = false, want true")
	}
	if stopped.Stop() {
		t.Error("second Stop = true, want false")
	}
	if !reset.Reset(5 * time.Second) {
		t.Error("Reset of a pending timer = false, want true")
	}
	c.Advance(4 * time.Second)
	want := []string{"chain@500ms", "a1@1s", "a2@1s", "chained@1.5s", "c@3s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	if got, want := c.Now().Sub(start), 4*time.Second; got != want {
		t.Errorf("Now after Advance = %v, want %v", got, want)
	}
	if got := c.Pending(); got != 1 {
		t.Errorf("Pending = %d, want 1", got)
	}
	if d, ok := c.NextDeadline(); !ok || d.Sub(start) != 5*time.Second {
		t.Errorf("NextDeadline = %v, %v; want 5s, true", d.Sub(start), ok)
	}
	got = nil
	c.Advance(time.Second)
	if diff := cmp.Diff([]string{"reset@5s"}, got); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	if reset.Reset(time.Second) {
		t.Error("Reset of a fired timer = true, want false")
	}
	got = nil
	c.AfterFunc(0, at("zero"))
	c.Advance(0)
	if diff := cmp.Diff([]string{"zero@5s"}, got); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
}

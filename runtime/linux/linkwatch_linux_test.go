package linux

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
)

// TestLinkWatcherApply checks the deduplication and rename handling that
// both the subscription and a resynchronisation go through.
func TestLinkWatcherApply(t *testing.T) {
	w := &LinkWatcher{events: make(chan runtime.LinkEvent, 16), done: make(chan struct{})}
	state := map[int]runtime.LinkEvent{2: {Name: "eth0", Index: 2, Up: true}}
	in := []runtime.LinkEvent{
		{Name: "eth0", Index: 2, Up: true},      // unchanged: nothing
		{Name: "eth0", Index: 2},                // down
		{Name: "eth1", Index: 3, Up: true},      // new
		{Name: "wan0", Index: 3, Up: true},      // renamed
		{Name: "gone", Index: 9, Deleted: true}, // never seen: nothing
		{Name: "", Index: 2, Deleted: true},     // deleted, name from state
		{Name: "wan0", Index: 3, Up: true},      // unchanged
	}
	for _, ev := range in {
		if !w.apply(state, ev) {
			t.Fatal("apply reported a closed watcher")
		}
	}
	close(w.events)
	var got []runtime.LinkEvent
	for ev := range w.events {
		got = append(got, ev)
	}
	want := []runtime.LinkEvent{
		{Name: "eth0", Index: 2},
		{Name: "eth1", Index: 3, Up: true},
		{Name: "eth1", Index: 3, Deleted: true},
		{Name: "wan0", Index: 3, Up: true},
		{Name: "eth0", Index: 2, Deleted: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]runtime.LinkEvent{3: {Name: "wan0", Index: 3, Up: true}}, state); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

func TestFlagsUp(t *testing.T) {
	tests := []struct {
		name  string
		flags uint32
		want  bool
	}{
		{name: "down", flags: 0x1002},
		{name: "admin up, no carrier", flags: 0x1003},
		{name: "up and running", flags: 0x11043, want: true},
		{name: "running but admin down", flags: 0x40},
	}
	for _, tt := range tests {
		if got := flagsUp(tt.flags); got != tt.want {
			t.Errorf("%s: flagsUp(%#x) = %v, want %v", tt.name, tt.flags, got, tt.want)
		}
	}
}

package agent

import (
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestLeanMemory(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	tests := []struct {
		name         string
		before, lean int
	}{
		{name: "default target lowered", before: 100, lean: leanGCPercent},
		{name: "GOGC=off: collect while loading", before: -1, lean: leanGCPercent},
		{name: "a leaner GOGC is kept", before: 10, lean: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(tt.before)
			done := leanMemory()
			if got := gcPercent(); got != tt.lean {
				t.Errorf("while lean: GC percent %d, want %d", got, tt.lean)
			}
			done()
			if got := gcPercent(); got != tt.before {
				t.Errorf("after: GC percent %d, want %d", got, tt.before)
			}
		})
	}
}

// TestLeanMemoryInterleaved: agents' lean phases overlap in one process;
// the target is restored when the last ends, whatever the order.
func TestLeanMemoryInterleaved(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	a := leanMemory()
	b := leanMemory()
	a()
	if got := gcPercent(); got != leanGCPercent {
		t.Errorf("one phase still on: GC percent %d, want %d", got, leanGCPercent)
	}
	c := leanMemory()
	b()
	c()
	if got := gcPercent(); got != 100 {
		t.Errorf("all phases over: GC percent %d, want 100", got)
	}
}

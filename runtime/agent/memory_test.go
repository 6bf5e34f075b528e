package agent

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

// TestAgentReleasesProgramPages: the agent drops its program pages as it
// starts, once the config is decoded, and after the first reconcile, and
// again after a reload's reconcile; never otherwise.
func TestAgentReleasesProgramPages(t *testing.T) {
	l := newLab(t, clusterConfig)
	var calls atomic.Int32
	n := l.launch("lb1", "192.0.2.1", nodeOpts{deps: func(d *Deps) {
		d.ReleaseProgram = func() (int64, error) {
			calls.Add(1)
			return 4096, nil
		}
	}})
	l.eventually("the first reconcile", func() bool { return n.agent.Status().Reconcile.Count > 0 })
	l.eventually("three releases", func() bool { return calls.Load() == 3 })
	// Time and VRRP transitions do not release.
	l.advance(5 * time.Second)
	l.eventually("VI_1 master", func() bool { return l.state("lb1", "VI_1") == "MASTER" })
	if got := calls.Load(); got != 3 {
		t.Errorf("%d releases after transitions, want still 3", got)
	}
	// A config change: released after its reconcile.
	must(t, os.WriteFile(filepath.Join(l.dir, "cluster.hcl"), []byte(strings.Replace(clusterConfig, `real_server "203.0.113.5:80"`, `real_server "203.0.113.9:80"`, 1)), 0o644))
	n.agent.Reload()
	l.eventually("a release after the reload", func() bool { return calls.Load() == 4 })
}

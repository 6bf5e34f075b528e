package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/schema"
)

// Manager tests on the real clock against real servers.

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestManagerHTTPAndScripts(t *testing.T) {
	b := newHTTPBackend(t, "127.0.0.1:0", nil)
	dir := t.TempDir()
	log := filepath.Join(dir, "notify.log")
	notify := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(notify, []byte("#!/bin/sh\necho \"$@\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ms := dur(50 * time.Millisecond)
	rs := &schema.RealServer{Address: b.addr,
		NotifyUp:   notify + " UP 'web " + b.addr.String() + "'",
		NotifyDown: notify + " DOWN 'web " + b.addr.String() + "'",
		Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{URLs: []*schema.URL{{Path: "/health"}},
			CheckCommon: schema.CheckCommon{Retry: ptr(1), DelayBeforeRetry: ms, Warmup: ms}}}}}
	cfg := oneVS(&schema.VirtualServer{DelayLoop: ms, QuorumDown: notify + " QUORUM-DOWN", QuorumUp: notify + " QUORUM-UP",
		RealServers: []*schema.RealServer{rs}})
	events := make(chan string, 100)
	m := New(resolve(t, cfg), Options{Publish: func(e Event) { events <- eventString(e) }})
	t.Cleanup(m.Stop)

	next := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("event %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event, want %q", want)
		}
	}
	id := "web/" + b.addr.String()
	b.set(503, "")
	next("health " + id + " up=false weight=-1")
	next("quorum web false")
	if r := m.Snapshot()[0].RealServers[0].Health.Reason; r != "GET /health: status 503" {
		t.Errorf("Reason = %q", r)
	}
	b.set(200, "")
	next("health " + id + " up=true weight=-1")
	next("quorum web true")
	m.Stop()
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	want := []string{"DOWN web " + b.addr.String(), "QUORUM-DOWN", "QUORUM-UP", "UP web " + b.addr.String()}
	slices.Sort(lines)
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("notify scripts ran with (-want +got):\n%s", diff)
	}
}

// countingProber counts the completed probes per real server.
type countingProber struct {
	inner Prober
	mu    sync.Mutex
	done  map[string]int
}

func (p *countingProber) Probe(ctx context.Context, s *Spec) Result {
	r := p.inner.Probe(ctx, s)
	p.mu.Lock()
	p.done[s.RealServer.Addr.String()]++
	p.mu.Unlock()
	return r
}

func (p *countingProber) count(k string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done[k]
}

func TestHangingCheckDoesNotDelayOthers(t *testing.T) {
	ln := closingBackend(t, "127.0.0.1:0")
	healthy := addrOf(ln.Addr())
	hang := hangingBackend(t, "127.0.0.2:0")

	loop := dur(50 * time.Millisecond)
	rss := []*schema.RealServer{{Address: hang, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{URLs: []*schema.URL{{Path: "/"}},
		CheckCommon: schema.CheckCommon{ConnectTimeout: dur(time.Second), Warmup: dur(time.Millisecond)}}}}}}
	for i := range 20 {
		rss = append(rss, &schema.RealServer{Address: ap(fmt.Sprintf("127.0.1.%d:80", i+1)), Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{
			CheckCommon: schema.CheckCommon{ConnectIP: healthy.Addr(), ConnectPort: int(healthy.Port()), Warmup: loop}}}}})
	}
	p := &countingProber{inner: &NetProber{}, done: map[string]int{}}
	m := New(resolve(t, oneVS(&schema.VirtualServer{DelayLoop: loop, RealServers: rss})), Options{Prober: p, Concurrency: 4})
	t.Cleanup(m.Stop)

	time.Sleep(700 * time.Millisecond)
	if n := p.count(hang.String()); n != 0 {
		t.Fatalf("the hanging check completed %d times within 700ms, its timeout is 1s", n)
	}
	for _, rs := range rss[1:] {
		// 50ms loop: about 13 checks in 700ms; ask for a third of that.
		if n := p.count(rs.Address.String()); n < 4 {
			t.Errorf("%s: %d checks in 700ms while another check hangs, want >= 4", rs.Address, n)
		}
	}
	waitFor(t, 3*time.Second, "the hanging check to time out", func() bool { return p.count(hang.String()) > 0 })
	c := m.Snapshot()[0].RealServers[0].Checks[0]
	if !strings.Contains(c.LastResult, "timeout") || c.Retrying != 1 || !c.Up {
		t.Errorf("hanging check = %+v, want a timeout being retried (still up)", c)
	}
}

// gaugeProber sleeps a little and records how many probes ran at once.
type gaugeProber struct {
	mu        sync.Mutex
	now, peak int
	total     int
}

func (p *gaugeProber) Probe(ctx context.Context, s *Spec) Result {
	p.mu.Lock()
	p.now++
	p.peak = max(p.peak, p.now)
	p.mu.Unlock()
	time.Sleep(10 * time.Millisecond)
	p.mu.Lock()
	p.now--
	p.total++
	p.mu.Unlock()
	return pass("ok")
}

func TestConcurrencyBound(t *testing.T) {
	var rss []*schema.RealServer
	for i := range 30 {
		rss = append(rss, tcpRS(fmt.Sprintf("203.0.113.%d:80", i+1), 1, time.Second))
		rss[i].NotifyUp, rss[i].NotifyDown = "", ""
	}
	p := &gaugeProber{}
	m := New(resolve(t, oneVS(&schema.VirtualServer{DelayLoop: dur(20 * time.Millisecond), RealServers: rss})),
		Options{Prober: p, Concurrency: 3})
	time.Sleep(300 * time.Millisecond)
	m.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peak > 3 || p.peak < 2 {
		t.Errorf("peak concurrency %d, want 2..3", p.peak)
	}
	if p.total < 30 {
		t.Errorf("%d probes in 300ms, want >= 30", p.total)
	}
}

// flappingProber alternates each real server between up and down.
type flappingProber struct {
	mu sync.Mutex
	n  map[string]int
}

func (p *flappingProber) Probe(_ context.Context, s *Spec) Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n[key(s)]++
	if p.n[key(s)]%2 == 0 {
		return fail("down")
	}
	return pass("up")
}

func TestPublishMayCallBack(t *testing.T) {
	var rss []*schema.RealServer
	for i := range 50 {
		rs := tcpRS(fmt.Sprintf("203.0.113.%d:80", i+1), 0, time.Second)
		rs.NotifyUp, rs.NotifyDown = "", ""
		rss = append(rss, rs)
	}
	var (
		mu     sync.Mutex
		m      *Manager
		events int
	)
	publish := func(e Event) {
		mu.Lock()
		mm := m
		events++
		mu.Unlock()
		if mm != nil {
			mm.Facts() // calling back must not deadlock
			mm.Snapshot()
		}
	}
	mm := New(resolve(t, oneVS(&schema.VirtualServer{DelayLoop: dur(5 * time.Millisecond), RealServers: rss})),
		Options{Prober: &flappingProber{n: map[string]int{}}, Publish: publish})
	mu.Lock()
	m = mm
	mu.Unlock()
	waitFor(t, 5*time.Second, "500 events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return events >= 500
	})
	stopped := make(chan struct{})
	go func() { mm.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
}

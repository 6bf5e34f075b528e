package check

import (
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/hacfg/hacfg/schema"
)

// memoryConfig is a resolved configuration of n real servers with one
// TCP_CHECK each, in virtual servers of 1,000, whose checks wait an hour
// before their first attempt.
func memoryConfig(tb testing.TB, n int) *schema.Config {
	tb.Helper()
	cfg := &schema.Config{}
	var vs *schema.VirtualServer
	for i := range n {
		if i%1000 == 0 {
			vs = &schema.VirtualServer{Name: fmt.Sprintf("vs%d", i/1000), Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i/1000 + 1)}), 80),
				DelayLoop: dur(10 * time.Second)}
			cfg.VirtualServers = append(cfg.VirtualServers, vs)
		}
		vs.RealServers = append(vs.RealServers, &schema.RealServer{
			Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)}), 8080),
			Checks:  &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: schema.CheckCommon{ConnectTimeout: dur(time.Second), Warmup: dur(time.Hour)}}}},
		})
	}
	r, err := schema.Resolve(cfg, "")
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// managerHeap is the heap a Manager running cfg keeps, as the agent runs
// it (the system clock and its own NetProber: on Linux the checks' timers
// are on the event loop), before its first check (fresh) and once every
// check has passed (checked).
func managerHeap(cfg *schema.Config) (fresh, checked uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := New(cfg, Options{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	fresh = after.HeapAlloc - before.HeapAlloc
	passAll(m)
	runtime.GC()
	runtime.ReadMemStats(&after)
	checked = after.HeapAlloc - before.HeapAlloc
	m.Stop()
	return fresh, checked
}

// passAll records for every checker of m an attempt that passed, as one
// on the event loop reports it, without running it or scheduling the next.
func passAll(m *Manager) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	for _, vs := range m.vss {
		for _, rs := range vs.rss {
			for _, c := range rs.checkers {
				m.recordLocked(c, Result{OK: true, Weight: -1}, now, true)
			}
		}
	}
}

// BenchmarkManagerMemory reports the heap the Manager keeps per real
// server (bytes/rs) with one TCP_CHECK each: at tens of thousands of real
// servers, it is most of the agent's.
func BenchmarkManagerMemory(b *testing.B) {
	const n = 10000
	cfg := memoryConfig(b, n)
	var fresh, checked uint64
	for b.Loop() {
		fresh, checked = managerHeap(cfg)
	}
	b.ReportMetric(float64(fresh)/n, "bytes/rs")
	b.ReportMetric(float64(checked)/n, "bytes/checked-rs")
}

// maxBytesPerRealServer bounds the heap the Manager keeps per real server
// with one TCP_CHECK: 227 bytes measured on linux/amd64 with Go 1.26
// (checker 128, rsState 64, a deadline entry of the event loop 24 and the
// slack of its slice, the virtual server's pointer 8), plus a margin.
const maxBytesPerRealServer = 250

// TestManagerMemory: the heap the Manager keeps per real server does not
// grow back (see BenchmarkManagerMemory).
func TestManagerMemory(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the bound is for 64-bit systems")
	}
	const n = 10000
	cfg := memoryConfig(t, n)
	// The least of three: what the package's other tests left running
	// (an event loop winding down) may allocate or free meanwhile.
	per := math.Inf(1)
	for range 3 {
		_, checked := managerHeap(cfg)
		if int64(checked) < 0 {
			continue // the heap shrank meanwhile: no measure
		}
		per = min(per, float64(checked)/n)
	}
	if math.IsInf(per, 1) {
		t.Fatal("no measure: the heap shrank during each of three")
	}
	t.Logf("%.1f bytes a real server", per)
	if per > maxBytesPerRealServer {
		t.Errorf("%.1f bytes a real server, want at most %d (checker %d bytes, rsState %d)",
			per, maxBytesPerRealServer, unsafe.Sizeof(checker{}), unsafe.Sizeof(rsState{}))
	}
}

//go:build linux

package bench

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime/agent"
)

// foVIP is the address the failover benchmark moves.
const foVIP = "192.0.2.10/24"

var foVIPAddr = netip.MustParseAddr("192.0.2.10")

// foMode is a VRRP flavour the takeover is measured in.
type foMode struct {
	name     string
	version  int
	interval time.Duration
}

var foModes = []foMode{
	{name: "v2-1s", version: 2, interval: time.Second},
	{name: "v3-100ms", version: 3, interval: 100 * time.Millisecond},
	{name: "v3-10ms", version: 3, interval: 10 * time.Millisecond},
}

// foSample is one takeover, seen by the client as each backup's first
// gratuitous ARP for the VIP.
type foSample struct {
	hacfg, keepalived time.Duration // from the cut (or SIGTERM)
	// From the master's last advert the client saw before the cut.
	hacfgAdv, keepalivedAdv time.Duration
	// Each backup's first advert as master, from the cut (or SIGTERM):
	// the state machine's part of the takeover, before addresses and
	// gratuitous ARPs.
	hacfgVRRP, keepalivedVRRP time.Duration
}

// foResult is the takeovers of one mode and event.
type foResult struct {
	mode    string
	event   string // "cut" or "stop"
	master  string // hacfg or keepalived
	bound   time.Duration
	samples []foSample
}

// foLoad is CPU and memory of a master+backup pair under load.
type foLoad struct {
	who                  string
	window               time.Duration
	masterCPU, backupCPU time.Duration
	masterHWM, backupHWM int64
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkFailover measures hacfg side by side with keepalived 2.x in a
// namespace lab (a bridge, three load balancers and a client):
//
//   - takeover: lb1 is the master at priority 150 (keepalived, or hacfg
//     with HACFG_BENCH_FAILOVER_MASTER=hacfg); lb2 runs hacfg and lb3
//     keepalived, both backups at priority 100, so one cut or one stop
//     starts both takeovers at the same instant. The client captures with
//     a raw packet socket and takes each backup's first gratuitous ARP for
//     the VIP. Measured from the moment lb1's bridge port goes down (also
//     from lb1's last advert the client saw), and from lb1's SIGTERM, for
//     VRRPv2 1 s and VRRPv3 100 ms and 10 ms adverts;
//     HACFG_BENCH_FAILOVER_RUNS times each (default 10);
//   - load: CPU time (utime+stime) over HACFG_BENCH_LOAD_WINDOW (default
//     10 s) and peak memory (VmHWM) of a master+backup pair running
//     HACFG_BENCH_LOAD_INSTANCES (default 100) instances at 10 ms adverts,
//     hacfg pair versus keepalived pair.
//
// It prints a table and reports the main figures as metrics. With the
// defaults it takes about four minutes. The agents' state directories are
// under TMPDIR: on a disk, every takeover waits for the inventory's fsync;
// TMPDIR=/dev/shm shows the takeover without it.
func BenchmarkFailover(b *testing.B) {
	RequireLab(b, "keepalived", "go")
	bin := BuildHacfg(b)
	runs := envInt("HACFG_BENCH_FAILOVER_RUNS", 10)
	master := os.Getenv("HACFG_BENCH_FAILOVER_MASTER")
	if master != "hacfg" {
		master = "keepalived"
	}
	var results []*foResult
	var loads []foLoad
	for _, m := range foModes {
		b.Run("takeover-"+m.name, func(b *testing.B) {
			cut, stop := foTakeover(b, bin, m, master, runs)
			results = append(results, cut, stop)
			for _, r := range []*foResult{cut, stop} {
				h, k := r.stats()
				b.ReportMetric(ms(h.median), r.event+"-hacfg-median-ms")
				b.ReportMetric(ms(h.worst), r.event+"-hacfg-worst-ms")
				b.ReportMetric(ms(k.median), r.event+"-keepalived-median-ms")
				b.ReportMetric(h.median.Seconds()/k.median.Seconds(), r.event+"-ratio")
			}
		})
	}
	n := envInt("HACFG_BENCH_LOAD_INSTANCES", 100)
	window := envDuration("HACFG_BENCH_LOAD_WINDOW", 10*time.Second)
	b.Run(fmt.Sprintf("load-%dx10ms", n), func(b *testing.B) {
		h := foMeasureLoad(b, bin, "hacfg", n, window)
		k := foMeasureLoad(b, bin, "keepalived", n, window)
		loads = append(loads, h, k)
		b.ReportMetric(h.cpuPerSec(), "hacfg-cpu-s/s")
		b.ReportMetric(k.cpuPerSec(), "keepalived-cpu-s/s")
		b.ReportMetric(float64(h.masterHWM+h.backupHWM)/1024, "hacfg-MiB")
		b.ReportMetric(float64(k.masterHWM+k.backupHWM)/1024, "keepalived-MiB")
	})
	foPrint(os.Stdout, master, runs, results, loads)
}

// foTakeover measures cut and stop takeovers in one mode.
func foTakeover(b *testing.B, bin string, m foMode, master string, runs int) (cut, stop *foResult) {
	lab := NewLab(b, 3)
	l1, l2, l3 := lab.LBs[0], lab.LBs[1], lab.LBs[2]
	// The two backups hear the master, not each other: whichever takes
	// over first would otherwise hold the other back with its adverts.
	lab.Isolate(l2, l3)
	capture := lab.Client.Capture()
	inst := func(prio int, state string) VRRP {
		return VRRP{Name: "VI_1", VRID: 51, Version: m.version, Interval: m.interval, Priority: prio,
			State: state, VIPs: []string{foVIP}}
	}
	backup := inst(100, "")
	cut = &foResult{mode: m.name, event: "cut", master: master, bound: backup.MasterDownInterval()}
	stop = &foResult{mode: m.name, event: "stop", master: master, bound: backup.Skew()}

	// The master, restartable.
	var restartMaster func()
	var stopMaster func() time.Time
	switch master {
	case "hacfg":
		a := lab.StartHacfg(l1, bin, "master", lab.WriteFile("master.hcl", HacfgConfig(inst(150, "MASTER"))), "")
		restartMaster = a.Restart
		stopMaster = func() time.Time {
			at := a.Signal(syscall.SIGTERM)
			if err := a.Wait(10 * time.Second); err != nil {
				b.Fatalf("hacfg master exit: %v", err)
			}
			return at
		}
	default:
		k := lab.StartKeepalived(l1, "master", KeepalivedConfig("master", inst(150, "MASTER")))
		restartMaster = k.Restart
		stopMaster = func() time.Time {
			at := k.Signal(syscall.SIGTERM)
			if err := k.Wait(10 * time.Second); err != nil {
				b.Fatalf("keepalived master exit: %v", err)
			}
			return at
		}
	}
	hb := lab.StartHacfg(l2, bin, "hacfg", lab.WriteFile("hacfg.hcl", HacfgConfig(backup)), "")
	lab.StartKeepalived(l3, "keepalived", KeepalivedConfig("keepalived", backup))

	// steady waits until lb1 is master and both backups follow it.
	steady := func() {
		b.Helper()
		err := Poll(3*backup.MasterDownInterval()+10*time.Second, 10*time.Millisecond, func() bool {
			st, err := hb.client.Status()
			if err != nil || len(st.Instances) != 1 {
				return false
			}
			in := st.Instances[0]
			return in.State == "BACKUP" && in.Master == l1.IP4.String() &&
				l1.HasAddr(foVIP) && !l2.HasAddr(foVIP) && !l3.HasAddr(foVIP)
		})
		if err != nil {
			b.Fatalf("%s: the lab did not settle with lb1 master: %v; lb1 %v lb2 %v lb3 %v", m.name, err,
				l1.HasAddr(foVIP), l2.HasAddr(foVIP), l3.HasAddr(foVIP))
		}
		// A few adverts more, so both backups run on lb1's adverts.
		time.Sleep(3 * m.interval)
	}
	timeout := 2*backup.MasterDownInterval() + 2*time.Second
	first := func(since time.Time) (h, k time.Time) {
		b.Helper()
		fh, err1 := capture.WaitFirst(Announces(foVIPAddr, l2.MAC, since), timeout)
		fk, err2 := capture.WaitFirst(Announces(foVIPAddr, l3.MAC, since), timeout)
		if err1 != nil || err2 != nil {
			b.Fatalf("%s: no gratuitous ARP after %v: hacfg %v, keepalived %v", m.name, since, err1, err2)
		}
		return fh.At, fk.At
	}
	firstAdvert := func(h *Host, since time.Time) time.Duration {
		fs := capture.Frames(func(f Frame) bool { return f.Kind == FrameVRRP && f.Addr == h.IP4 && !f.At.Before(since) })
		if len(fs) == 0 {
			return 0
		}
		return fs[0].At.Sub(since)
	}
	for i := 0; i < runs; i++ {
		capture.Reset()
		steady()
		// A failure strikes at any point between two adverts.
		time.Sleep(rand.N(m.interval))
		at := lab.Cut(l1)
		h, k := first(at)
		// The master's last advert: one may still have passed just after
		// at, before the port went down.
		var last time.Time
		for _, f := range capture.Frames(func(f Frame) bool { return f.Kind == FrameVRRP && f.Addr == l1.IP4 }) {
			last = f.At
		}
		s := foSample{hacfg: h.Sub(at), keepalived: k.Sub(at), hacfgVRRP: firstAdvert(l2, at), keepalivedVRRP: firstAdvert(l3, at)}
		if !last.IsZero() {
			s.hacfgAdv, s.keepalivedAdv = h.Sub(last), k.Sub(last)
		}
		cut.samples = append(cut.samples, s)
		lab.Restore(l1)
	}
	for i := 0; i < runs; i++ {
		steady()
		capture.Reset()
		at := stopMaster()
		h, k := first(at)
		stop.samples = append(stop.samples, foSample{hacfg: h.Sub(at), keepalived: k.Sub(at), hacfgVRRP: firstAdvert(l2, at), keepalivedVRRP: firstAdvert(l3, at)})
		restartMaster()
	}
	return cut, stop
}

type foStats struct{ median, worst time.Duration }

func statsOf(ds []time.Duration) foStats {
	if len(ds) == 0 {
		return foStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return foStats{median: med, worst: s[len(s)-1]}
}

func (r *foResult) pick(f func(foSample) time.Duration) foStats {
	var ds []time.Duration
	for _, s := range r.samples {
		if d := f(s); d != 0 {
			ds = append(ds, d)
		}
	}
	return statsOf(ds)
}

func (r *foResult) stats() (hacfg, keepalived foStats) {
	return r.pick(func(s foSample) time.Duration { return s.hacfg }), r.pick(func(s foSample) time.Duration { return s.keepalived })
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// foMeasureLoad runs a master+backup pair of who (hacfg or keepalived)
// with n instances at 10 ms adverts and measures their CPU time over
// window and their peak memory.
func foMeasureLoad(b *testing.B, bin, who string, n int, window time.Duration) foLoad {
	if n > 250 {
		b.Fatalf("at most 250 instances (one VRID and one address each), not %d", n)
	}
	lab := NewLab(b, 2)
	insts := func(prio int, state string) []VRRP {
		var out []VRRP
		for i := 1; i <= n; i++ {
			out = append(out, VRRP{Name: fmt.Sprintf("VI_%d", i), VRID: i, Version: 3, Interval: 10 * time.Millisecond,
				Priority: prio, State: state, VIPs: []string{fmt.Sprintf("198.51.100.%d/32", i)}})
		}
		return out
	}
	var pids func() (master, backup []int)
	var settled func() bool
	switch who {
	case "hacfg":
		m := lab.StartHacfg(lab.LBs[0], bin, "master", lab.WriteFile("master.hcl", HacfgConfig(insts(150, "MASTER")...)), "")
		bk := lab.StartHacfg(lab.LBs[1], bin, "backup", lab.WriteFile("backup.hcl", HacfgConfig(insts(100, "")...)), "")
		pids = func() ([]int, []int) { return []int{m.Pid()}, []int{bk.Pid()} }
		settled = func() bool {
			ms, err1 := m.client.Status()
			bs, err2 := bk.client.Status()
			if err1 != nil || err2 != nil {
				return false
			}
			return countState(ms.Instances, "MASTER") == n && countState(bs.Instances, "BACKUP") == n
		}
	default:
		m := lab.StartKeepalived(lab.LBs[0], "master", KeepalivedConfig("master", insts(150, "MASTER")...))
		bk := lab.StartKeepalived(lab.LBs[1], "backup", KeepalivedConfig("backup", insts(100, "")...))
		pids = func() ([]int, []int) { return m.Pids(), bk.Pids() }
		settled = func() bool {
			return m.Count("Entering MASTER STATE") >= n && bk.Count("Entering BACKUP STATE") >= n && len(m.Pids()) == 2 && len(bk.Pids()) == 2
		}
	}
	if err := Poll(30*time.Second, 50*time.Millisecond, settled); err != nil {
		b.Fatalf("%s: %d instances did not settle: %v", who, n, err)
	}
	time.Sleep(time.Second)
	mp, bp := pids()
	m0, err1 := ProcUsage(mp...)
	b0, err2 := ProcUsage(bp...)
	if err := errors.Join(err1, err2); err != nil {
		b.Fatal(err)
	}
	time.Sleep(window)
	m1, err1 := ProcUsage(mp...)
	b1, err2 := ProcUsage(bp...)
	if err := errors.Join(err1, err2); err != nil {
		b.Fatal(err)
	}
	if !settled() {
		b.Fatalf("%s: instances changed state during the measurement", who)
	}
	return foLoad{who: who, window: window, masterCPU: m1.CPU - m0.CPU, backupCPU: b1.CPU - b0.CPU, masterHWM: m1.HWM, backupHWM: b1.HWM}
}

func countState(ins []agent.InstanceStatus, state string) int {
	n := 0
	for _, in := range ins {
		if in.State == state {
			n++
		}
	}
	return n
}

func (l foLoad) cpuPerSec() float64 {
	return (l.masterCPU + l.backupCPU).Seconds() / l.window.Seconds()
}

func foPrint(w io.Writer, master string, runs int, results []*foResult, loads []foLoad) {
	d := func(t time.Duration) string {
		if t == 0 {
			return "-"
		}
		if t < time.Second {
			return fmt.Sprintf("%.1f ms", ms(t))
		}
		return fmt.Sprintf("%.3f s", t.Seconds())
	}
	fmt.Fprintf(w, "\nFailover benchmark: master %s at priority 150, backups hacfg and keepalived at 100 side by side, %d runs each, %d CPUs\n",
		master, runs, goruntime.NumCPU())
	fmt.Fprintf(w, "takeover = the client's first gratuitous ARP from the backup\n")
	fmt.Fprintf(w, "%-9s %-22s %12s %12s %12s %12s %8s %8s  %s\n", "mode", "from", "hacfg med", "hacfg worst", "ka med", "ka worst", "ratio", "worst r.", "bound")
	for _, r := range results {
		from := map[string]string{"cut": "master cut off", "stop": "master SIGTERM"}[r.event]
		bound := map[string]string{"cut": "MDI ", "stop": "skew "}[r.event] + d(r.bound)
		h, k := r.stats()
		fmt.Fprintf(w, "%-9s %-22s %12s %12s %12s %12s %7.2f× %7.2f×  %s\n", r.mode, from, d(h.median), d(h.worst), d(k.median), d(k.worst),
			h.median.Seconds()/k.median.Seconds(), h.worst.Seconds()/k.worst.Seconds(), bound)
		sub := func(label string, hf, kf func(foSample) time.Duration, note string) {
			ha, ka := r.pick(hf), r.pick(kf)
			if ha.median != 0 && ka.median != 0 {
				fmt.Fprintf(w, "%-9s %-22s %12s %12s %12s %12s %7.2f× %7.2f×  %s\n", "", label, d(ha.median), d(ha.worst), d(ka.median), d(ka.worst),
					ha.median.Seconds()/ka.median.Seconds(), ha.worst.Seconds()/ka.worst.Seconds(), note)
			}
		}
		if r.event == "cut" {
			sub("  from last advert", func(s foSample) time.Duration { return s.hacfgAdv }, func(s foSample) time.Duration { return s.keepalivedAdv },
				"goal ≤ MDI + 3 ms")
		}
		sub("  its first advert", func(s foSample) time.Duration { return s.hacfgVRRP }, func(s foSample) time.Duration { return s.keepalivedVRRP },
			"state machine only")
		since := func(total, advert time.Duration) time.Duration {
			if advert == 0 {
				return 0 // no advert captured: left out
			}
			return total - advert
		}
		sub("  first advert → GARP", func(s foSample) time.Duration { return since(s.hacfg, s.hacfgVRRP) },
			func(s foSample) time.Duration { return since(s.keepalived, s.keepalivedVRRP) }, "addresses + announce")
	}
	if len(loads) > 0 {
		fmt.Fprintf(w, "\nload: master+backup pair, %s\n", "VRRPv3 10 ms adverts")
		fmt.Fprintf(w, "%-11s %14s %14s %14s %12s %12s\n", "", "CPU s/s total", "master", "backup", "HWM master", "HWM backup")
		for _, l := range loads {
			fmt.Fprintf(w, "%-11s %14.3f %14.3f %14.3f %9.1f MiB %9.1f MiB\n", l.who, l.cpuPerSec(),
				l.masterCPU.Seconds()/l.window.Seconds(), l.backupCPU.Seconds()/l.window.Seconds(),
				float64(l.masterHWM)/1024, float64(l.backupHWM)/1024)
		}
		if len(loads) == 2 {
			fmt.Fprintf(w, "ratio hacfg/keepalived: CPU %.2f×, memory %.2f× (keepalived: parent + VRRP child)\n",
				loads[0].cpuPerSec()/loads[1].cpuPerSec(),
				float64(loads[0].masterHWM+loads[0].backupHWM)/float64(loads[1].masterHWM+loads[1].backupHWM))
		}
	}
	fmt.Fprintln(w)
}

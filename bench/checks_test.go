package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/linux"
	"github.com/hacfg/hacfg/runtime/linux/vmtest"
)

// Knobs of the health-check benchmark (environment variables).
const (
	ckEnvRS       = "HACFG_BENCH_RS"           // real servers (default 2000, see BenchmarkChecksInVM)
	ckEnvLoop     = "HACFG_BENCH_DELAY_LOOP"   // delay_loop of every checker (default 10s for TCP_CHECK, 20s for HTTP_GET)
	ckEnvPerVS    = "HACFG_BENCH_RS_PER_VS"    // real servers per virtual server (default 10)
	ckEnvKinds    = "HACFG_BENCH_CHECKS"       // checkers to run, of tcp and http (default "tcp,http")
	ckEnvWindow   = "HACFG_BENCH_WINDOW"       // CPU measurement window (default 20s)
	ckEnvSettle   = "HACFG_BENCH_SETTLE"       // wait after the table is loaded, before the window (default delay_loop + 2s)
	ckEnvSamples  = "HACFG_BENCH_LAG_SAMPLES"  // real servers taken down for the lag (default 20; 0: no lag measurement)
	ckEnvWho      = "HACFG_BENCH_CONTENDERS"   // checkers to compare (default "hacfg,keepalived")
	ckEnvHacfg    = "HACFG_BENCH_HACFG_BINARY" // the hacfg binary in the VM (set by BenchmarkChecks)
	ckEnvVerbose  = "HACFG_BENCH_VERBOSE"      // 1: print the checker's log after the lag measurement
	ckEnvClock    = "HACFG_BENCH_CLOCKSOURCE"  // the VM's clocksource (default tsc when available; "keep": leave it)
	ckEnvProfile  = "HACFG_BENCH_PROFILE"      // 1: hacfg writes a CPU profile ("heap": a heap profile at exit), printed base64 between "pprof begin"/"pprof end" lines
	ckEnvHacfgEnv = "HACFG_BENCH_HACFG_ENV"    // space-separated NAME=VALUE added to hacfg's environment (GOGC=50, GOMAXPROCS=1, …)
	ckEnvLogLevel = "HACFG_BENCH_LOG_LEVEL"    // hacfg's --log-level (default info)

	ckKeepalived = "/usr/sbin/keepalived"
	ckHacfgGuest = "/usr/local/bin/hacfg"
	ckTimeout    = time.Second
	ckLagBatch   = 5 // real servers taken down at once (see ckLag)
)

// BenchmarkChecks boots one VM with real IPVS and runs
// BenchmarkChecksInVM in it, streaming its output: hacfg's health checks
// (`hacfg run`, a static binary built here) side by side with keepalived's
// checker (the host's /usr/sbin/keepalived and its libraries, copied in)
// on the same real servers. The HACFG_BENCH_* variables above are passed
// on.
//
//	go test -run '^$' -bench '^BenchmarkChecks$' -benchtime 1x -timeout 20m ./bench
func BenchmarkChecks(b *testing.B) {
	if os.Getenv("HACFG_IPVS") == "1" {
		b.Skip("inside the VM: BenchmarkChecksInVM runs here")
	}
	if _, err := os.Stat(ckKeepalived); err != nil {
		if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
			b.Fatalf("keepalived missing on the host (apt-get install keepalived): %v", err)
		}
		b.Skipf("keepalived missing on the host (apt-get install keepalived): %v", err)
	}
	vmBench{
		inVM:    "BenchmarkChecksInVM",
		passEnv: []string{ckEnvRS, ckEnvLoop, ckEnvPerVS, ckEnvKinds, ckEnvWindow, ckEnvSettle, ckEnvSamples, ckEnvWho, ckEnvVerbose, ckEnvClock, ckEnvProfile, ckEnvHacfgEnv, ckEnvResident, ckEnvFaultAround, "HACFG_BENCH_PEAK_EVERY", ckEnvLogLevel},
		memory:  3072, timeout: 25 * time.Minute,
		// The TSC as clocksource, as on real hardware (see ckClocksource).
		kernelArgs: []string{"tsc=reliable"},
		files: func(ctx context.Context, dir string) (map[string]string, map[string]string, error) {
			hacfg, err := vmtest.BuildBinary(ctx, "github.com/hacfg/hacfg/cmd/hacfg", dir)
			if err != nil {
				return nil, nil, err
			}
			files, err := vmtest.HostBinaryFiles(ctx, ckKeepalived)
			if err != nil {
				return nil, nil, err
			}
			files[ckHacfgGuest] = hacfg
			return files, map[string]string{ckEnvHacfg: ckHacfgGuest}, nil
		},
	}.run(b)
}

// BenchmarkChecksInVM measures, in the VM it runs in (HACFG_IPVS=1, see
// BenchmarkChecks), hacfg's and keepalived's health checkers one after the
// other, never both at once, each in a fresh network namespace holding its
// own IPVS and the real servers (listeners in this process on
// 127.1.0.0/16):
//
//   - load: from the checker's start until IPVS holds every real server;
//   - CPU seconds per second of the checker's processes (utime + stime
//     from /proc/PID/stat) over a window, after a settling time;
//   - peak memory: the largest sum of the processes' resident sets, sampled
//     from their page tables every 50 ms for 5 s, then every 250 ms (see
//     ckRollup: the kernel's VmHWM counters trail the truth), with VmHWM
//     and the proportional set size printed too;
//   - lag: a sample of real servers, each in a different virtual server,
//     is taken down at once (TCP: listener closed; HTTP: 503), and IPVS is
//     polled every millisecond until each one's destination is gone (or
//     at weight 0); the goal is a worst case within delay_loop +
//     connect_timeout + 10 ms.
//
// The figure is 10,000 real servers checked every second. Under
// QEMU's TCG (no KVM here) a connection over loopback costs the VM about a
// millisecond of CPU per side, so 10,000 checks a second would need
// several times the VM's two vCPUs for either checker; the default keeps
// about 200 TCP checks (100 HTTP checks) a second, which the VM carries
// with room to spare: 2,000 real servers, delay_loop 10 s for TCP_CHECK
// and 20 s for HTTP_GET (warmup = delay_loop spreads them). The lag bound
// scales with delay_loop. HACFG_BENCH_RS=10000 with HACFG_BENCH_DELAY_LOOP
// of a minute keeps the same check rate at the full size (for memory);
// the per-check CPU figure compares across sizes.
func BenchmarkChecksInVM(b *testing.B) {
	if os.Getenv("HACFG_IPVS") != "1" {
		b.Skip("needs a kernel with IPVS: set HACFG_IPVS=1 (BenchmarkChecks does, in a VM)")
	}
	n := ckEnvInt(ckEnvRS, 2000)
	perVS := ckEnvInt(ckEnvPerVS, 10)
	window := ckEnvDuration(ckEnvWindow, 20*time.Second)
	samples := 20
	if v, err := strconv.Atoi(os.Getenv(ckEnvSamples)); err == nil && v >= 0 {
		samples = v
	}
	var kinds []ckKind
	for k := range strings.SplitSeq(ckEnvString(ckEnvKinds, "tcp,http"), ",") {
		switch strings.TrimSpace(k) {
		case "tcp":
			kinds = append(kinds, ckTCP)
		case "http":
			kinds = append(kinds, ckHTTP)
		default:
			b.Fatalf("%s: unknown checker %q (tcp, http)", ckEnvKinds, k)
		}
	}
	contenders, err := ckContenders(ckEnvString(ckEnvWho, "hacfg,keepalived"))
	if err != nil {
		b.Fatal(err)
	}
	if err := ckRaiseNoFile(uint64(4*n + 4096)); err != nil {
		b.Fatal(err)
	}
	if err := ckClocksource(os.Getenv(ckEnvClock)); err != nil {
		b.Fatal(err)
	}
	if thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil {
		// "always" gives a process's heap 2 MiB pages once it spans one.
		fmt.Printf("transparent huge pages: %s", thp)
	}
	if v := os.Getenv(ckEnvFaultAround); v != "" {
		if err := ckSetFaultAround(v); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		for _, kind := range kinds {
			loop := 10 * time.Second
			if kind == ckHTTP {
				loop = 20 * time.Second
			}
			loop = ckEnvDuration(ckEnvLoop, loop)
			settle := ckEnvDuration(ckEnvSettle, loop+2*time.Second)
			set := ckSet{n: n, perVS: perVS, kind: kind, delayLoop: loop, timeout: ckTimeout}
			dir := b.TempDir()
			hclPath, kaPath, err := set.writeConfigs(dir)
			if err != nil {
				b.Fatal(err)
			}
			var results []*ckResult
			for _, c := range contenders {
				r, err := ckMeasure(b, c, set, dir, hclPath, kaPath, settle, window, samples)
				if err != nil {
					b.Fatalf("%s, %s: %v", c.name, kind, err)
				}
				results = append(results, r)
			}
			ckPrint(os.Stdout, set, window, results)
			ckReport(b, set, results)
		}
	}
}

// ckContender is one checker under test: how to start it.
type ckContender struct {
	name  string
	start func(dir, hclPath, kaPath string, log io.Writer) *exec.Cmd
}

func ckContenders(list string) ([]ckContender, error) {
	var out []ckContender
	for name := range strings.SplitSeq(list, ",") {
		switch strings.TrimSpace(name) {
		case "hacfg":
			bin := ckEnvString(ckEnvHacfg, ckHacfgGuest)
			out = append(out, ckContender{name: "hacfg", start: func(dir, hclPath, _ string, log io.Writer) *exec.Cmd {
				cmd := exec.Command(bin, "run", "-c", hclPath, "--state-dir", filepath.Join(dir, "hacfg-state"),
					"--status-socket", filepath.Join(dir, "hacfg.sock"), "--log-level", ckEnvString(ckEnvLogLevel, "info"))
				cmd.Env = append(os.Environ(), strings.Fields(os.Getenv(ckEnvHacfgEnv))...)
				switch os.Getenv(ckEnvProfile) {
				case "1":
					cmd.Env = append(cmd.Env, "HACFG_CPUPROFILE="+filepath.Join(dir, "hacfg.pprof"))
				case "heap":
					// As text: with the runtime's memory statistics.
					cmd.Env = append(cmd.Env, "HACFG_MEMPROFILE="+filepath.Join(dir, "hacfg.pprof.txt"), "GODEBUG=memprofilerate=4096")
				}
				cmd.Stdout, cmd.Stderr = log, log
				return cmd
			}})
		case "keepalived":
			out = append(out, ckContender{name: "keepalived", start: func(dir, _, kaPath string, log io.Writer) *exec.Cmd {
				// -C: the checker only (no VRRP); -n: no daemon; -l -D:
				// detailed log on the console.
				cmd := exec.Command(ckKeepalived, "-C", "-n", "-l", "-D", "-f", kaPath,
					"-p", "/run/ckbench-keepalived.pid", "-c", "/run/ckbench-checkers.pid", "-r", "/run/ckbench-vrrp.pid")
				cmd.Stdout, cmd.Stderr = log, log
				return cmd
			}})
		default:
			return nil, fmt.Errorf("%s: unknown checker %q (hacfg, keepalived)", ckEnvWho, name)
		}
	}
	return out, nil
}

// ckResult is what one checker did on one set of real servers.
type ckResult struct {
	who        string
	load       time.Duration // start → every real server in IPVS
	idleBusy   float64       // VM CPUs busy before the checker started (listeners only), 0..1
	window     time.Duration
	cpu        time.Duration // the checker's processes, in the window
	servers    time.Duration // this process (the real servers), in the window
	vmBusy     float64       // VM CPUs busy in the window, 0..1
	destsAfter int           // IPVS destinations at the end of the window
	checks     int64         // connections the real servers accepted in the window
	hwm        []int64       // VmHWM of each process, KiB, main process first (kernel counters, see ckRollup)
	peak       int64         // largest resident set of all processes, sampled from their page tables, KiB
	peakMain   int64         // the same, main process only
	rss        int64         // resident set of all processes at the window's end (page tables), KiB
	pss        int64         // their proportional set size (shared pages split between them), KiB
	lags       []time.Duration
	missed     int           // sampled real servers whose destination stayed
	pollRound  time.Duration // mean time between two looks at one destination
}

func (r *ckResult) hwmTotal() int64 {
	var s int64
	for _, h := range r.hwm {
		s += h
	}
	return s
}

func (r *ckResult) lag(q float64) time.Duration {
	if len(r.lags) == 0 {
		return 0
	}
	s := slices.Clone(r.lags)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// ckMeasure runs one checker on set in a fresh namespace and measures it.
func ckMeasure(b *testing.B, c ckContender, set ckSet, dir, hclPath, kaPath string, settle, window time.Duration, samples int) (*ckResult, error) {
	r := &ckResult{who: c.name, window: window}
	fmt.Printf("%s, %s: %d real servers in %d virtual servers\n", c.name, set.kind, set.n, set.vss())
	ns, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer ns.close()
	var servers *ckServers
	if err := ns.do(func() error {
		var err error
		servers, err = ckListen(set)
		return err
	}); err != nil {
		return nil, err
	}
	defer servers.close()
	kern, err := linux.Open(ns.path(), nil)
	if err != nil {
		return nil, err
	}
	defer kern.Close()
	if r.idleBusy, err = ckBusy(2 * time.Second); err != nil {
		return nil, err
	}

	logPath := filepath.Join(dir, c.name+"-"+strings.ToLower(string(set.kind))+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := c.start(dir, hclPath, kaPath, logf)
	start := time.Now()
	if err := ns.do(cmd.Start); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	sampler := ckSamplePeak(cmd.Process.Pid)
	defer func() {
		sampler.stop()
		ckStop(cmd, exited)
		ckFlush(kern)
		ckPrintProfile(filepath.Join(dir, c.name+".pprof"), c.name+" "+string(set.kind))
		ckPrintMemStats(filepath.Join(dir, c.name+".pprof.txt"), c.name+" "+string(set.kind))
	}()
	failed := func(err error) error {
		return fmt.Errorf("%w\n--- log tail:\n%s", err, ckTail(logPath, 30))
	}

	// Load: every real server in IPVS. Listing 10,000 destinations takes
	// the two-CPU VM a few hundred milliseconds of kernel time; polled
	// every 250 ms, that took a CPU from the checker being measured, whose
	// checks then timed out, so that its real servers went down, the load
	// took longer, and the polling went on. The pause after a poll is at
	// least three times the poll: the observer takes at most a quarter of
	// a CPU.
	for {
		select {
		case err := <-exited:
			return nil, failed(fmt.Errorf("exited while loading: %v", err))
		default:
		}
		polled := time.Now()
		if d, err := ckCountDests(kern); err != nil {
			return nil, failed(err)
		} else if d == set.n {
			r.load = time.Since(start)
			break
		} else if time.Since(start) > 5*time.Minute {
			return nil, failed(fmt.Errorf("IPVS holds %d destinations after %s, want %d", d, time.Since(start).Round(time.Second), set.n))
		}
		time.Sleep(max(250*time.Millisecond, 3*time.Since(polled)))
	}
	fmt.Printf("  loaded in %s\n", r.load.Round(time.Millisecond))
	if r.load > set.delayLoop || os.Getenv(ckEnvVerbose) == "1" {
		// Longer than a delay_loop: a real server's first check failed,
		// and it waited for the next. Which, and why, is in the log.
		fmt.Printf("  %s's log of failures during the load:\n%s\n", c.name, ckLogMatching(logPath, 30, "down", "fail", "rror", "imeout", "config loaded", "scope=full", "released program pages"))
	}
	time.Sleep(settle)

	// CPU window.
	pid := cmd.Process.Pid
	cpu0, err := ckTreeCPU(pid)
	if err != nil {
		return nil, failed(err)
	}
	self0 := ckSelfCPU()
	busy0, total0, err := ckSystemCPU()
	if err != nil {
		return nil, err
	}
	conns0 := servers.conns.Load()
	t0 := time.Now()
	time.Sleep(window)
	r.checks = servers.conns.Load() - conns0
	cpu1, err := ckTreeCPU(pid)
	if err != nil {
		return nil, failed(err)
	}
	r.window = time.Since(t0)
	r.cpu = cpu1 - cpu0
	r.servers = ckSelfCPU() - self0
	busy1, total1, err := ckSystemCPU()
	if err != nil {
		return nil, err
	}
	r.vmBusy = float64(busy1-busy0) / float64(max(1, total1-total0))
	if r.destsAfter, err = ckCountDests(kern); err != nil {
		return nil, failed(err)
	}
	for _, p := range ckTree(pid) {
		// Where the resident set is: anonymous (heap, stacks) or the
		// program and its libraries (file pages; shared memory pages
		// when they live in the VM's initramfs).
		ru, err := ckReadRollup(p)
		if err != nil {
			return nil, failed(err)
		}
		r.rss += ru.rss
		r.pss += ru.pss
		vmRSS, _ := ckStatusKiB(p, "VmRSS")
		fmt.Printf("  process %d at the window's end: Rss %d KiB (anonymous %d, program and libraries %d), Pss %d KiB; VmRSS (counters) %d KiB\n",
			p, ru.rss, ru.anon, ru.rss-ru.anon, ru.pss, vmRSS)
	}
	if os.Getenv(ckEnvResident) == "1" {
		if err := ckResident(os.Stdout, pid); err != nil {
			fmt.Printf("  %v\n", err)
		}
	}
	fmt.Printf("  %.3f CPU s/s over %s, %.1f checks/s; %d destinations at its end\n", r.cpu.Seconds()/r.window.Seconds(), r.window.Round(time.Millisecond), float64(r.checks)/r.window.Seconds(), r.destsAfter)

	// Lag.
	logAt, _ := logf.Seek(0, io.SeekCurrent)
	if err := ckLag(r, kern, servers, set, samples); err != nil {
		return nil, failed(err)
	}
	if r.missed > 0 || r.lag(1) > set.delayLoop+set.timeout+10*time.Millisecond || os.Getenv(ckEnvVerbose) == "1" {
		fmt.Printf("  log of %s since the real servers went down:\n%s\n", c.name, ckLogSince(logPath, logAt, 60))
	}
	fmt.Printf("  lag: median %s, worst %s, %d/%d removed\n", r.lag(0.5).Round(time.Millisecond), r.lag(1).Round(time.Millisecond), len(r.lags), len(r.lags)+r.missed)

	// Peak memory, last: it covers load, checks and removals.
	for _, p := range ckTree(pid) {
		h, err := ckStatusKiB(p, "VmHWM")
		if err != nil {
			if p == pid {
				return nil, failed(err)
			}
			continue
		}
		r.hwm = append(r.hwm, h)
	}
	sampler.stop()
	r.peak, r.peakMain = sampler.peak, sampler.main
	if os.Getenv(ckEnvResident) == "1" {
		fmt.Printf("  resident set in the first seconds (time, Rss KiB, anonymous KiB):")
		for i, t := range sampler.timeline {
			if i%5 == 0 || t.rss == r.peak {
				fmt.Printf(" %s %d %d;", t.at.Round(time.Millisecond), t.rss, t.anon)
			}
		}
		fmt.Println()
	}
	if sampler.peakPresent != nil {
		fmt.Printf("  at the peak, resident pages of %s, KiB:\n", sampler.exe)
		if err := ckPrintResident(os.Stdout, sampler.exe, sampler.peakPresent); err != nil {
			fmt.Printf("  %v\n", err)
		}
	}
	fmt.Printf("  peak Rss %d KiB (main process %d; anonymous %d; %s after the start; %d samples); VmHWM (counters) %v KiB\n",
		r.peak, r.peakMain, sampler.anon, sampler.at.Round(time.Millisecond), sampler.samples, r.hwm)
	return r, nil
}

// ckLag takes down samples real servers, each in a different virtual
// server, and records how long each one's destination takes to leave IPVS
// (or drop to weight 0). They go down ckLagBatch at a time, a batch once
// the previous one is gone: a dump of one service costs about a
// millisecond of a TCG vCPU, so polling every sample every millisecond
// would take a whole vCPU from the checkers being measured. Each batch is
// polled in rounds (one dump per pending sample) with a pause as long as
// the round after it, so the poller takes at most half a vCPU; a lag is
// taken when the dump that no longer shows the destination returns, an
// over-estimate by at most one round plus its pause (r.pollRound).
func ckLag(r *ckResult, kern *linux.Kernel, servers *ckServers, set ckSet, samples int) error {
	type sample struct {
		k      int
		key    runtime.ServiceKey
		addr   netip.AddrPort
		downAt time.Time
		done   bool
	}
	vss := set.vss()
	samples = min(samples, vss)
	var ss []*sample
	for i := range samples {
		vs := i * vss / samples
		k := min(set.n-1, vs*set.perVS+i%set.perVS)
		vip := set.vip(set.vsOf(k))
		ss = append(ss, &sample{k: k, addr: set.real(k),
			key: runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: vip.Addr(), Port: vip.Port(), Family: runtime.FamilyV4}})
	}
	for _, s := range ss {
		ds, err := kern.ListDestinations(s.key)
		if err != nil {
			return fmt.Errorf("lag: %w", err)
		}
		if ckGone(ds, s.addr) {
			return fmt.Errorf("lag: real server %s of %s is not in IPVS before it is taken down", s.addr, s.key)
		}
	}
	var rounds int
	var polled time.Duration
	for len(ss) > 0 {
		batch := ss[:min(ckLagBatch, len(ss))]
		ss = ss[len(batch):]
		for _, s := range batch {
			s.downAt = time.Now()
			servers.markDown(s.k)
		}
		first := time.Now()
		deadline := first.Add(3*(set.delayLoop+set.timeout) + 2*time.Second)
		pending := len(batch)
		for pending > 0 && time.Now().Before(deadline) {
			round := time.Now()
			for _, s := range batch {
				if s.done {
					continue
				}
				ds, err := kern.ListDestinations(s.key)
				if err != nil {
					return fmt.Errorf("lag: %w", err)
				}
				if ckGone(ds, s.addr) {
					r.lags = append(r.lags, time.Since(s.downAt))
					s.done = true
					pending--
				}
			}
			rounds++
			time.Sleep(max(time.Millisecond, time.Since(round)))
		}
		polled += time.Since(first)
		r.missed += pending
	}
	r.pollRound = polled / time.Duration(max(1, rounds))
	return nil
}

// ckGone says whether addr is absent from ds, or at weight 0.
func ckGone(ds []runtime.Destination, addr netip.AddrPort) bool {
	for _, d := range ds {
		if d.AddrPort() == addr {
			return d.Weight == 0
		}
	}
	return true
}

func ckCountDests(kern *linux.Kernel) (int, error) {
	all, err := kern.ListAll()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, vs := range all {
		n += len(vs.Destinations)
	}
	return n, nil
}

// ckFlush deletes every IPVS service of the namespace, so that its
// teardown has little left to do.
func ckFlush(kern *linux.Kernel) {
	svcs, err := kern.ListServices()
	if err != nil {
		return
	}
	for _, s := range svcs {
		_ = kern.DelService(s.Key())
	}
}

// ckStop ends a checker: SIGTERM, then SIGKILL after 20 s.
func ckStop(cmd *exec.Cmd, exited <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// ckPrintProfile prints the CPU profile at path, if there is one, base64
// between "pprof begin LABEL" and "pprof end" lines: the way out of the
// VM (see ckEnvProfile). It removes the file.
func ckPrintProfile(path, label string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	os.Remove(path)
	fmt.Printf("pprof begin %s\n", label)
	enc := base64.StdEncoding.EncodeToString(b)
	for len(enc) > 0 {
		n := min(len(enc), 76)
		fmt.Println(enc[:n])
		enc = enc[n:]
	}
	fmt.Println("pprof end")
}

// ckPrintMemStats prints the runtime's memory statistics of a text heap
// profile at path, if there is one, then the profile as ckPrintProfile
// does.
func ckPrintMemStats(path, label string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	fmt.Printf("memory statistics of %s at exit:\n", label)
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "# ") && strings.Contains(line, " = ") {
			fmt.Printf("  %s\n", line[2:])
		}
	}
	ckPrintProfile(path, label)
}

// ckClocksource selects the VM's clocksource: want, or tsc when the
// kernel offers it ("keep": leave it as booted). Under TCG the kernel may
// boot on hpet or acpi_pm, which the vDSO cannot read: every clock read
// becomes a system call and an emulated device access, a cost no real
// load balancer pays and one that falls on a Go program (whose scheduler
// and timers read the clock constantly) far more than on keepalived.
// vmtest's TCG guest (Debian 6.1) offers only hpet and acpi_pm unless
// booted with tsc=reliable, which BenchmarkChecks does: every real server
// keeps its clock in the TSC.
func ckClocksource(want string) error {
	const dir = "/sys/devices/system/clocksource/clocksource0/"
	cur, err := os.ReadFile(dir + "current_clocksource")
	if err != nil {
		return fmt.Errorf("clocksource: %w", err)
	}
	avail, _ := os.ReadFile(dir + "available_clocksource")
	fmt.Printf("clocksource: %s (available: %s)\n", strings.TrimSpace(string(cur)), strings.TrimSpace(string(avail)))
	switch {
	case want == "keep":
		return nil
	case want == "":
		if !slices.Contains(strings.Fields(string(avail)), "tsc") {
			return nil
		}
		want = "tsc"
	}
	if strings.TrimSpace(string(cur)) == want {
		return nil
	}
	if err := os.WriteFile(dir+"current_clocksource", []byte(want), 0o644); err != nil {
		return fmt.Errorf("clocksource %s: %w", want, err)
	}
	cur, _ = os.ReadFile(dir + "current_clocksource")
	fmt.Printf("clocksource now: %s\n", strings.TrimSpace(string(cur)))
	return nil
}

// ckBusy is the fraction of the VM's CPU time that is busy over d.
func ckBusy(d time.Duration) (float64, error) {
	b0, t0, err := ckSystemCPU()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	b1, t1, err := ckSystemCPU()
	if err != nil {
		return 0, err
	}
	return float64(b1-b0) / float64(max(1, t1-t0)), nil
}

// ckSelfCPU is this process's CPU time (user + system).
func ckSelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ckRaiseNoFile raises RLIMIT_NOFILE (soft and hard) to at least n, for
// the listeners here and the checkers' sockets (children inherit it).
func ckRaiseNoFile(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= n && lim.Max >= n {
		return nil
	}
	lim.Cur, lim.Max = max(lim.Cur, n), max(lim.Max, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit nofile %d: %w", n, err)
	}
	return nil
}

func ckTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// ckLogSince returns up to lines lines a checker logged from offset on,
// leaving out its reports of passed checks.
func ckLogSince(path string, offset int64, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if offset > int64(len(b)) {
		offset = 0
	}
	var out []string
	for l := range strings.SplitSeq(string(b[offset:]), "\n") {
		if l == "" || strings.Contains(l, "succeed on service") {
			continue
		}
		if len(out) == lines {
			out = append(out, "    …")
			break
		}
		out = append(out, "    "+l)
	}
	return strings.Join(out, "\n")
}

// ckLogMatching returns the first lines of the log at path that contain
// any of words, indented, at most lines of them.
func ckLogMatching(path string, lines int, words ...string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var out []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.Contains(l, w) }) {
			continue
		}
		if len(out) == lines {
			out = append(out, "    …")
			break
		}
		out = append(out, "    "+l)
	}
	if len(out) == 0 {
		return "    (none)"
	}
	return strings.Join(out, "\n")
}

func ckEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func ckEnvDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func ckEnvString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ckPrint writes the side-by-side table of one set of real servers.
func ckPrint(w io.Writer, set ckSet, window time.Duration, rs []*ckResult) {
	bound := set.delayLoop + set.timeout + 10*time.Millisecond
	fmt.Fprintf(w, "\nhealth checks: %d real servers (%d virtual servers), %s every %s, connect_timeout %s, retry 0; %s, %d CPUs\n",
		set.n, set.vss(), set.kind, set.delayLoop, set.timeout, kernelReleaseCk(), goruntime.NumCPU())
	fmt.Fprintf(w, "%-40s", "measure")
	for _, r := range rs {
		fmt.Fprintf(w, " %14s", r.who)
	}
	if len(rs) == 2 {
		fmt.Fprintf(w, " %8s", "ratio")
	}
	fmt.Fprintf(w, "  %s\n", "goal")
	row := func(name string, val func(*ckResult) float64, format string, goal string) {
		fmt.Fprintf(w, "%-40s", name)
		for _, r := range rs {
			fmt.Fprintf(w, " %14s", fmt.Sprintf(format, val(r)))
		}
		if len(rs) == 2 {
			if d := val(rs[1]); d != 0 {
				fmt.Fprintf(w, " %7.2f×", val(rs[0])/d)
			} else {
				fmt.Fprintf(w, " %8s", "-")
			}
		}
		fmt.Fprintf(w, "  %s\n", goal)
	}
	msf := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	row("load: every real server in IPVS (s)", func(r *ckResult) float64 { return r.load.Seconds() }, "%.2f", "")
	row("CPU s/s, checker processes", func(r *ckResult) float64 { return r.cpu.Seconds() / r.window.Seconds() }, "%.3f", "hacfg < keepalived")
	row("CPU s/s, real servers (this process)", func(r *ckResult) float64 { return r.servers.Seconds() / r.window.Seconds() }, "%.3f", "")
	row("VM CPUs busy in the window (%)", func(r *ckResult) float64 { return 100 * r.vmBusy }, "%.1f", "")
	row("VM CPUs busy before start (%)", func(r *ckResult) float64 { return 100 * r.idleBusy }, "%.1f", "")
	row("destinations at the window's end", func(r *ckResult) float64 { return float64(r.destsAfter) }, "%.0f", fmt.Sprint(set.n))
	row("peak RSS, main process (MiB)", func(r *ckResult) float64 { return float64(r.peakMain) / 1024 }, "%.1f", "")
	row("peak RSS, all processes (MiB)", func(r *ckResult) float64 { return float64(r.peak) / 1024 }, "%.1f", "hacfg < keepalived")
	row("VmHWM, all processes (MiB, kernel counters)", func(r *ckResult) float64 { return float64(r.hwmTotal()) / 1024 }, "%.1f", "")
	row("RSS at the window's end, all (MiB)", func(r *ckResult) float64 { return float64(r.rss) / 1024 }, "%.1f", "")
	row("PSS at the window's end, all (MiB)", func(r *ckResult) float64 { return float64(r.pss) / 1024 }, "%.1f", "")
	row("processes", func(r *ckResult) float64 { return float64(len(r.hwm)) }, "%.0f", "")
	row("lag down → IPVS, median (ms)", func(r *ckResult) float64 { return msf(r.lag(0.5)) }, "%.1f", "")
	row("lag down → IPVS, worst (ms)", func(r *ckResult) float64 { return msf(r.lag(1)) }, "%.1f", fmt.Sprintf("≤ %.0f", msf(bound)))
	row("checks/s made (connections the servers accepted)", func(r *ckResult) float64 { return float64(r.checks) / r.window.Seconds() }, "%.1f",
		fmt.Sprintf("%.0f", float64(set.n)/set.delayLoop.Seconds()))
	row("CPU per check made (µs), checker processes", func(r *ckResult) float64 {
		return r.cpu.Seconds() * 1e6 / float64(max(1, r.checks))
	}, "%.0f", "")
	row("lag samples removed", func(r *ckResult) float64 { return float64(len(r.lags)) }, "%.0f", fmt.Sprint(len(rs[0].lags)+rs[0].missed))
	row("IPVS poll round + pause (ms)", func(r *ckResult) float64 { return msf(r.pollRound) }, "%.2f", "")
	for _, r := range rs {
		if r.who != "hacfg" {
			continue
		}
		verdict := func(ok bool) string {
			if ok {
				return "met"
			}
			return "NOT met"
		}
		if len(r.lags)+r.missed == 0 {
			fmt.Fprintf(w, "hacfg: lag not measured")
		} else {
			fmt.Fprintf(w, "hacfg: worst lag %s (bound %s): %s", r.lag(1).Round(time.Millisecond), bound, verdict(r.missed == 0 && r.lag(1) <= bound))
		}
		for _, k := range rs {
			if k.who == "keepalived" {
				fmt.Fprintf(w, "; CPU vs keepalived: %s; memory vs keepalived: %s",
					verdict(r.cpu.Seconds()/r.window.Seconds() < k.cpu.Seconds()/k.window.Seconds()), verdict(r.peak < k.peak))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// ckReport reports the key figures as benchmark metrics.
func ckReport(b *testing.B, set ckSet, rs []*ckResult) {
	kind := "tcp"
	if set.kind == ckHTTP {
		kind = "http"
	}
	for _, r := range rs {
		who := r.who
		if who == "keepalived" {
			who = "ka"
		}
		p := kind + "-" + who + "-"
		b.ReportMetric(r.cpu.Seconds()/r.window.Seconds(), p+"cpu-s/s")
		b.ReportMetric(float64(r.peak)/1024, p+"MiB")
		b.ReportMetric(r.lag(0.5).Seconds()*1000, p+"lag-med-ms")
		b.ReportMetric(r.lag(1).Seconds()*1000, p+"lag-max-ms")
		if r.missed > 0 {
			b.Errorf("%s, %s: %d of %d real servers taken down stayed in IPVS", r.who, set.kind, r.missed, r.missed+len(r.lags))
		}
		if r.destsAfter != set.n {
			b.Logf("%s, %s: %d destinations in IPVS after the window, want %d (checks failed while every real server was up)", r.who, set.kind, r.destsAfter, set.n)
		}
	}
}

func kernelReleaseCk() string {
	v, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "Linux ?"
	}
	return "Linux " + strings.TrimSpace(string(v))
}

package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ckTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, which
// is 100 on every Linux architecture Go runs on.
const ckTick = 10 * time.Millisecond

// ckProcCPU returns the CPU time (user + system) pid has used, from
// /proc/PID/stat.
func ckProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: %w", pid, err)
	}
	return ckParseStatCPU(b)
}

// ckParseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/PID/stat line; the command name, in parentheses, may hold spaces.
func ckParseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse stat %q: no command", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parse stat %q: %d fields", b, len(f)+2)
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse stat utime: %w", err)
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse stat stime: %w", err)
	}
	return time.Duration(u+s) * ckTick, nil
}

// ckStatusKiB returns a "kB" field of /proc/PID/status, such as VmHWM (the
// peak resident set) or VmRSS.
func ckStatusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("%s of %d: %w", field, pid, err)
	}
	return ckParseStatusKiB(b, field)
}

func ckParseStatusKiB(b []byte, field string) (int64, error) {
	for line := range strings.SplitSeq(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parse status %s: %q", field, line)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("parse status: no %s", field)
}

// ckTree returns pid and its descendants (keepalived's parent and its
// checker child), scanning /proc.
func ckTree(pid int) []int {
	parents := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			parents[pp] = append(parents[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parents[out[i]]...)
	}
	return out
}

// ckTreeCPU is the CPU time of pid and its descendants. Descendants that
// exited and were reaped are not counted; a checker has none that matter.
func ckTreeCPU(pid int) (time.Duration, error) {
	var sum time.Duration
	for i, p := range ckTree(pid) {
		c, err := ckProcCPU(p)
		if err != nil {
			if i == 0 {
				return 0, err
			}
			continue // a short-lived child ended meanwhile
		}
		sum += c
	}
	return sum, nil
}

// ckSystemCPU returns the busy and total CPU time of the whole machine
// (all CPUs), from the first line of /proc/stat, in ticks.
func ckSystemCPU() (busy, total int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("parse /proc/stat: %q", line)
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse /proc/stat: %q: %w", line, err)
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}

// ckRollup is a process's resident set from /proc/PID/smaps_rollup, which
// the kernel computes by walking the process's page tables. The counters
// behind VmRSS and VmHWM in /proc/PID/status are kept per thread on Linux
// 6.1 and folded into the process's every 64 faults, so they can trail
// the truth by megabytes (and read 0 after a madvise that unmapped pages
// some threads had not yet counted); smaps_rollup cannot.
type ckRollup struct {
	rss, pss, anon int64 // KiB
}

// ckReadRollup reads pid's smaps_rollup.
func ckReadRollup(pid int) (ckRollup, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return ckRollup{}, fmt.Errorf("smaps_rollup of %d: %w", pid, err)
	}
	return ckParseRollup(b)
}

func ckParseRollup(b []byte) (ckRollup, error) {
	var r ckRollup
	var err error
	if r.rss, err = ckParseStatusKiB(b, "Rss"); err != nil {
		return r, err
	}
	if r.pss, err = ckParseStatusKiB(b, "Pss"); err != nil {
		return r, err
	}
	if r.anon, err = ckParseStatusKiB(b, "Anonymous"); err != nil {
		return r, err
	}
	return r, nil
}

// ckPeakSampler records the largest resident set of a process tree (the
// sum of its processes' smaps_rollup Rss), sampled from the checker's
// start until stop (see ckPeakEveryStartup). A peak shorter than the period can be
// missed; a Go heap and keepalived's both grow and shrink over seconds.
type ckPeakSampler struct {
	pid     int
	stopc   chan struct{}
	done    chan struct{}
	peak    int64 // KiB, all processes
	main    int64 // KiB, the main process
	anon    int64 // KiB, anonymous memory of all processes at the peak
	at      time.Duration
	samples int
	start   time.Time
	// The first seconds, every sample: start-up is where a checker
	// peaks (HACFG_BENCH_RESIDENT prints it).
	timeline []ckRSSAt
	// With HACFG_BENCH_RESIDENT: the main process's executable and its
	// pages present at the peak.
	exe         string
	peakPresent map[uint64]bool
	// The process tree, scanned again every ckTreeEvery.
	tree   []int
	treeAt time.Time
}

// ckRSSAt is one sample of a ckPeakSampler.
type ckRSSAt struct {
	at        time.Duration
	rss, anon int64 // KiB
}

// The sampling periods: start-up, where checkers peak, more finely. A
// sample costs the VM a few milliseconds under TCG (the kernel walks the
// page tables; the process tree is a scan of /proc, redone every
// ckTreeEvery): every 20 ms throughout, it took enough of the VM's two
// vCPUs that hacfg's checks of 10,000 real servers fell behind.
// HACFG_BENCH_PEAK_EVERY sets one period for the whole run.
const (
	ckPeakStartup      = 5 * time.Second
	ckPeakEveryStartup = 50 * time.Millisecond
	ckPeakEveryAfter   = 250 * time.Millisecond
	ckTreeEvery        = time.Second
)

func ckSamplePeak(pid int) *ckPeakSampler {
	s := &ckPeakSampler{pid: pid, stopc: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	fixed := ckEnvDuration("HACFG_BENCH_PEAK_EVERY", 0)
	go func() {
		defer close(s.done)
		for {
			s.sample()
			every := fixed
			if every == 0 {
				every = ckPeakEveryAfter
				if time.Since(s.start) < ckPeakStartup {
					every = ckPeakEveryStartup
				}
			}
			select {
			case <-s.stopc:
				s.sample()
				return
			case <-time.After(every):
			}
		}
	}()
	return s
}

func (s *ckPeakSampler) sample() {
	if s.tree == nil || time.Since(s.treeAt) > ckTreeEvery {
		s.tree, s.treeAt = ckTree(s.pid), time.Now()
	}
	var sum, anon int64
	for i, p := range s.tree {
		r, err := ckReadRollup(p)
		if err != nil {
			continue // not started yet, or a child that ended
		}
		if i == 0 {
			s.main = max(s.main, r.rss)
		}
		sum += r.rss
		anon += r.anon
	}
	at := time.Since(s.start)
	if sum > s.peak {
		s.peak, s.anon, s.at = sum, anon, at
		if os.Getenv(ckEnvResident) == "1" {
			if s.exe == "" {
				s.exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", s.pid))
			}
			if pp, err := ckPresentFilePages(s.pid, s.exe); err == nil {
				s.peakPresent = pp
			}
		}
	}
	if at < 5*time.Second {
		s.timeline = append(s.timeline, ckRSSAt{at: at, rss: sum, anon: anon})
	}
	s.samples++
}

// stop ends the sampling; the fields are final once it returns.
func (s *ckPeakSampler) stop() {
	select {
	case <-s.stopc:
	default:
		close(s.stopc)
	}
	<-s.done
}

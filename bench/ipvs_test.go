package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime/linux/vmtest"
)

const ipvsadmPath = "/usr/sbin/ipvsadm"

// BenchmarkIPVS boots one VM with real IPVS and runs BenchmarkIPVSInVM in
// it, streaming its output (the side-by-side table of hacfg and ipvsadm)
// to stdout. HACFG_BENCH_SERVICES and HACFG_BENCH_REALS set the table size
// (default 10,000 × 10). It needs what vmtest needs, plus ipvsadm on the
// host (Debian package ipvsadm), which is copied into the VM.
//
//	go test -run '^$' -bench '^BenchmarkIPVS$' -benchtime 1x -timeout 30m ./bench
func BenchmarkIPVS(b *testing.B) {
	if _, err := os.Stat(ipvsadmPath); err != nil && os.Getenv("HACFG_IPVS") != "1" {
		if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
			b.Fatalf("ipvsadm missing on the host (apt-get install ipvsadm): %v", err)
		}
		b.Skipf("ipvsadm missing on the host (apt-get install ipvsadm): %v", err)
	}
	vmBench{
		inVM: "BenchmarkIPVSInVM", passEnv: []string{envServices, envReals}, memory: 3072, timeout: 35 * time.Minute,
		files: func(ctx context.Context, dir string) (map[string]string, map[string]string, error) {
			files, err := vmtest.HostBinaryFiles(ctx, ipvsadmPath)
			return files, nil, err
		},
	}.run(b)
}

// benchVerdict says whether the in-VM benchmark name ran and passed.
func benchVerdict(out string, exit int, name string) error {
	line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(-\d+)?\s+1\s`)
	switch {
	case exit != 0:
		return fmt.Errorf("benchmark in the VM exited %d; see the vm: lines above", exit)
	case strings.Contains(out, "--- SKIP: "+name):
		return errors.New(name + " skipped in the VM")
	case !line.MatchString(out):
		return errors.New(name + " printed no result in the VM")
	}
	return nil
}

// prefixWriter writes each complete line with a prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

// run is one measured process.
type run struct {
	wall   time.Duration
	maxRSS int64 // KiB, from wait4's rusage
	out    []byte
}

// measure runs cmd and returns its wall time and peak resident set (as
// /usr/bin/time reports it).
func measure(cmd *exec.Cmd) (run, error) {
	var out bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	r := run{wall: time.Since(start), out: out.Bytes()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.maxRSS = ru.Maxrss
		}
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out.Bytes())
	}
	return r, nil
}

func ipvsadm(ns *benchNS, args ...string) (run, error) {
	return ns.measure(exec.Command(ipvsadmPath, args...))
}

// ipvsadmTable returns the kernel's IPVS table as sorted ipvsadm -S -n
// lines.
func ipvsadmTable(ns *benchNS) (run, []string, error) {
	var out bytes.Buffer
	cmd := exec.Command(ipvsadmPath, "-S", "-n")
	cmd.Stdout = &out
	r, err := ns.measure(cmd)
	if err != nil {
		return r, nil, err
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	slices.Sort(lines)
	return r, lines, nil
}

// child runs one hacfg phase in a fresh process (see TestIPVSChild).
func child(ns *benchNS, dir, phase string, tbl ipvsTable) (run, phaseResult, error) {
	var res phaseResult
	os.Remove(filepath.Join(dir, "result.json"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestIPVSChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+phase, envChildDir+"="+dir,
		fmt.Sprintf("%s=%d", envServices, tbl.services), fmt.Sprintf("%s=%d", envReals, tbl.reals))
	r, err := ns.measure(cmd)
	if err != nil {
		return r, res, fmt.Errorf("hacfg %s: %w", phase, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return r, res, fmt.Errorf("hacfg %s: %w\n%s", phase, err, r.out)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return r, res, fmt.Errorf("hacfg %s: %w", phase, err)
	}
	return r, res, nil
}

// BenchmarkIPVSInVM measures, against the real IPVS of the VM it runs in
// (HACFG_IPVS=1, see BenchmarkIPVS), hacfg and ipvsadm on the same table:
// loading it from empty, planning with nothing to change, changing one
// real server's weight, and the peak memory of each, printing a table
// side by side.
func BenchmarkIPVSInVM(b *testing.B) {
	if os.Getenv("HACFG_IPVS") != "1" {
		b.Skip("needs a kernel with IPVS: set HACFG_IPVS=1 (BenchmarkIPVS does, in a VM)")
	}
	if _, err := os.Stat(ipvsadmPath); err != nil {
		b.Fatalf("ipvsadm missing in the VM: %v", err)
	}
	tbl, err := tableFromEnv()
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		m, err := measureIPVS(b.TempDir(), tbl)
		if err != nil {
			b.Fatal(err)
		}
		m.print(os.Stdout)
		m.report(b)
	}
}

// ipvsMeasures are the figures of one benchmark run.
type ipvsMeasures struct {
	tbl                    ipvsTable
	restore, save, edit    run
	apply, plan, change    run
	applyR, planR, changeR phaseResult
}

func measureIPVS(dir string, tbl ipvsTable) (*ipvsMeasures, error) {
	m := &ipvsMeasures{tbl: tbl}
	_, rulesPath, err := tbl.writeFiles(dir)
	if err != nil {
		return nil, err
	}
	fmt.Printf("table: %d virtual services × %d real servers (%d kernel objects)\n",
		tbl.services, tbl.reals, tbl.services*(1+tbl.reals))

	// Each tool loads into a fresh namespace (see benchNS), kept until the
	// end so that tearing one down does not run during the other's
	// measurements.
	nsA, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer nsA.close()
	nsB, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer nsB.close()

	// ipvsadm -R from empty.
	rules, err := os.Open(rulesPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(ipvsadmPath, "-R")
	cmd.Stdin = rules
	m.restore, err = nsA.measure(cmd)
	rules.Close()
	if err != nil {
		return nil, err
	}
	fmt.Printf("ipvsadm -R: %s\n", m.restore.wall.Round(time.Millisecond))
	var want []string
	m.save, want, err = ipvsadmTable(nsA)
	if err != nil {
		return nil, err
	}
	if n := tbl.services * (1 + tbl.reals); len(want) != n {
		return nil, fmt.Errorf("ipvsadm -R loaded %d objects, want %d", len(want), n)
	}

	// hacfg apply from empty, then the same table must be in the kernel.
	m.apply, m.applyR, err = child(nsB, dir, "apply", tbl)
	if err != nil {
		return nil, err
	}
	fmt.Printf("hacfg apply: %s %v\n", m.apply.wall.Round(time.Millisecond), m.applyR.Seconds)
	_, got, err := ipvsadmTable(nsB)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(want, got) {
		return nil, fmt.Errorf("hacfg apply loaded another table than ipvsadm -R (%d lines, want %d):\n%s",
			len(got), len(want), lineDiff(want, got, 10))
	}
	if m.plan, m.planR, err = child(nsB, dir, "plan", tbl); err != nil {
		return nil, err
	}
	fmt.Printf("hacfg plan: %s %v\n", m.plan.wall.Round(time.Millisecond), m.planR.Seconds)
	if m.change, m.changeR, err = child(nsB, dir, "change", tbl); err != nil {
		return nil, err
	}
	fmt.Printf("hacfg weight change: %s %v\n", m.change.wall.Round(time.Millisecond), m.changeR.Seconds)
	for _, run := range []string{"full", "scoped"} {
		if w := m.changeR.Counts[run+"_writes"]; w != 1 {
			return nil, fmt.Errorf("weight change (%s plan): %d kernel writes, want 1", run, w)
		}
	}

	// ipvsadm -e: the same weight change as one command.
	vsIdx, rsIdx, weight := tbl.changed()
	a, _ := tbl.real(vsIdx, rsIdx)
	if m.edit, err = ipvsadm(nsB, "-e", "-t", tbl.vip(vsIdx).String(), "-r", a.String(), "-g", "-w", fmt.Sprint(weight)); err != nil {
		return nil, err
	}
	return m, nil
}

func secs(r phaseResult, names ...string) time.Duration {
	var s float64
	for _, n := range names {
		s += r.Seconds[n]
	}
	return time.Duration(s * float64(time.Second))
}

// Phases open the kernel and the inventory while the config loads
// (load_open is the time of both).
func (m *ipvsMeasures) applyTime() time.Duration {
	return secs(m.applyR, "load_open", "plan", "apply")
}
func (m *ipvsMeasures) planTime() time.Duration {
	return secs(m.planR, "load_open", "plan")
}
func (m *ipvsMeasures) changeTime(run string) time.Duration {
	return secs(m.changeR, run+"_plan", run+"_apply")
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func ratio(a, b time.Duration) string { return fmt.Sprintf("%.2f×", a.Seconds()/b.Seconds()) }

func (m *ipvsMeasures) print(w io.Writer) {
	d := func(t time.Duration) string {
		if t < time.Second {
			return fmt.Sprintf("%.1f ms", t.Seconds()*1000)
		}
		return fmt.Sprintf("%.2f s", t.Seconds())
	}
	a, p, c := m.applyR, m.planR, m.changeR
	fmt.Fprintf(w, "\nIPVS benchmark: %d virtual services × %d real servers, %s, %d CPUs\n",
		m.tbl.services, m.tbl.reals, kernelRelease(), goruntime.NumCPU())
	fmt.Fprintf(w, "%-44s %14s %16s %8s  %s\n", "measure", "hacfg", "ipvsadm", "ratio", "goal")
	row := func(name, h, i, r, goal string) {
		fmt.Fprintf(w, "%-44s %14s %16s %8s  %s\n", name, h, i, r, goal)
	}
	row("1. load the table from empty", d(m.applyTime()), d(m.restore.wall), ratio(m.applyTime(), m.restore.wall), "≤ 0.50×")
	row("     config load + resolve (schema)", d(secs(a, "load", "resolve")), "", "", "")
	row("     config cache write", d(secs(a, "cache_put")), "", "", "")
	row("     kernel + inventory open (meanwhile)", d(secs(a, "open")), "", "", "")
	row("     plan (desired, observe, diff)", d(secs(a, "plan")), "", "", "")
	row("     apply (kernel writes, inventory)", d(secs(a, "apply")), "", "", "")
	row("     reconcile only (plan + apply)", d(secs(a, "plan", "apply")), d(m.restore.wall), ratio(secs(a, "plan", "apply"), m.restore.wall), "")
	row("     kernel writes", fmt.Sprint(a.Counts["writes"]), fmt.Sprint(m.tbl.services*(1+m.tbl.reals)), "", "")
	row("     verify (re-plan) / ipvsadm -S -n", d(secs(a, "verify")), d(m.save.wall), "", "")
	row("     process wall time", d(m.apply.wall), d(m.restore.wall), ratio(m.apply.wall, m.restore.wall), "")
	row("2. plan, nothing to change", d(m.planTime()), "", "", "< 1 s")
	how := "config load + resolve (schema)"
	if p.Counts["config_cached"] == 1 {
		how = "config read from the cache"
	}
	row("     "+how, d(secs(p, "load", "resolve", "cache_put")), "", "", "")
	row("       (load + resolve without the cache)", d(secs(p, "uncached_load")), "", "", "")
	row("     kernel + inventory open (meanwhile)", d(secs(p, "open")), "", "", "")
	row("     config and inventory, both", d(secs(p, "load_open")), "", "", "")
	row("     plan (desired, observe, diff)", d(secs(p, "plan")), d(m.save.wall), ratio(secs(p, "plan"), m.save.wall), "")
	row("     of which: kernel dump (ListAll)", d(secs(p, "listall")), d(m.save.wall), ratio(secs(p, "listall"), m.save.wall), "")
	row("       alone: desired state", d(secs(p, "desired")), "", "", "")
	row("3. weight change, full plan + apply", d(m.changeTime("full")), d(m.edit.wall), "", "< 20 ms")
	row("     kernel writes", fmt.Sprint(c.Counts["full_writes"]), "1", "", "1")
	row("   weight change, scoped plan + apply", d(m.changeTime("scoped")), d(m.edit.wall), "", "< 20 ms")
	row("     kernel writes", fmt.Sprint(c.Counts["scoped_writes"]), "1", "", "1")
	row("   of which one inventory save", d(secs(c, "inventory_save")), "", "", "")
	row("4. peak RSS, load from empty", mib(m.apply.maxRSS), mib(m.restore.maxRSS), fmt.Sprintf("%.2f×", float64(m.apply.maxRSS)/float64(m.restore.maxRSS)), "")
	row("     VmHWM (in process)", mib(a.VmHWMKiB), "", "", "")
	row("   peak RSS, plan / ipvsadm -S -n", mib(m.plan.maxRSS), mib(m.save.maxRSS), "", "")
	row("   peak RSS, weight change / ipvsadm -e", mib(m.change.maxRSS), mib(m.edit.maxRSS), "", "")
	fmt.Fprintln(w)
}

func (m *ipvsMeasures) report(b *testing.B) {
	b.ReportMetric(m.applyTime().Seconds(), "hacfg-load-s")
	b.ReportMetric(m.restore.wall.Seconds(), "ipvsadm-R-s")
	b.ReportMetric(m.applyTime().Seconds()/m.restore.wall.Seconds(), "load-ratio")
	b.ReportMetric(m.planTime().Seconds(), "plan-s")
	b.ReportMetric(m.changeTime("full").Seconds()*1000, "change-full-ms")
	b.ReportMetric(m.changeTime("scoped").Seconds()*1000, "change-scoped-ms")
	b.ReportMetric(float64(m.changeR.Counts["full_writes"]), "change-writes")
	b.ReportMetric(float64(m.apply.maxRSS)/1024, "hacfg-load-MiB")
	b.ReportMetric(float64(m.restore.maxRSS)/1024, "ipvsadm-R-MiB")
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "kernel ?"
	}
	return "Linux " + strings.TrimSpace(string(b))
}

// lineDiff lists up to max lines only in want (-) or only in got (+), both
// sorted.
func lineDiff(want, got []string, max int) string {
	var out []string
	i, j := 0, 0
	for (i < len(want) || j < len(got)) && len(out) < max {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			out = append(out, "- "+want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			out = append(out, "+ "+got[j])
			j++
		default:
			i++
			j++
		}
	}
	return strings.Join(out, "\n")
}

package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hacfg/hacfg/importer"
)

// writeBigKeepalivedConf writes a keepalived.conf with n virtual servers,
// each with four real servers checked by TCP_CHECK.
func writeBigKeepalivedConf(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "global_defs {\n    router_id BENCH\n}\n")
	for i := 0; i < n; i++ {
		// 5,000 services: 192.0.2.0/24 and 198.51.100.0/24 addresses on
		// many ports.
		vip := fmt.Sprintf("192.0.2.%d", 10+i%200)
		if i%2 == 1 {
			vip = fmt.Sprintf("198.51.100.%d", 10+i%200)
		}
		port := 1000 + i
		fmt.Fprintf(w, "virtual_server %s %d {\n    delay_loop 5\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n", vip, port)
		for r := 1; r <= 4; r++ {
			fmt.Fprintf(w, "    real_server 203.0.113.%d %d {\n        weight %d\n        TCP_CHECK {\n            connect_timeout 3\n            retry 2\n            delay_before_retry 2\n        }\n    }\n", r+4*(i%60), port, r)
		}
		fmt.Fprintf(w, "}\n")
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// peakHeap samples the live heap while f runs and returns its peak above
// the heap before f started.
func peakHeap(f func()) (peak uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		smp := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(smp)
			mu.Lock()
			if v := smp[0].Value.Uint64(); v > base && v-base > peak {
				peak = v - base
			}
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak
}

// BenchmarkImport5000 imports a keepalived.conf of 5,000 virtual servers ×
// 4 real servers with TCP_CHECK (20,000 checkers) and reports the time per
// import, the peak live heap, and — when keepalived is installed — how
// long "keepalived -t" takes to check the same file, with the ratio.
func BenchmarkImport5000(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	writeBigKeepalivedConf(b, path, 5000)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	var peak uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var diags int
		p := peakHeap(func() {
			cfg, _, d := importer.Import([]string{path}, importer.ImportOptions{})
			if d.HasErrors() || len(cfg.VirtualServers) != 5000 {
				b.Fatalf("import: %d virtual servers, %v", len(cfg.VirtualServers), d)
			}
			diags = len(d)
		})
		if diags != 0 {
			b.Fatalf("import: %d diagnostics", diags)
		}
		peak = max(peak, p)
	}
	b.StopTimer()
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")

	ka := "/usr/sbin/keepalived"
	if _, err := os.Stat(ka); err != nil {
		b.Logf("keepalived not installed; no comparison")
		return
	}
	start := time.Now()
	cmd := exec.Command(ka, "-t", "-f", path)
	out, err := cmd.CombinedOutput()
	kaTime := time.Since(start)
	if err != nil {
		b.Logf("keepalived -t: %v: %.200s", err, out)
	}
	var kaRSS int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		kaRSS = ru.Maxrss // KiB on Linux
	}
	b.ReportMetric(kaTime.Seconds()*1000, "keepalived-t-ms")
	b.ReportMetric(float64(kaRSS)/1024, "keepalived-maxrss-MB")
	b.ReportMetric(float64(perOp)/float64(kaTime), "x-keepalived-time")
	b.Logf("hacfg import %v/op (peak heap %.1f MB); keepalived -t %v (max RSS %.1f MB); ratio %.2f",
		perOp, float64(peak)/(1<<20), kaTime, float64(kaRSS)/1024, float64(perOp)/float64(kaTime))
}

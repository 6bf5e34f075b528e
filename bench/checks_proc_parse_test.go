package bench

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCkParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{name: "plain", stat: "1234 (keepalived) S 1 1234 1234 0 -1 4194560 163 0 0 0 250 37 0 0 20 0 1 0 1900 9113600 600 18446744073709551615",
			want: 2870 * time.Millisecond},
		{name: "space and parenthesis in the name", stat: "7 (a) b) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1 1",
			want: 70 * time.Millisecond},
		{name: "truncated", stat: "7 (x) R 1 7", wantErr: true},
		{name: "no name", stat: "7 x R", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ckParseStatCPU([]byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("cpu (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCkParseStatusKiB(t *testing.T) {
	status := "Name:\thacfg\nVmPeak:\t 1300000 kB\nVmHWM:\t   52344 kB\nVmRSS:\t   50000 kB\nThreads:\t9\n"
	tests := []struct {
		name    string
		field   string
		want    int64
		wantErr bool
	}{
		{name: "VmHWM", field: "VmHWM", want: 52344},
		{name: "VmRSS", field: "VmRSS", want: 50000},
		{name: "not kB", field: "Threads", wantErr: true},
		{name: "missing", field: "VmSwap", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ckParseStatusKiB([]byte(status), tt.field)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.field, diff)
			}
		})
	}
}

func TestCkParseRollup(t *testing.T) {
	// A real smaps_rollup, shortened.
	rollup := "00400000-7ffd3a1ff000 ---p 00000000 00:00 0                          [rollup]\n" +
		"Rss:               18912 kB\nPss:               18850 kB\nPss_Anon:           8610 kB\nPss_File:              4 kB\n" +
		"Pss_Shmem:         10236 kB\nShared_Clean:         64 kB\nAnonymous:          8612 kB\nSwap:                  0 kB\n"
	got, err := ckParseRollup([]byte(rollup))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ckRollup{rss: 18912, pss: 18850, anon: 8612}, got, cmp.AllowUnexported(ckRollup{})); diff != "" {
		t.Errorf("rollup (-want +got):\n%s", diff)
	}
	if _, err := ckParseRollup([]byte("Rss: 1 kB\nPss: 1 kB\n")); err == nil {
		t.Error("no Anonymous line: want an error")
	}
}

func TestCkPeakSamplerSelf(t *testing.T) {
	// The sampler reads this process's page tables: its peak covers at
	// least what is resident now.
	now, err := ckReadRollup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s := ckSamplePeak(os.Getpid())
	time.Sleep(3 * ckPeakEveryStartup)
	s.stop()
	if s.samples < 2 {
		t.Errorf("%d samples in %s, want at least 2", s.samples, 3*ckPeakEveryStartup)
	}
	if s.peak < now.rss/2 || s.main != s.peak {
		t.Errorf("peak %d KiB, main %d KiB; resident before %d KiB", s.peak, s.main, now.rss)
	}
}

package bench

import (
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

package vmtest

import (
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// section returns the lines between "BEGIN name" and "END name".
func section(out, name string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "BEGIN "+name:
			in = true
		case l == "END "+name:
			return lines
		case in:
			lines = append(lines, l)
		}
	}
	return nil
}

func TestIntegrationVMIPVSSmoke(t *testing.T) {
	RequireVM(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	start := time.Now()
	a, err := Prepare(ctx, Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("assets: %s, %s, %d modules (prepared in %s)", a.KernelPackage, a.BusyboxPackage, len(a.Modules), time.Since(start).Round(time.Millisecond))

	bin, err := BuildBinary(ctx, "./testdata/ipvssmoke", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Binary: bin, Stream: LogWriter(t)}
	// ipvsadm, when the host has it, reads the table back independently.
	if p, err := exec.LookPath("ipvsadm"); err == nil {
		files, err := HostBinaryFiles(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		opts.Files = files
		opts.Env = map[string]string{"IPVSADM": p}
	}
	res, err := a.Run(ctx, opts)
	if err != nil {
		if res != nil {
			t.Logf("output so far:\n%s", res.Output)
		}
		t.Fatal(err)
	}
	t.Logf("boot %s, run %s", res.Boot.Round(time.Millisecond), res.Duration.Round(time.Millisecond))
	if res.ExitCode != 0 {
		t.Fatalf("ipvssmoke exited %d", res.ExitCode)
	}
	want := []string{
		"-A -t 192.0.2.10:80 -s rr",
		"-a -t 192.0.2.10:80 -r 203.0.113.5:80 -m -w 1",
		"-a -t 192.0.2.10:80 -r 203.0.113.6:80 -m -w 2",
	}
	if diff := cmp.Diff(want, section(res.Output, "moby")); diff != "" {
		t.Errorf("moby/ipvs listing (-want +got):\n%s", diff)
	}
	if opts.Env["IPVSADM"] != "" {
		if diff := cmp.Diff(want, section(res.Output, "ipvsadm")); diff != "" {
			t.Errorf("ipvsadm -Sn (-want +got):\n%s", diff)
		}
	}
}

package vmtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestIntegrationVMRun checks what Run promises the binary: arguments and
// environment passed verbatim (quotes and all), extra files copied in, root,
// the working directory, lo up, IPVS loaded, and the exit status reported.
func TestIntegrationVMRun(t *testing.T) {
	RequireVM(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	a, err := Prepare(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := BuildBinary(ctx, "./testdata/probe", dir)
	if err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(dir, "extra.txt")
	if err := os.WriteFile(extra, []byte("it's here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(ctx, Options{
		Binary: bin,
		Args:   []string{"plain", "with space", `it's "quoted" $HOME`, ""},
		Env: map[string]string{
			"PROBE_QUOTED": `a'b"c $(x) \n`,
			"PROBE_FILES":  "/etc/extra/extra.txt",
			"PROBE_EXIT":   "3",
		},
		Files:  map[string]string{"/etc/extra/extra.txt": extra},
		Dir:    "/work/here",
		Stream: LogWriter(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 {
		t.Errorf("ExitCode = %d, want 3", res.ExitCode)
	}
	want := []string{
		`arg[0]="plain"`,
		`arg[1]="with space"`,
		`arg[2]="it's \"quoted\" $HOME"`,
		`arg[3]=""`,
		`env PROBE_QUOTED="a'b\"c $(x) \\n"`,
		`file /etc/extra/extra.txt="it's here\n"`,
		`uid=0 wd=/work/here`,
		`lo flags=0x9 err=<nil>`,
		`module ip_vs loaded`,
		`netns dir: true err=<nil>`,
		`modprobe ip_vs: "" err=<nil>`,
	}
	var got []string
	for _, l := range strings.Split(res.Output, "\n") {
		for _, p := range []string{"arg[", "env ", "file ", "uid=", "lo ", "module ", "netns ", "modprobe "} {
			if strings.HasPrefix(l, p) {
				got = append(got, l)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("probe output (-want +got):\n%s", diff)
	}
}

// TestIntegrationVMTimeout checks that a run that does not finish in time
// is killed and reported as such.
func TestIntegrationVMTimeout(t *testing.T) {
	RequireVM(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	a, err := Prepare(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := a.Run(ctx, Options{Binary: a.Busybox, Args: []string{"sleep", "600"}, Timeout: 3 * time.Second})
	if !errors.Is(err, ErrNoResult) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run error = %v, want ErrNoResult and context.DeadlineExceeded", err)
	}
	if res == nil {
		t.Fatal("Run returned no partial result")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Run took %s after a 3s timeout", d)
	}
}

// TestIntegrationVMSetupFailure checks that a VM that cannot load its
// modules says so instead of running the binary.
func TestIntegrationVMSetupFailure(t *testing.T) {
	RequireVM(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	a, err := Prepare(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	bogus := filepath.Join(t.TempDir(), "bogus.ko")
	if err := os.WriteFile(bogus, []byte("not an ELF file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := *a
	broken.Modules = append(slices.Clone(a.Modules), bogus)
	res, err := broken.Run(ctx, Options{Binary: a.Busybox, Args: []string{"echo", "binary ran"}})
	if err == nil || !strings.Contains(err.Error(), "setup failed: insmod") || !strings.Contains(err.Error(), "bogus.ko") {
		t.Fatalf("Run error = %v, want a setup failure naming bogus.ko", err)
	}
	if strings.Contains(res.Output, "binary ran") {
		t.Errorf("the binary ran despite the setup failure:\n%s", res.Output)
	}
}

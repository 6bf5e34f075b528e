package vmtest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"
)

// RunPackageTests builds the calling package's test binary statically, runs
// the tests matching pattern inside a throwaway VM with real IPVS (env
// HACFG_IPVS=1, which is what lets those tests run), streams the VM's output
// into t's log, and fails t when any of them fails, when the binary does not
// finish, or when none passed. It skips when already inside the VM, and
// skips (or fails, under HACFG_REQUIRE_ALL=1) when the host cannot run VMs.
func RunPackageTests(t *testing.T, pattern string) {
	t.Helper()
	if os.Getenv("HACFG_IPVS") == "1" {
		t.Skip("already inside the IPVS VM")
	}
	RequireVM(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	start := time.Now()
	assets, err := Prepare(ctx, Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := BuildTestBinary(ctx, ".", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel %s, test binary built in %s", assets.KernelPackage, time.Since(start).Round(time.Millisecond))

	env := map[string]string{"HACFG_IPVS": "1"}
	if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
		env["HACFG_REQUIRE_ALL"] = "1"
	}
	res, err := assets.Run(ctx, Options{
		Binary: bin,
		// -test.timeout below the VM's own, so a hung test dumps its
		// goroutines instead of being cut off silently.
		Args:    []string{"-test.run", pattern, "-test.v", "-test.count=1", "-test.timeout=3m"},
		Env:     env,
		Timeout: 4 * time.Minute,
		Stream:  LogWriter(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := ParseTestOutput(res.Output)
	t.Logf("VM boot %s, run %s; %d passed, %d failed, %d skipped",
		res.Boot.Round(time.Millisecond), res.Duration.Round(time.Millisecond),
		len(sum.Passed), len(sum.Failed), len(sum.Skipped))
	switch {
	case len(sum.Failed) > 0:
		t.Fatalf("tests failed in the VM: %v", sum.Failed)
	case res.ExitCode != 0 || sum.Result != "PASS":
		t.Fatalf("test binary in the VM exited %d (verdict %q); see the vm: lines above", res.ExitCode, sum.Result)
	case len(sum.Passed) == 0:
		t.Fatalf("no test matching %s passed in the VM (no tests: %v, skipped: %v)", pattern, sum.NoTests, sum.Skipped)
	}
	if len(sum.Skipped) > 0 {
		t.Logf("skipped in the VM: %v", sum.Skipped)
	}
}

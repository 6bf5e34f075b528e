package linux_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime/linux/vmtest"
)

// TestIntegrationVM runs this package's TestIntegrationIPVS… tests against
// real IPVS: it builds the package's test binary statically and runs it in a
// throwaway VM (see package vmtest) with HACFG_IPVS=1, which is what lets
// those tests run. It fails when any of them fails, when the binary does not
// finish, or when no IPVS test ran at all.
func TestIntegrationVM(t *testing.T) {
	if os.Getenv("HACFG_IPVS") == "1" {
		t.Skip("already inside the IPVS VM")
	}
	vmtest.RequireVM(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	start := time.Now()
	assets, err := vmtest.Prepare(ctx, vmtest.Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := vmtest.BuildTestBinary(ctx, ".", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel %s, test binary built in %s", assets.KernelPackage, time.Since(start).Round(time.Millisecond))

	env := map[string]string{"HACFG_IPVS": "1"}
	if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
		env["HACFG_REQUIRE_ALL"] = "1"
	}
	res, err := assets.Run(ctx, vmtest.Options{
		Binary: bin,
		// -test.timeout below the VM's own, so a hung test dumps its
		// goroutines instead of being cut off silently.
		Args:    []string{"-test.run", "^TestIntegrationIPVS", "-test.v", "-test.count=1", "-test.timeout=3m"},
		Env:     env,
		Timeout: 4 * time.Minute,
		Stream:  vmtest.LogWriter(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := vmtest.ParseTestOutput(res.Output)
	t.Logf("VM boot %s, run %s; %d passed, %d failed, %d skipped",
		res.Boot.Round(time.Millisecond), res.Duration.Round(time.Millisecond),
		len(sum.Passed), len(sum.Failed), len(sum.Skipped))
	switch {
	case len(sum.Failed) > 0:
		t.Fatalf("IPVS tests failed in the VM: %v", sum.Failed)
	case res.ExitCode != 0 || sum.Result != "PASS":
		t.Fatalf("test binary in the VM exited %d (verdict %q); see the vm: lines above", res.ExitCode, sum.Result)
	case len(sum.Passed) == 0:
		t.Fatalf("no TestIntegrationIPVS… test passed in the VM (no tests: %v, skipped: %v)", sum.NoTests, sum.Skipped)
	}
	if len(sum.Skipped) > 0 {
		t.Logf("skipped in the VM: %v", sum.Skipped)
	}
}

package vmtest_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/hacfg/hacfg/runtime/linux/vmtest"
)

// Run a package's IPVS tests against a real kernel, as
// runtime/linux's TestIntegrationVM does.
func Example() {
	ctx := context.Background()
	assets, err := vmtest.Prepare(ctx, vmtest.Config{})
	if err != nil {
		log.Fatal(err) // errors.Is(err, vmtest.ErrHostMissing): apt-get install qemu-system-x86
	}
	bin, err := vmtest.BuildTestBinary(ctx, "github.com/hacfg/hacfg/runtime/linux", os.TempDir())
	if err != nil {
		log.Fatal(err)
	}
	res, err := assets.Run(ctx, vmtest.Options{
		Binary: bin,
		Args:   []string{"-test.run", "^TestIntegrationIPVS", "-test.v"},
		Env:    map[string]string{"HACFG_IPVS": "1"},
		Stream: os.Stdout,
	})
	if err != nil {
		log.Fatal(err)
	}
	sum := vmtest.ParseTestOutput(res.Output)
	fmt.Printf("exit %d, %d passed, %d failed\n", res.ExitCode, len(sum.Passed), len(sum.Failed))
}

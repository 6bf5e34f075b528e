package bench

import (
	"context"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime/linux/vmtest"
)

// vmBench describes a benchmark whose body runs inside a VM with real
// IPVS: the host side builds this package's test binary, boots one VM per
// iteration and runs the in-VM benchmark there.
type vmBench struct {
	// inVM is the benchmark to run inside, e.g. "BenchmarkIPVSInVM".
	inVM string
	// passEnv are host variables handed to the VM when set.
	passEnv []string
	// kernelArgs are added to the VM kernel's command line.
	kernelArgs []string
	// memory is the VM's memory in MiB; timeout bounds the whole run.
	memory  int
	timeout time.Duration
	// files adds files to ship into the VM (guest path → host path) and
	// environment for them; it may build binaries into dir.
	files func(ctx context.Context, dir string) (files, env map[string]string, err error)
}

// run boots the VM and fails b unless the in-VM benchmark ran and passed.
func (v vmBench) run(b *testing.B) {
	b.Helper()
	if os.Getenv("HACFG_IPVS") == "1" {
		b.Skip("inside the VM: " + v.inVM + " runs here")
	}
	vmtest.RequireVM(b)
	ctx, cancel := context.WithTimeout(b.Context(), v.timeout+2*time.Minute)
	defer cancel()
	assets, err := vmtest.Prepare(ctx, vmtest.Config{})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	bin, err := vmtest.BuildTestBinary(ctx, ".", dir)
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"HACFG_IPVS": "1"}
	var files map[string]string
	if v.files != nil {
		var extra map[string]string
		if files, extra, err = v.files(ctx, dir); err != nil {
			b.Fatal(err)
		}
		for k, val := range extra {
			env[k] = val
		}
	}
	for _, k := range v.passEnv {
		if val := os.Getenv(k); val != "" {
			env[k] = val
		}
	}
	for range b.N {
		res, err := assets.Run(ctx, vmtest.Options{
			Binary:  bin,
			Args:    []string{"-test.run=^$", "-test.bench=^" + v.inVM + "$", "-test.benchtime=1x", "-test.timeout=" + v.timeout.String()},
			Env:     env,
			Files:   files,
			Memory:  v.memory,
			CPUs:    min(2, goruntime.NumCPU()),
			Timeout: v.timeout + time.Minute,
			Stream:  &prefixWriter{w: os.Stdout, prefix: "vm: "},

			KernelArgs: v.kernelArgs,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("VM boot %s, whole run %s", res.Boot.Round(time.Millisecond), res.Duration.Round(time.Millisecond))
		if err := benchVerdict(res.Output, res.ExitCode, v.inVM); err != nil {
			b.Fatal(err)
		}
	}
}

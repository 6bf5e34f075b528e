package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime/linux"
)

// thpHelperEnv makes the test binary, started by TestHugePagesOff, act as
// `hacfg run` starting: it records each start of its image in the file
// the variable names, calls hugePagesOff, and prints what it finds.
const thpHelperEnv = "HACFG_TEST_THP_HELPER"

func TestMain(m *testing.M) {
	if marker := os.Getenv(thpHelperEnv); marker != "" {
		os.Exit(thpHelper(marker))
	}
	os.Exit(m.Run())
}

func thpHelper(marker string) int {
	before, _ := os.ReadFile(marker)
	f, err := os.OpenFile(marker, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Fprintln(f, os.Getpid())
	f.Close()
	if len(before) == 0 {
		// A first start as on a fresh machine: huge pages on, whatever
		// the test process that started this one had set.
		if err := unix.Prctl(unix.PR_SET_THP_DISABLE, 0, 0, 0, 0); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	hugePagesOff()
	off, err := linux.HugePagesDisabled()
	fmt.Printf("off=%v err=%v\n", off, err)
	return 0
}

func TestHugePagesOff(t *testing.T) {
	for _, tt := range []struct {
		name   string
		env    string
		starts int
		off    bool
	}{
		{name: "run executes itself again with huge pages off", starts: 2, off: true},
		{name: "HACFG_HUGEPAGES=1 keeps them", env: "HACFG_HUGEPAGES=1", starts: 1, off: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "starts")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), thpHelperEnv+"="+marker, "HACFG_HUGEPAGES=")
			if tt.env != "" {
				cmd.Env = append(cmd.Env, tt.env)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if want := fmt.Sprintf("off=%v err=<nil>", tt.off); strings.TrimSpace(string(out)) != want {
				t.Errorf("helper printed %q, want %q", out, want)
			}
			b, err := os.ReadFile(marker)
			if err != nil {
				t.Fatal(err)
			}
			pids := strings.Fields(string(b))
			if len(pids) != tt.starts {
				t.Fatalf("the image started %d times (%v), want %d", len(pids), pids, tt.starts)
			}
			for _, p := range pids {
				// Executed again as the same process.
				if p != strconv.Itoa(cmd.Process.Pid) {
					t.Errorf("started as pid %s, the test started %d", p, cmd.Process.Pid)
				}
			}
		})
	}
}

func TestAgentMemProfileRate(t *testing.T) {
	old := goruntime.MemProfileRate
	t.Cleanup(func() { goruntime.MemProfileRate = old })
	goruntime.MemProfileRate = 512 * 1024
	t.Setenv("HACFG_MEMPROFILE", "/tmp/heap.txt")
	agentMemProfileRate()
	if goruntime.MemProfileRate != 512*1024 {
		t.Errorf("with HACFG_MEMPROFILE the rate is %d, want it kept", goruntime.MemProfileRate)
	}
	t.Setenv("HACFG_MEMPROFILE", "")
	agentMemProfileRate()
	if goruntime.MemProfileRate != 0 {
		t.Errorf("without HACFG_MEMPROFILE the rate is %d, want 0 (off)", goruntime.MemProfileRate)
	}
}

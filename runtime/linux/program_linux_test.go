package linux

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProgramMappings(t *testing.T) {
	smaps := `00400000-009cc000 r-xp 00000000 00:19 12 /usr/local/bin/hacfg
Size:               5936 kB
Rss:                4916 kB
Anonymous:             0 kB
009cc000-00f63000 r--p 005cc000 00:19 12 /usr/local/bin/hacfg
Rss:                5168 kB
Anonymous:             8 kB
00f63000-00fb8000 rw-p 00b63000 00:19 12 /usr/local/bin/hacfg
Rss:                 468 kB
Anonymous:           384 kB
00fb8000-03000000 rw-p 00000000 00:00 0
Rss:                 900 kB
Anonymous:           900 kB
7f0000000000-7f0000001000 r--p 00000000 00:19 13 /usr/local/bin/hacfg (deleted)
Rss:                   4 kB
Anonymous:             0 kB
`
	got, err := programMappings([]byte(smaps), "/usr/local/bin/hacfg")
	if err != nil {
		t.Fatal(err)
	}
	want := []programMapping{
		{start: 0x400000, end: 0x9cc000, rss: 4916 << 10},
		{start: 0x9cc000, end: 0xf63000, rss: 5168 << 10, anonymous: 8 << 10},
		{start: 0xf63000, end: 0xfb8000, writable: true, rss: 468 << 10, anonymous: 384 << 10},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(programMapping{})); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	if _, err := programMappings([]byte("zz-00 r-xp 0 0:0 1 /x\n"), "/x"); err == nil {
		t.Error("bad range: want an error")
	}
}

// programState is written before the release and read after it: a
// writable page of the program must survive.
var programState = []int{1, 2, 3}

func TestReleaseProgramPages(t *testing.T) {
	programState[1] = 42
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	resident := func() (ro int64) {
		t.Helper()
		b, err := os.ReadFile("/proc/self/smaps")
		if err != nil {
			t.Fatal(err)
		}
		ms, err := programMappings(b, exe)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if !m.writable {
				ro += m.rss
			}
		}
		return ro
	}
	before := resident()
	released, err := ReleaseProgramPages()
	if err != nil {
		t.Fatal(err)
	}
	after := resident()
	t.Logf("read-only program pages resident: %d KiB before, %d KiB after; released %d KiB", before>>10, after>>10, released>>10)
	if released <= 0 || released > before {
		t.Errorf("released %d bytes of %d resident", released, before)
	}
	// What runs between the release and the second look faults some
	// pages back; most of the program stays unmapped.
	if after > before/2 {
		t.Errorf("after the release %d KiB of the program's read-only pages are resident, before %d KiB", after>>10, before>>10)
	}
	if programState[0] != 1 || programState[1] != 42 || programState[2] != 3 {
		t.Errorf("program data changed by the release: %v", programState)
	}
}

func TestDisableHugePages(t *testing.T) {
	if err := DisableHugePages(); err != nil {
		t.Fatal(err)
	}
	on, err := HugePagesDisabled()
	if err != nil {
		t.Fatal(err)
	}
	if !on {
		t.Error("PR_GET_THP_DISABLE reports huge pages allowed after DisableHugePages")
	}
	// The programs the agent starts (scripts) inherit it.
	out, err := exec.Command("cat", "/proc/self/status").Output()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && name == "THP_enabled" && strings.TrimSpace(v) != "0" {
			t.Errorf("a child's THP_enabled is %q, want 0", strings.TrimSpace(v))
		}
	}
}

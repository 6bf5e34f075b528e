package track

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/script"
	"github.com/hacfg/hacfg/schema"
)

// TestSystemClockAndExec runs a real script on the real clock: the check
// fails while a flag file is missing.
func TestSystemClockAndExec(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "healthy")
	sc := &schema.VRRPScript{Name: "chk", Script: "test -e " + flag, Weight: ptr(-10),
		Interval: schema.Duration(50 * time.Millisecond), Timeout: schema.Duration(time.Second)}
	in := instance("VI_1", 100)
	in.TrackScript = []schema.TrackRef{{Name: "chk"}}
	cfg, err := schema.Resolve(&schema.Config{Scripts: []*schema.VRRPScript{sc}, Instances: []*schema.VRRPInstance{in}}, "")
	if err != nil {
		t.Fatal(err)
	}
	prio := make(chan int, 16)
	m, _, err := New(cfg, "VI_1", Deps{Clock: runtime.SystemClock{}, Runner: &script.Exec{}},
		Callbacks{OnPriority: func(p int) { prio <- p }})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	defer m.Stop()
	want := func(p int) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case got := <-prio:
				if got == p {
					return
				}
			case <-deadline:
				t.Fatalf("priority never became %d", p)
			}
		}
	}
	want(100)
	want(90)
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want(100)
}

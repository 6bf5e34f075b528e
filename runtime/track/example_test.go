package track_test

import (
	"fmt"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/runtime/script"
	"github.com/hacfg/hacfg/runtime/track"
	"github.com/hacfg/hacfg/schema"
)

// The agent wires OnPriority and OnFault to vrrp.Instance.SetPriority and
// SetFault, feeds link events, and starts tracking before the instance.
func ExampleNew() {
	minus20 := -20
	cfg, _ := schema.Resolve(&schema.Config{
		Scripts: []*schema.VRRPScript{{Name: "chk_haproxy", Script: "false", Weight: &minus20}},
		Instances: []*schema.VRRPInstance{{
			Name: "VI_1", Interface: "eth0", VirtualRouterID: 51, Priority: 150,
			TrackScript: []schema.TrackRef{{Name: "chk_haproxy"}},
		}},
	}, "")
	clock := fake.NewClock(time.Unix(0, 0))
	m, _, err := track.New(cfg, "VI_1", track.Deps{Clock: clock, Runner: script.NewExec(cfg.Global, nil)}, track.Callbacks{
		OnPriority: func(p int) { fmt.Println("priority", p) },
		OnFault:    func(f bool, reason string) { fmt.Printf("fault=%v reason=%q\n", f, reason) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Stop()
	m.LinkChanged(runtime.LinkEvent{Name: "eth0", Up: true})
	m.Start()
	clock.Advance(0) // the first run of chk_haproxy: it fails
	m.LinkChanged(runtime.LinkEvent{Name: "eth0", Up: false})
	// Output:
	// priority 150
	// fault=false reason=""
	// priority 130
	// fault=true reason="interface eth0 down"
}

package vrrp_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/runtime/vrrp"
)

// A Speaker runs instances over a runtime.VRRPConn (here the in-memory
// fake network; runtime/linux.DialVRRP in production) and publishes their
// transitions as facts.
func ExampleSpeaker() {
	clock := fake.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	network := fake.NewNetwork(clock)
	for _, node := range []struct {
		addr     string
		priority uint8
	}{{"192.0.2.1", 100}, {"192.0.2.2", 200}} {
		conn, err := network.Attach("lan", "eth0", netip.MustParseAddr(node.addr))
		if err != nil {
			panic(err)
		}
		sp := vrrp.NewSpeaker(conn, nil)
		conn.OnPacket(func(p runtime.VRRPPacket) { _ = sp.HandlePacket(p) })
		in, err := sp.Add(vrrp.Config{
			Name: "VI_1", Version: 3, VRID: 51, Priority: node.priority,
			AdvertInterval: time.Second,
			Addresses:      []netip.Addr{netip.MustParseAddr("192.0.2.100")},
		}, clock, func(t vrrp.Transition) {
			fmt.Printf("%s %s: %v -> %v (%s)\n", node.addr, t.Instance, t.From, t.To, t.Reason)
		})
		if err != nil {
			panic(err)
		}
		in.Start()
	}
	clock.Advance(10 * time.Second)
	// Output:
	// 192.0.2.1 VI_1: INIT -> BACKUP (startup)
	// 192.0.2.2 VI_1: INIT -> BACKUP (startup)
	// 192.0.2.2 VI_1: BACKUP -> MASTER (master down timer expired)
}

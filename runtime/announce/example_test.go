package announce_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hacfg/hacfg/runtime/announce"
	"github.com/hacfg/hacfg/runtime/fake"
)

// A takeover with keepalived's defaults: five announcements at once and
// five more five seconds later. Real agents pass runtime.SystemClock and a
// linux.Announcer.
func ExampleScheduler() {
	clock := fake.NewClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	rec := fake.NewAnnouncer(clock)
	s := announce.New(rec, clock, nil)
	defer s.Close()

	vips := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}
	settings := announce.DefaultSettings()
	settings.Repeat = 2 // keep the output short
	if err := s.Master("VI_1", "eth0", vips, nil, settings); err != nil {
		fmt.Println(err)
		return
	}
	clock.Advance(10 * time.Second)
	s.Stop("VI_1") // left the master state
	clock.Advance(time.Hour)
	for _, l := range rec.Lines() {
		fmt.Println(l)
	}
	// Output:
	// +0s eth0 192.0.2.10
	// +0s eth0 2001:db8::10
	// +0s eth0 192.0.2.10
	// +0s eth0 2001:db8::10
	// +5s eth0 192.0.2.10
	// +5s eth0 2001:db8::10
	// +5s eth0 192.0.2.10
	// +5s eth0 2001:db8::10
}

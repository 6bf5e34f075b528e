package fake_test

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
)

func TestAnnouncerRecords(t *testing.T) {
	clock := fake.NewClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	a := fake.NewAnnouncer(clock)
	vip4 := netip.MustParseAddr("192.0.2.10")
	vip6 := netip.MustParseAddr("2001:db8::10")
	vmac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x07}

	if err := a.Announce("eth0", []netip.Addr{vip4, vip6}, nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(1500 * time.Millisecond)
	if err := a.Announce("vrrp.7", []netip.Addr{vip4}, vmac); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"+0s eth0 192.0.2.10 2001:db8::10",
		"+1.5s vrrp.7 192.0.2.10 hw 00:00:5e:00:01:07",
	}
	if diff := cmp.Diff(want, a.Take()); diff != "" {
		t.Errorf("Take (-want +got):\n%s", diff)
	}
	if got := a.Take(); got != nil {
		t.Errorf("second Take = %q, want nil", got)
	}
	if diff := cmp.Diff(want, a.Lines()); diff != "" {
		t.Errorf("Lines (-want +got):\n%s", diff)
	}
	if got := a.Packets(); got != 3 {
		t.Errorf("Packets = %d, want 3", got)
	}
	// The recorded hardware address is a copy.
	vmac[5] = 0xff
	if got := a.Calls()[1].HW.String(); got != "00:00:5e:00:01:07" {
		t.Errorf("recorded hw = %s, want a copy of the caller's", got)
	}
}

func TestAnnouncerRejects(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.10")
	injected := errors.New("injected")
	tests := []struct {
		name  string
		iface string
		addrs []netip.Addr
		hw    net.HardwareAddr
		want  error
	}{
		{name: "no interface", iface: "", addrs: []netip.Addr{vip}, want: runtime.ErrNoDevice},
		{name: "zero address", iface: "eth0", addrs: []netip.Addr{{}}, want: runtime.ErrInvalid},
		{name: "unspecified", iface: "eth0", addrs: []netip.Addr{netip.MustParseAddr("::")}, want: runtime.ErrInvalid},
		{name: "multicast", iface: "eth0", addrs: []netip.Addr{netip.MustParseAddr("224.0.0.18")}, want: runtime.ErrInvalid},
		{name: "short hw", iface: "eth0", addrs: []netip.Addr{vip}, hw: net.HardwareAddr{1, 2}, want: runtime.ErrInvalid},
		{name: "injected", iface: "bad0", addrs: []netip.Addr{vip}, want: injected},
		{name: "fine", iface: "eth0", addrs: []netip.Addr{vip}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := fake.NewAnnouncer(nil)
			a.AnnounceFailOn("bad0", injected)
			err := a.Announce(tt.iface, tt.addrs, tt.hw)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Announce = %v, want %v", err, tt.want)
			}
			wantCalls := 0
			if tt.want == nil {
				wantCalls = 1
			}
			if got := len(a.Calls()); got != wantCalls {
				t.Errorf("recorded %d calls, want %d", got, wantCalls)
			}
		})
	}
}

func TestAnnouncerFailOnClears(t *testing.T) {
	a := fake.NewAnnouncer(nil)
	vip := []netip.Addr{netip.MustParseAddr("192.0.2.10")}
	a.AnnounceFailOn("eth0", runtime.ErrNoDevice)
	if err := a.Announce("eth0", vip, nil); !errors.Is(err, runtime.ErrNoDevice) {
		t.Fatalf("Announce = %v, want ErrNoDevice", err)
	}
	a.AnnounceFailOn("eth0", nil)
	if err := a.Announce("eth0", vip, nil); err != nil {
		t.Fatalf("Announce after clearing = %v", err)
	}
	if diff := cmp.Diff([]string{"+0s eth0 192.0.2.10"}, a.Lines()); diff != "" {
		t.Errorf("Lines (-want +got):\n%s", diff)
	}
}

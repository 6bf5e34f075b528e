package vrrp_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/runtime/vrrp"
)

func TestSpeaker(t *testing.T) {
	clock := fake.NewClock(epoch)
	network := fake.NewNetwork(clock)
	a, err := network.Attach("lan", "eth0", netip.MustParseAddr("192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	sp := vrrp.NewSpeaker(a, nil)
	cfg := labConfig(100)
	in, err := sp.Add(cfg, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := in.Config().Source, a.LocalAddr(); got != want {
		t.Errorf("Source = %v, want the conn's %v", got, want)
	}
	if _, err := sp.Add(cfg, clock, nil); err == nil {
		t.Error("second Add with the same VRID succeeded, want an error")
	}
	bad := cfg
	bad.VRID, bad.AdvertInterval = 52, 5*time.Millisecond
	if _, err := sp.Add(bad, clock, nil); err == nil {
		t.Error("Add with a 5ms interval succeeded, want an error")
	}
	group := netip.MustParseAddr(runtime.VRRPGroupV4)
	src := netip.MustParseAddr("192.0.2.2")
	other := vrrp.Advertisement{Version: 3, VRID: 99, Priority: 100, AdverInt: time.Second}
	payload, err := other.Marshal(src, group)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.HandlePacket(runtime.VRRPPacket{Src: src, Dst: group, TTL: 255, Payload: payload}); !errors.Is(err, vrrp.ErrVRID) {
		t.Errorf("HandlePacket for an unknown VRID = %v, want ErrVRID", err)
	}
	if err := sp.HandlePacket(runtime.VRRPPacket{Src: src, Dst: group, TTL: 255, Payload: []byte{0x31}}); !errors.Is(err, vrrp.ErrLength) {
		t.Errorf("HandlePacket of 1 byte = %v, want ErrLength", err)
	}
	if diff := cmp.Diff(map[vrrp.DropReason]uint64{vrrp.ErrVRID: 1, vrrp.ErrLength: 1}, sp.Drops()); diff != "" {
		t.Errorf("speaker drops (-want +got):\n%s", diff)
	}

	// Run dispatches queued packets until the conn is closed.
	in.Start()
	b, err := network.Attach("lan", "eth0", src)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- sp.Run() }()
	good := vrrp.Advertisement{Version: 3, VRID: cfg.VRID, Priority: 200, AdverInt: time.Second, Addresses: cfg.Addresses}
	payload, err = good.Marshal(src, group)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Send(group, payload); err != nil {
		t.Fatal(err)
	}
	clock.Advance(0)
	deadline := time.Now().Add(5 * time.Second)
	for in.Stats().AdvertsReceived == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
	if got := in.Master(); got != src {
		t.Errorf("Master = %v, want %v", got, src)
	}
	sp.Remove(cfg.VRID)
	if got := in.State(); got != vrrp.StateInit {
		t.Errorf("state after Remove = %v, want INIT", got)
	}
}

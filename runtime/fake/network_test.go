package fake

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
)

func TestNetwork(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := NewClock(start)
	n := NewNetwork(clock)
	a4 := netip.MustParseAddr("192.0.2.1")
	b4 := netip.MustParseAddr("192.0.2.2")
	c4 := netip.MustParseAddr("192.0.2.3")
	d4 := netip.MustParseAddr("192.0.2.4") // other segment
	b6 := netip.MustParseAddr("fe80::2")
	group := netip.MustParseAddr(runtime.VRRPGroupV4)
	var got []string
	attach := func(seg string, addr netip.Addr) *NetConn {
		c, err := n.Attach(seg, "eth0", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.OnPacket(func(p runtime.VRRPPacket) {
			got = append(got, fmt.Sprintf("%v %v<-%v to %v ttl %d %q", clock.Now().Sub(start), addr, p.Src, p.Dst, p.TTL, p.Payload))
		})
		return c
	}
	a, b, _, _, _ := attach("lan", a4), attach("lan", b4), attach("lan", c4), attach("other", d4), attach("lan", b6)
	if _, err := n.Attach("lan", "eth1", a4); !errors.Is(err, runtime.ErrExist) {
		t.Errorf("duplicate Attach error = %v, want ErrExist", err)
	}
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"multicast reaches the segment's other IPv4 nodes", func() { a.Send(group, []byte("m1")) },
			[]string{`0s 192.0.2.2<-192.0.2.1 to 224.0.0.18 ttl 255 "m1"`, `0s 192.0.2.3<-192.0.2.1 to 224.0.0.18 ttl 255 "m1"`}},
		{"unicast reaches one node", func() { a.Send(c4, []byte("u1")) },
			[]string{`0s 192.0.2.3<-192.0.2.1 to 192.0.2.3 ttl 255 "u1"`}},
		{"partitioned sender", func() { n.Partition(a4, true); a.Send(group, []byte("m2")) }, nil},
		{"partitioned receiver", func() { b.Send(group, []byte("m3")) },
			[]string{`0s 192.0.2.3<-192.0.2.2 to 224.0.0.18 ttl 255 "m3"`}},
		{"healed", func() { n.Partition(a4, false); b.Send(a4, []byte("u2")) },
			[]string{`0s 192.0.2.1<-192.0.2.2 to 192.0.2.1 ttl 255 "u2"`}},
		{"delay", func() { n.SetDelay(5 * time.Millisecond); b.Send(a4, []byte("u3")) },
			[]string{`5ms 192.0.2.1<-192.0.2.2 to 192.0.2.1 ttl 255 "u3"`}},
		{"filter drops and rewrites", func() {
			n.SetDelay(0)
			n.SetFilter(func(p *runtime.VRRPPacket) bool {
				if p.Interface == "eth0" && p.Dst == group && string(p.Payload) == "drop" {
					return false
				}
				p.TTL = 64
				return true
			})
			a.Send(group, []byte("drop"))
			a.Send(b4, []byte("u4"))
		}, []string{`0s 192.0.2.2<-192.0.2.1 to 192.0.2.2 ttl 64 "u4"`}},
		{"inject", func() {
			n.SetFilter(nil)
			n.Inject("other", runtime.VRRPPacket{Src: c4, Dst: group, TTL: 1, Payload: []byte("x")})
		}, []string{`0s 192.0.2.4<-192.0.2.3 to 224.0.0.18 ttl 1 "x"`}},
	}
	for _, s := range steps {
		got = nil
		start = clock.Now()
		s.do()
		clock.Advance(10 * time.Millisecond)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: delivered (-want +got):\n%s", s.name, diff)
		}
	}
	if got := len(n.Log()); got != 8 {
		t.Errorf("len(Log()) = %d, want 8 sent packets", got)
	}
}

func TestNetConnReceiveAndClose(t *testing.T) {
	clock := NewClock(time.Unix(0, 0))
	n := NewNetwork(clock)
	a, err := n.Attach("lan", "eth0", netip.MustParseAddr("2001:db8::1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Attach("lan", "eth0", netip.MustParseAddr("2001:db8::2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Send(netip.MustParseAddr(runtime.VRRPGroupV4), []byte("x")); err == nil {
		t.Error("Send of IPv4 from an IPv6 conn succeeded, want an error")
	}
	if err := a.Send(netip.MustParseAddr(runtime.VRRPGroupV6), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(0)
	pkt, err := b.Receive()
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.VRRPPacket{Src: a.LocalAddr(), Dst: netip.MustParseAddr("ff02::12"), TTL: 255, Interface: "eth0", Payload: []byte("hello")}
	if diff := cmp.Diff(want, pkt, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
		t.Errorf("Receive (-want +got):\n%s", diff)
	}
	done := make(chan error)
	go func() {
		_, err := b.Receive()
		done <- err
	}()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Receive after Close = %v, want net.ErrClosed", err)
	}
	if err := b.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want net.ErrClosed", err)
	}
	if err := b.Send(a.LocalAddr(), nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close = %v, want net.ErrClosed", err)
	}
}

//go:build linux

package linux

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/announce"
)

var (
	announceTestVIP4    = netip.MustParseAddr("192.0.2.100")
	announceTestVIP6    = netip.MustParseAddr("2001:db8::100")
	announceTestStale   = "02:00:00:00:00:99"
	announceTestVMAC4   = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x07}
	announceTestVMAC6   = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x02, 0x07}
	announceTestTimeout = 3 * time.Second
)

// announceTestRequireRoot skips t unless root (fails with
// HACFG_REQUIRE_ALL=1).
func announceTestRequireRoot(t *testing.T) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "needs root for network namespaces"
	} else if _, err := exec.LookPath("ip"); err != nil {
		reason = fmt.Sprintf("needs ip: %v", err)
	}
	if reason == "" {
		return
	}
	if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
		t.Fatalf("HACFG_REQUIRE_ALL=1 but test %s", reason)
	}
	t.Skip(reason)
}

func announceTestRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// announceTestVeth (re)creates the veth pair ana (in a, holding
// 192.0.2.1/24, 2001:db8::1/64 and the VIPs) and anb (in b, 192.0.2.2/24,
// 2001:db8::2/64).
func announceTestVeth(t *testing.T, a, b string) {
	t.Helper()
	announceTestRun(t, "ip", "link", "add", "ana", "netns", a, "type", "veth", "peer", "name", "anb", "netns", b)
	for _, c := range [][]string{
		{"-n", a, "addr", "add", "192.0.2.1/24", "dev", "ana"},
		{"-n", a, "addr", "add", "2001:db8::1/64", "dev", "ana", "nodad"},
		{"-n", a, "addr", "add", announceTestVIP4.String() + "/32", "dev", "ana"},
		{"-n", a, "addr", "add", announceTestVIP6.String() + "/128", "dev", "ana", "nodad"},
		{"-n", b, "addr", "add", "192.0.2.2/24", "dev", "anb"},
		{"-n", b, "addr", "add", "2001:db8::2/64", "dev", "anb", "nodad"},
		{"-n", a, "link", "set", "ana", "up"},
		{"-n", b, "link", "set", "anb", "up"},
	} {
		announceTestRun(t, append([]string{"ip"}, c...)...)
	}
	// ARP updates within locktime (1s) of the last one are ignored.
	announceTestRun(t, "ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv4.neigh.anb.locktime=0")
	// IPv6 takes a veth into use only when the kernel's link watcher has
	// seen the carrier (up to a second later); until then it has no
	// multicast route and drops neighbour advertisements as unroutable.
	// The link-local address shows that moment.
	for _, x := range []struct{ ns, dev string }{{a, "ana"}, {b, "anb"}} {
		for i := 0; ; i++ {
			out, _ := exec.Command("ip", "-n", x.ns, "-6", "addr", "show", "dev", x.dev, "scope", "link").Output()
			if strings.Contains(string(out), "fe80::") {
				break
			}
			if i == 50 {
				t.Fatalf("no IPv6 link-local address on %s in %s:\n%s", x.dev, x.ns, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// announceTestPair creates namespaces a and b (named after tag, unique per
// test) joined by announceTestVeth, deleted when t ends.
func announceTestPair(t *testing.T, tag string) (a, b string) {
	t.Helper()
	a = fmt.Sprintf("hacfg-ann%s-%d-a", tag, os.Getpid())
	b = fmt.Sprintf("hacfg-ann%s-%d-b", tag, os.Getpid())
	for _, ns := range []string{a, b} {
		announceTestRun(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		announceTestRun(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	announceTestVeth(t, a, b)
	return a, b
}

// announceTestMAC returns the MAC address of dev in namespace ns.
func announceTestMAC(t *testing.T, ns, dev string) net.HardwareAddr {
	t.Helper()
	var mac net.HardwareAddr
	err := announceInNetNS("/run/netns/"+ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

// announceTestSeed makes b's neighbour entries for the VIPs point at a
// stale, wrong MAC, as after a takeover.
func announceTestSeed(t *testing.T, b string) {
	t.Helper()
	for _, vip := range []netip.Addr{announceTestVIP4, announceTestVIP6} {
		announceTestRun(t, "ip", "-n", b, "neigh", "replace", vip.String(), "lladdr", announceTestStale, "dev", "anb", "nud", "stale")
	}
}

// announceTestWaitNeigh waits until b's neighbour entry for vip has mac.
func announceTestWaitNeigh(t *testing.T, b string, vip netip.Addr, mac net.HardwareAddr) {
	t.Helper()
	deadline := time.Now().Add(announceTestTimeout)
	for {
		out := announceTestRun(t, "ip", "-n", b, "neigh", "show", vip.String(), "dev", "anb")
		if strings.Contains(out, "lladdr "+mac.String()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("neighbour entry for %s in %s: %q, want lladdr %s", vip, b, strings.TrimSpace(out), mac)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// announceTestCapture opens a packet socket on dev in ns that sees every
// frame, closed when t ends.
func announceTestCapture(t *testing.T, ns, dev string) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	err := announceInNetNS("/run/netns/"+ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// announceTestFrame is what the test checks of a captured announcement.
type announceTestFrame struct {
	ethSrc, ethDst string
	// ARP
	op       arp.Operation
	sha, tha string
	spa, tpa netip.Addr
	// NA
	src, dst         netip.Addr
	hopLimit         int
	router, override bool
	solicited        bool
	target           netip.Addr
	tlla             string
}

// announceTestNext returns the next ARP or neighbour advertisement frame
// captured on c that concerns vip.
func announceTestNext(t *testing.T, c *packet.Conn, vip netip.Addr) announceTestFrame {
	t.Helper()
	f, err := announceTestRead(c, vip, announceTestTimeout)
	if err != nil {
		t.Fatalf("no announcement for %s captured: %v", vip, err)
	}
	return f
}

// announceTestRead returns the next ARP or neighbour advertisement frame
// captured on c within d that concerns vip (any address if vip is zero).
func announceTestRead(c *packet.Conn, vip netip.Addr, d time.Duration) (announceTestFrame, error) {
	f, _, err := announceTestReadAt(c, vip, d)
	return f, err
}

// announceTestReadAt is announceTestRead that also returns when the
// kernel received the frame: a time that does not depend on when the
// test got round to reading it.
func announceTestReadAt(c *packet.Conn, vip netip.Addr, d time.Duration) (announceTestFrame, time.Time, error) {
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return announceTestFrame{}, time.Time{}, err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return announceTestFrame{}, time.Time{}, err
	}
	buf := make([]byte, 2048)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return announceTestFrame{}, time.Time{}, err
		}
		var at time.Time
		var serr error
		if cerr := rc.Control(func(fd uintptr) {
			var ts unix.Timespec
			if _, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, unix.SIOCGSTAMPNS, uintptr(unsafe.Pointer(&ts))); errno != 0 {
				serr = fmt.Errorf("SIOCGSTAMPNS: %w", errno)
			}
			at = time.Unix(ts.Unix())
		}); cerr != nil || serr != nil {
			return announceTestFrame{}, time.Time{}, errors.Join(cerr, serr)
		}
		var f ethernet.Frame
		if err := f.UnmarshalBinary(buf[:n]); err != nil {
			continue
		}
		got := announceTestFrame{ethSrc: f.Source.String(), ethDst: f.Destination.String()}
		switch f.EtherType {
		case ethernet.EtherTypeARP:
			var p arp.Packet
			if err := p.UnmarshalBinary(f.Payload); err != nil || (vip.IsValid() && p.SenderIP != vip) {
				continue
			}
			got.op, got.sha, got.tha = p.Operation, p.SenderHardwareAddr.String(), p.TargetHardwareAddr.String()
			got.spa, got.tpa = p.SenderIP, p.TargetIP
			return got, at, nil
		case ethernet.EtherTypeIPv6:
			h, err := ipv6.ParseHeader(f.Payload)
			if err != nil || h.NextHeader != unix.IPPROTO_ICMPV6 || len(f.Payload) < ipv6.HeaderLen+h.PayloadLen {
				continue
			}
			m, err := icmp.ParseMessage(unix.IPPROTO_ICMPV6, f.Payload[ipv6.HeaderLen:ipv6.HeaderLen+h.PayloadLen])
			if err != nil || m.Type != ipv6.ICMPTypeNeighborAdvertisement {
				continue
			}
			body, ok := m.Body.(*icmp.RawBody)
			if !ok || len(body.Data) < 28 {
				continue
			}
			d := body.Data
			target, _ := netip.AddrFromSlice(d[4:20])
			if vip.IsValid() && target != vip {
				continue
			}
			got.src, _ = netip.AddrFromSlice(h.Src)
			got.dst, _ = netip.AddrFromSlice(h.Dst)
			got.hopLimit = h.HopLimit
			got.router, got.solicited, got.override = d[0]&0x80 != 0, d[0]&0x40 != 0, d[0]&0x20 != 0
			got.target = target
			if d[20] == 2 && d[21] == 1 {
				got.tlla = net.HardwareAddr(d[22:28]).String()
			}
			return got, at, nil
		}
	}
}

func TestIntegrationAnnounce(t *testing.T) {
	announceTestRequireRoot(t)
	a, b := announceTestPair(t, "")
	ann, err := OpenAnnouncer("/run/netns/"+a, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ann.Close() })
	mac := announceTestMAC(t, a, "ana")
	both := []netip.Addr{announceTestVIP4, announceTestVIP6}

	t.Run("interface MAC updates the peer's stale entries", func(t *testing.T) {
		announceTestSeed(t, b)
		capture := announceTestCapture(t, b, "anb")
		if err := ann.Announce("ana", both, nil); err != nil {
			t.Fatal(err)
		}
		announceTestWaitNeigh(t, b, announceTestVIP4, mac)
		announceTestWaitNeigh(t, b, announceTestVIP6, mac)

		wantARP := announceTestFrame{
			ethSrc: mac.String(), ethDst: "ff:ff:ff:ff:ff:ff",
			op: arp.OperationRequest, sha: mac.String(), tha: "ff:ff:ff:ff:ff:ff",
			spa: announceTestVIP4, tpa: announceTestVIP4,
		}
		if got := announceTestNext(t, capture, announceTestVIP4); got != wantARP {
			t.Errorf("gratuitous ARP\n got %+v\nwant %+v", got, wantARP)
		}
		wantNA := announceTestFrame{
			ethSrc: mac.String(), ethDst: "33:33:00:00:00:01",
			src: announceTestVIP6, dst: netip.MustParseAddr("ff02::1"), hopLimit: 255,
			override: true, target: announceTestVIP6, tlla: mac.String(),
		}
		if got := announceTestNext(t, capture, announceTestVIP6); got != wantNA {
			t.Errorf("neighbour advertisement\n got %+v\nwant %+v", got, wantNA)
		}
	})

	t.Run("vmac", func(t *testing.T) {
		announceTestSeed(t, b)
		capture := announceTestCapture(t, b, "anb")
		if err := ann.Announce("ana", []netip.Addr{announceTestVIP4}, announceTestVMAC4); err != nil {
			t.Fatal(err)
		}
		if err := ann.Announce("ana", []netip.Addr{announceTestVIP6}, announceTestVMAC6); err != nil {
			t.Fatal(err)
		}
		announceTestWaitNeigh(t, b, announceTestVIP4, announceTestVMAC4)
		announceTestWaitNeigh(t, b, announceTestVIP6, announceTestVMAC6)
		// Switches learn the virtual MAC from the frames' source.
		if got := announceTestNext(t, capture, announceTestVIP4); got.ethSrc != announceTestVMAC4.String() || got.sha != announceTestVMAC4.String() {
			t.Errorf("gratuitous ARP from Ethernet %s, sender %s; want %s", got.ethSrc, got.sha, announceTestVMAC4)
		}
		if got := announceTestNext(t, capture, announceTestVIP6); got.ethSrc != announceTestVMAC6.String() || got.tlla != announceTestVMAC6.String() {
			t.Errorf("neighbour advertisement from Ethernet %s, target link-layer address %s; want %s", got.ethSrc, got.tlla, announceTestVMAC6)
		}
	})

	t.Run("router flag when the interface forwards IPv6", func(t *testing.T) {
		announceTestRun(t, "ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv6.conf.ana.forwarding=1")
		t.Cleanup(func() {
			_ = exec.Command("ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv6.conf.ana.forwarding=0").Run()
		})
		capture := announceTestCapture(t, b, "anb")
		if err := ann.Announce("ana", []netip.Addr{announceTestVIP6}, nil); err != nil {
			t.Fatal(err)
		}
		if got := announceTestNext(t, capture, announceTestVIP6); !got.router || !got.override || got.solicited {
			t.Errorf("flags router %v override %v solicited %v, want true true false", got.router, got.override, got.solicited)
		}
	})

	t.Run("errors", func(t *testing.T) {
		if err := ann.Announce("nosuch0", both, nil); !errors.Is(err, runtime.ErrNoDevice) {
			t.Errorf("missing interface: %v, want ErrNoDevice", err)
		}
		err := ann.Announce("ana", []netip.Addr{{}, netip.MustParseAddr("ff02::1")}, nil)
		if !errors.Is(err, runtime.ErrInvalid) || !strings.Contains(err.Error(), "ff02::1") || !strings.Contains(err.Error(), "invalid IP") {
			t.Errorf("bad addresses: %v, want ErrInvalid naming both", err)
		}
		if err := ann.Announce("ana", both, net.HardwareAddr{1, 2, 3}); !errors.Is(err, runtime.ErrInvalid) {
			t.Errorf("short hardware address: %v, want ErrInvalid", err)
		}
		if err := ann.Announce("lo", both, nil); !errors.Is(err, runtime.ErrUnsupported) {
			t.Errorf("loopback: %v, want ErrUnsupported", err)
		}
		announceTestRun(t, "ip", "-n", a, "link", "add", "and0", "type", "veth", "peer", "name", "and1")
		announceTestRun(t, "ip", "-n", a, "link", "set", "and0", "arp", "off", "up")
		announceTestRun(t, "ip", "-n", a, "link", "set", "and1", "up")
		noarp := announceTestCapture(t, a, "and1")
		if err := ann.Announce("and0", []netip.Addr{announceTestVIP4}, nil); err != nil {
			t.Errorf("NOARP interface: %v, want nil (nothing sent)", err)
		}
		if f, err := announceTestRead(noarp, announceTestVIP4, 300*time.Millisecond); err == nil {
			t.Errorf("NOARP interface sent %+v", f)
		}
		announceTestRun(t, "ip", "-n", a, "link", "set", "ana", "down")
		err = ann.Announce("ana", both, nil)
		announceTestRun(t, "ip", "-n", a, "link", "set", "ana", "up")
		if !errors.Is(err, runtime.ErrUnreachable) {
			t.Errorf("interface down: %v, want ErrUnreachable", err)
		}
	})

	t.Run("interface recreated", func(t *testing.T) {
		announceTestRun(t, "ip", "-n", a, "link", "del", "ana")
		announceTestVeth(t, a, b)
		mac := announceTestMAC(t, a, "ana")
		announceTestSeed(t, b)
		if err := ann.Announce("ana", both, nil); err != nil {
			t.Fatal(err)
		}
		announceTestWaitNeigh(t, b, announceTestVIP4, mac)
		announceTestWaitNeigh(t, b, announceTestVIP6, mac)
	})

	t.Run("closed", func(t *testing.T) {
		ann.Close()
		if err := ann.Announce("ana", both, nil); !errors.Is(err, net.ErrClosed) {
			t.Errorf("after Close: %v, want net.ErrClosed", err)
		}
	})
}

// TestIntegrationAnnounceSchedule runs the scheduler on the real clock and
// the real Announcer: a takeover's first set arrives at once, the second
// after garp_master_delay, paced by garp_interval, and nothing after Stop.
func TestIntegrationAnnounceSchedule(t *testing.T) {
	announceTestRequireRoot(t)
	a, b := announceTestPair(t, "s")
	ann, err := OpenAnnouncer("/run/netns/"+a, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ann.Close() })
	s := announce.New(ann, runtime.SystemClock{}, nil)
	t.Cleanup(func() { s.Close() })
	capture := announceTestCapture(t, b, "anb")

	const delay, interval = 300 * time.Millisecond, 20 * time.Millisecond
	begin := time.Now()
	err = s.Master("VI_1", "ana", []netip.Addr{announceTestVIP4, announceTestVIP6}, nil, announce.Settings{
		Repeat: 2, Delay: delay, ARPInterval: interval,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Master returned after %v (first use opens the sockets)", time.Since(begin))
	var arps, nas []time.Duration
	var arpAt []time.Time // when the kernel received each ARP
	for len(arps)+len(nas) < 8 {
		f, at, err := announceTestReadAt(capture, netip.Addr{}, time.Second)
		if err != nil {
			t.Fatalf("after %d ARPs and %d NAs: %v", len(arps), len(nas), err)
		}
		switch {
		case f.spa == announceTestVIP4:
			arps = append(arps, time.Since(begin))
			arpAt = append(arpAt, at)
		case f.target == announceTestVIP6:
			nas = append(nas, time.Since(begin))
		}
	}
	s.Stop("VI_1")
	t.Logf("ARPs at %v, NAs at %v", arps, nas)
	// Two at once (the second paced), two after the delay. Timers never
	// fire early; late they may be on a loaded machine.
	const slack = 250 * time.Millisecond
	for i, want := range []time.Duration{0, interval, delay, delay + interval} {
		if arps[i] > want+slack {
			t.Errorf("ARP %d at %v, want about %v", i, arps[i], want)
		}
	}
	// The spacing is measured on the kernel's receive times: when the
	// test read a frame depends on the scheduler of a loaded machine.
	t.Logf("ARP gaps at the receiving kernel: %v, %v", arpAt[1].Sub(arpAt[0]), arpAt[3].Sub(arpAt[2]))
	if d := arpAt[1].Sub(arpAt[0]); d < interval {
		t.Errorf("ARPs 0 and 1 %v apart, want at least garp_interval %v", d, interval)
	}
	if d := arpAt[3].Sub(arpAt[2]); d < interval {
		t.Errorf("ARPs 2 and 3 %v apart, want at least garp_interval %v", d, interval)
	}
	for i, want := range []time.Duration{0, 0, delay, delay} {
		if nas[i] > want+slack || (want > 0 && nas[i] < want) {
			t.Errorf("NA %d at %v, want about %v", i, nas[i], want)
		}
	}
	if arps[2] < delay {
		t.Errorf("second set at %v, before garp_master_delay %v", arps[2], delay)
	}
	for _, vip := range []netip.Addr{announceTestVIP4, announceTestVIP6} {
		if f, err := announceTestRead(capture, vip, delay); err == nil {
			t.Errorf("announcement after Stop: %+v", f)
		}
	}
}

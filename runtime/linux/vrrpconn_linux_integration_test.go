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

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/vrrp"
)

// vrrpTestRequireRoot skips t unless root (fails with HACFG_REQUIRE_ALL=1).
func vrrpTestRequireRoot(t *testing.T, tools ...string) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "needs root for network namespaces"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil && reason == "" {
			reason = fmt.Sprintf("needs %s: %v", tool, err)
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
		t.Fatalf("HACFG_REQUIRE_ALL=1 but test %s", reason)
	}
	t.Skip(reason)
}

func vrrpTestRun(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// vrrpTestPair creates two namespaces joined by a veth pair (va in the
// first, vb in the second) with 192.0.2.1/24 + 2001:db8::1/64 and
// 192.0.2.2/24 + 2001:db8::2/64, and deletes them when t ends. It returns
// the namespace names.
func vrrpTestPair(t *testing.T) (string, string) {
	t.Helper()
	a := fmt.Sprintf("hacfg-vrrp-%d-a", os.Getpid())
	b := fmt.Sprintf("hacfg-vrrp-%d-b", os.Getpid())
	for _, ns := range []string{a, b} {
		vrrpTestRun(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		// Link-local addresses must be usable at once as VRRPv3 sources.
		vrrpTestRun(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0")
		vrrpTestRun(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	vrrpTestRun(t, "ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb", "netns", b)
	for i, x := range []struct{ ns, dev string }{{a, "va"}, {b, "vb"}} {
		vrrpTestRun(t, "ip", "-n", x.ns, "addr", "add", fmt.Sprintf("192.0.2.%d/24", i+1), "dev", x.dev)
		vrrpTestRun(t, "ip", "-n", x.ns, "addr", "add", fmt.Sprintf("2001:db8::%d/64", i+1), "dev", x.dev, "nodad")
		vrrpTestRun(t, "ip", "-n", x.ns, "link", "set", x.dev, "up")
	}
	// Wait for the kernel to add the link-local addresses.
	for _, x := range []struct{ ns, dev string }{{a, "va"}, {b, "vb"}} {
		for i := 0; ; i++ {
			out, _ := exec.Command("ip", "-n", x.ns, "-6", "addr", "show", "dev", x.dev, "scope", "link").Output()
			if strings.Contains(string(out), "fe80::") && !strings.Contains(string(out), "tentative") {
				break
			}
			if i == 50 {
				t.Fatalf("no IPv6 link-local address on %s in %s:\n%s", x.dev, x.ns, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return a, b
}

func vrrpTestDial(t *testing.T, ns, dev string, f runtime.Family, src netip.Addr) *VRRPConn {
	t.Helper()
	c, err := DialVRRP(VRRPConnConfig{Interface: dev, Family: f, Source: src, NetNS: "/run/netns/" + ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type vrrpTestRecv struct {
	pkt runtime.VRRPPacket
	err error
}

// vrrpTestReceive receives one packet or fails after 5s (closing c).
func vrrpTestReceive(t *testing.T, c *VRRPConn) runtime.VRRPPacket {
	t.Helper()
	ch := make(chan vrrpTestRecv, 1)
	go func() {
		pkt, err := c.Receive()
		ch <- vrrpTestRecv{pkt, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.pkt
	case <-time.After(5 * time.Second):
		c.Close()
		t.Fatal("no VRRP packet within 5s")
	}
	return runtime.VRRPPacket{}
}

func TestIntegrationVRRPConnPair(t *testing.T) {
	vrrpTestRequireRoot(t, "ip")
	nsA, nsB := vrrpTestPair(t)
	tests := []struct {
		name    string
		family  runtime.Family
		version uint8
		vip     string
		unicast bool
	}{
		{"v2 ipv4 multicast", runtime.FamilyV4, 2, "192.0.2.100", false},
		{"v3 ipv4 multicast", runtime.FamilyV4, 3, "192.0.2.100", false},
		{"v3 ipv4 unicast", runtime.FamilyV4, 3, "192.0.2.100", true},
		{"v3 ipv6 multicast", runtime.FamilyV6, 3, "2001:db8::100", false},
		{"v3 ipv6 unicast", runtime.FamilyV6, 3, "2001:db8::100", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srcA, srcB netip.Addr // defaults: primary IPv4 / link-local
			if tt.unicast {
				if tt.family == runtime.FamilyV4 {
					srcA, srcB = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
				} else {
					srcA, srcB = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
				}
			}
			a := vrrpTestDial(t, nsA, "va", tt.family, srcA)
			b := vrrpTestDial(t, nsB, "vb", tt.family, srcB)
			if tt.family == runtime.FamilyV6 && !tt.unicast && !a.LocalAddr().IsLinkLocalUnicast() {
				t.Errorf("default IPv6 source %v is not link-local", a.LocalAddr())
			}
			dst := runtime.VRRPGroup(tt.family)
			if tt.unicast {
				dst = b.LocalAddr()
			}
			interval := time.Second
			if tt.version == 3 {
				interval = 100 * time.Millisecond
			}
			adv := vrrp.Advertisement{Version: tt.version, VRID: 7, Priority: 150, AdverInt: interval,
				Addresses: []netip.Addr{netip.MustParseAddr(tt.vip)}}
			payload, err := adv.Marshal(a.LocalAddr(), dst)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Send(dst, payload); err != nil {
				t.Fatal(err)
			}
			pkt := vrrpTestReceive(t, b)
			if pkt.Src != a.LocalAddr() || pkt.Dst != dst || pkt.TTL != 255 || pkt.Interface != "vb" {
				t.Errorf("received src %v dst %v ttl %d on %q; want src %v dst %v ttl 255 on vb",
					pkt.Src, pkt.Dst, pkt.TTL, pkt.Interface, a.LocalAddr(), dst)
			}
			got, err := vrrp.Unmarshal(pkt.Payload, pkt.Src, pkt.Dst)
			if err != nil {
				t.Fatalf("decode received advert: %v", err)
			}
			if got.VRID != 7 || got.Priority != 150 || got.AdverInt != interval {
				t.Errorf("received %+v", got)
			}
		})
	}
	t.Run("receive after close", func(t *testing.T) {
		c := vrrpTestDial(t, nsB, "vb", runtime.FamilyV4, netip.Addr{})
		ch := make(chan error, 1)
		go func() {
			_, err := c.Receive()
			ch <- err
		}()
		time.Sleep(50 * time.Millisecond)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-ch:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("Receive after Close = %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Receive did not return after Close")
		}
	})
}

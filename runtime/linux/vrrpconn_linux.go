package linux

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	goruntime "runtime"
	"sync"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

// vrrpTOS is the IPv4 TOS / IPv6 traffic class keepalived sends with
// (0xc0, network control).
const vrrpTOS = 0xc0

// VRRPConnConfig says where to open a VRRP transport.
type VRRPConnConfig struct {
	// Interface is the interface to send and receive on.
	Interface string
	// Family is runtime.FamilyV4 or runtime.FamilyV6.
	Family runtime.Family
	// Source is the source address of sent advertisements (keepalived's
	// unicast_src_ip). Zero means the interface's first IPv4 address, or its
	// IPv6 link-local address (RFC 5798 §5.1.2.1).
	Source netip.Addr
	// NetNS is the path of a network namespace to open the socket in
	// (/run/netns/NAME); empty means the caller's.
	NetNS string
}

// VRRPConn is a runtime.VRRPConn on a raw IP socket for protocol 112,
// bound to one interface, joined to 224.0.0.18 or ff02::12, sending with
// TTL/hop limit 255 (RFC 5798 §5.1.1.3, §5.1.2.3) and multicast loopback
// off.
type VRRPConn struct {
	ifi    *net.Interface
	src    netip.Addr
	family runtime.Family
	raw    net.PacketConn
	p4     *ipv4.PacketConn
	p6     *ipv6.PacketConn

	closeOnce sync.Once
	closeErr  error
}

var _ runtime.VRRPConn = (*VRRPConn)(nil)

// DialVRRP opens a VRRP transport.
//
// Equivalent to: a raw socket(AF_INET[6], SOCK_RAW, 112) with
// SO_BINDTODEVICE, IP_ADD_MEMBERSHIP 224.0.0.18 (IPV6_JOIN_GROUP ff02::12),
// IP_MULTICAST_TTL/IP_TTL 255 (IPV6_MULTICAST_HOPS/IPV6_UNICAST_HOPS 255),
// as keepalived opens its VRRP sockets.
func DialVRRP(cfg VRRPConnConfig) (*VRRPConn, error) {
	if cfg.Family != runtime.FamilyV4 && cfg.Family != runtime.FamilyV6 {
		return nil, fmt.Errorf("vrrp: open on %s: family %v: want inet or inet6", cfg.Interface, cfg.Family)
	}
	if cfg.NetNS == "" {
		return dialVRRP(cfg)
	}
	// Sockets stay in the namespace they were created in: switch this
	// thread to the target namespace for the setup only.
	var (
		c   *VRRPConn
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		goruntime.LockOSThread()
		orig, gerr := netns.Get()
		if gerr != nil {
			err = fmt.Errorf("vrrp: open on %s: current netns: %w", cfg.Interface, gerr)
			goruntime.UnlockOSThread()
			return
		}
		defer orig.Close()
		target, gerr := netns.GetFromPath(cfg.NetNS)
		if gerr != nil {
			err = fmt.Errorf("vrrp: open on %s: netns %s: %w", cfg.Interface, cfg.NetNS, gerr)
			goruntime.UnlockOSThread()
			return
		}
		defer target.Close()
		if serr := netns.Set(target); serr != nil {
			err = fmt.Errorf("vrrp: open on %s: enter netns %s: %w", cfg.Interface, cfg.NetNS, serr)
			goruntime.UnlockOSThread()
			return
		}
		c, err = dialVRRP(cfg)
		if serr := netns.Set(orig); serr != nil {
			// Leave the thread locked: it exits with this goroutine
			// instead of serving others from the wrong namespace.
			return
		}
		goruntime.UnlockOSThread()
	}()
	<-done
	return c, err
}

func dialVRRP(cfg VRRPConnConfig) (*VRRPConn, error) {
	fail := func(op string, err error) error {
		return fmt.Errorf("vrrp: open %v on %s: %s: %w", cfg.Family, cfg.Interface, op, err)
	}
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fail("find interface", err)
	}
	src := cfg.Source
	if !src.IsValid() {
		if src, err = vrrpDefaultSource(ifi, cfg.Family); err != nil {
			return nil, fail("choose source address", err)
		}
	}
	if runtime.FamilyOf(src) != cfg.Family {
		return nil, fail("source address", fmt.Errorf("%v is not %v", src, cfg.Family))
	}
	network, laddr := "ip4:112", "0.0.0.0"
	if cfg.Family == runtime.FamilyV6 {
		network, laddr = "ip6:112", "::"
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
		}); err != nil {
			return err
		}
		return serr
	}}
	raw, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		return nil, fail("listen", err)
	}
	c := &VRRPConn{ifi: ifi, src: src, family: cfg.Family, raw: raw}
	if err := c.setup(); err != nil {
		raw.Close()
		return nil, fail("set socket options", err)
	}
	return c, nil
}

func (c *VRRPConn) setup() error {
	group := runtime.VRRPGroup(c.family)
	if c.family == runtime.FamilyV4 {
		p := ipv4.NewPacketConn(c.raw)
		c.p4 = p
		return errors.Join(
			p.SetTTL(255),
			p.SetMulticastTTL(255),
			p.SetTOS(vrrpTOS),
			p.SetMulticastLoopback(false),
			p.SetMulticastInterface(c.ifi),
			p.JoinGroup(c.ifi, &net.IPAddr{IP: group.AsSlice()}),
			p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true),
		)
	}
	p := ipv6.NewPacketConn(c.raw)
	c.p6 = p
	return errors.Join(
		p.SetHopLimit(255),
		p.SetMulticastHopLimit(255),
		p.SetTrafficClass(vrrpTOS),
		p.SetMulticastLoopback(false),
		p.SetMulticastInterface(c.ifi),
		p.JoinGroup(c.ifi, &net.IPAddr{IP: group.AsSlice()}),
		p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true),
	)
}

// vrrpDefaultSource picks the interface's first IPv4 address, or its IPv6
// link-local address.
func vrrpDefaultSource(ifi *net.Interface, f runtime.Family) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if f == runtime.FamilyV4 && ip.Is4() {
			return ip, nil
		}
		if f == runtime.FamilyV6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no %v address on %s", f, ifi.Name)
}

// Send implements runtime.VRRPConn.
func (c *VRRPConn) Send(dst netip.Addr, payload []byte) error {
	var err error
	if c.p4 != nil {
		cm := &ipv4.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index}
		_, err = c.p4.WriteTo(payload, cm, &net.IPAddr{IP: dst.AsSlice()})
	} else {
		cm := &ipv6.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index, HopLimit: 255, TrafficClass: vrrpTOS}
		to := &net.IPAddr{IP: dst.AsSlice()}
		if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() {
			to.Zone = c.ifi.Name
		}
		_, err = c.p6.WriteTo(payload, cm, to)
	}
	if err != nil {
		return fmt.Errorf("vrrp: send to %v on %s: %w", dst, c.ifi.Name, err)
	}
	return nil
}

// Receive implements runtime.VRRPConn.
func (c *VRRPConn) Receive() (runtime.VRRPPacket, error) {
	buf := make([]byte, 9000)
	for {
		var (
			n       int
			src     net.Addr
			err     error
			ttl     int
			dst     net.IP
			ifindex int
		)
		if c.p4 != nil {
			var cm *ipv4.ControlMessage
			n, cm, src, err = c.p4.ReadFrom(buf)
			if cm != nil {
				ttl, dst, ifindex = cm.TTL, cm.Dst, cm.IfIndex
			}
		} else {
			var cm *ipv6.ControlMessage
			n, cm, src, err = c.p6.ReadFrom(buf)
			if cm != nil {
				ttl, dst, ifindex = cm.HopLimit, cm.Dst, cm.IfIndex
			}
		}
		if err != nil {
			return runtime.VRRPPacket{}, fmt.Errorf("vrrp: receive on %s: %w", c.ifi.Name, err)
		}
		if ifindex != 0 && ifindex != c.ifi.Index {
			continue
		}
		ipa, ok := src.(*net.IPAddr)
		if !ok {
			continue
		}
		s, ok := netip.AddrFromSlice(ipa.IP)
		if !ok {
			continue
		}
		d, _ := netip.AddrFromSlice(dst)
		return runtime.VRRPPacket{
			Src:       s.Unmap(),
			Dst:       d.Unmap(),
			TTL:       ttl,
			Interface: c.ifi.Name,
			Payload:   append([]byte(nil), buf[:n]...),
		}, nil
	}
}

// LocalAddr implements runtime.VRRPConn.
func (c *VRRPConn) LocalAddr() netip.Addr { return c.src }

// Close implements runtime.VRRPConn.
func (c *VRRPConn) Close() error {
	c.closeOnce.Do(func() {
		if err := c.raw.Close(); err != nil {
			c.closeErr = fmt.Errorf("vrrp: close on %s: %w", c.ifi.Name, err)
		}
	})
	return c.closeErr
}

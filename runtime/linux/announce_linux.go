package linux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	goruntime "runtime"
	"sync"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

// Announcer is runtime.Announcer on packet sockets (AF_PACKET, SOCK_RAW)
// in one network namespace. It writes whole Ethernet frames, so that the
// frames' source address is the announced hardware address: the virtual
// MAC with use_vmac, as switches must learn it. Sockets are opened per
// interface on first use, kept, and reopened when the interface's index
// changes (the interface was recreated). It is safe for concurrent use.
type Announcer struct {
	log   *slog.Logger
	netns string
	nl    *netlink.Handle

	mu     sync.Mutex
	links  map[string]*announceLink
	closed bool
}

var _ runtime.Announcer = (*Announcer)(nil)

// announceLink holds the send-only sockets of one interface.
type announceLink struct {
	index int
	arp   *packet.Conn // bound to ETH_P_ARP
	ip6   *packet.Conn // bound to ETH_P_IPV6
	fwd   *os.File     // net.ipv6.conf.IFACE.forwarding of the namespace, or nil
}

func (l *announceLink) close() {
	l.arp.Close()
	l.ip6.Close()
	if l.fwd != nil {
		l.fwd.Close()
	}
}

// OpenAnnouncer returns an Announcer for the network namespace at
// netnsPath (for example /run/netns/lb1), or the current one when
// netnsPath is empty. Sending needs CAP_NET_RAW.
func OpenAnnouncer(netnsPath string, log *slog.Logger) (*Announcer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns := netns.None()
	if netnsPath != "" {
		var err error
		ns, err = netns.GetFromPath(netnsPath)
		if err != nil {
			return nil, fmt.Errorf("announce: open network namespace %s: %w", netnsPath, err)
		}
		defer ns.Close()
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, wrap("announce: netlink: open", err)
	}
	return &Announcer{log: log, netns: netnsPath, nl: h, links: make(map[string]*announceLink)}, nil
}

// Close closes the sockets.
func (a *Announcer) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	for name, l := range a.links {
		l.close()
		delete(a.links, name)
	}
	a.nl.Close()
	return nil
}

// Announce implements runtime.Announcer.
//
// Equivalent to, per IPv4 address: arping -U -c 1 -I IFACE [-s] VIP
// (a broadcast ARP request with sender and target VIP, target hardware
// address ff:ff:ff:ff:ff:ff, as keepalived sends); per IPv6 address: an
// ICMPv6 neighbour advertisement from VIP to ff02::1 with hop limit 255,
// flags override (and router when IFACE forwards IPv6), target VIP and
// the target link-layer address option, in an Ethernet frame to
// 33:33:00:00:00:01 (as keepalived's ndisc_send_unsolicited_na).
//
// On an interface with the NOARP flag no ARP is sent, like keepalived.
func (a *Announcer) Announce(iface string, addrs []netip.Addr, hw net.HardwareAddr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("announce on %s: %w", iface, net.ErrClosed)
	}
	link, err := a.nl.LinkByName(iface)
	if err != nil {
		return wrap("announce: find interface "+iface, err)
	}
	attrs := link.Attrs()
	if len(attrs.HardwareAddr) != 6 {
		return fmt.Errorf("announce on %s: not an Ethernet interface (hardware address %q): %w", iface, attrs.HardwareAddr, runtime.ErrUnsupported)
	}
	if hw == nil {
		hw = attrs.HardwareAddr
	}
	if len(hw) != 6 {
		return fmt.Errorf("announce on %s: hardware address %v: want 6 bytes: %w", iface, hw, runtime.ErrInvalid)
	}
	l, err := a.linkLocked(iface, attrs.Index)
	if err != nil {
		return err
	}
	noARP := attrs.RawFlags&unix.IFF_NOARP != 0
	var errs []error
	for _, ad := range addrs {
		var err error
		switch {
		case !ad.IsValid() || ad.IsUnspecified() || ad.IsMulticast() || ad.Is4In6():
			err = fmt.Errorf("announce on %s: address %v: %w", iface, ad, runtime.ErrInvalid)
		case ad.Is4() && noARP:
			a.log.Debug("announce: interface has NOARP, no gratuitous ARP", "interface", iface, "address", ad)
		case ad.Is4():
			err = wrap(fmt.Sprintf("announce: gratuitous arp %v on %s", ad, iface), sendGARP(l.arp, ad, hw))
		default:
			err = wrap(fmt.Sprintf("announce: neighbour advertisement %v on %s", ad, iface), sendNA(l.ip6, ad, hw, l.forwarding()))
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		if errors.Is(err, unix.ENXIO) || errors.Is(err, unix.ENODEV) {
			// The interface went away under the sockets.
			l.close()
			delete(a.links, iface)
		}
		return err
	}
	return nil
}

// linkLocked returns the sockets of iface, opening them (again) when
// missing or bound to another index.
func (a *Announcer) linkLocked(iface string, index int) (*announceLink, error) {
	if l := a.links[iface]; l != nil {
		if l.index == index {
			return l, nil
		}
		l.close()
		delete(a.links, iface)
	}
	var l *announceLink
	err := announceInNetNS(a.netns, func() error {
		var err error
		l, err = openAnnounceLink(iface, index)
		return err
	})
	if err != nil {
		return nil, wrap("announce: open packet sockets on "+iface, err)
	}
	a.links[iface] = l
	return l, nil
}

func openAnnounceLink(iface string, index int) (*announceLink, error) {
	// The sockets only send: a filter that accepts nothing keeps them from
	// queueing the traffic they are bound to.
	dropAll, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		return nil, err
	}
	ifi := &net.Interface{Index: index, Name: iface}
	cfg := &packet.Config{Filter: dropAll}
	ac, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, cfg)
	if err != nil {
		return nil, err
	}
	ic, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_IPV6, cfg)
	if err != nil {
		ac.Close()
		return nil, err
	}
	l := &announceLink{index: index, arp: ac, ip6: ic}
	// Opened here, the file keeps reading this namespace's value.
	if f, err := os.Open("/proc/sys/net/ipv6/conf/" + iface + "/forwarding"); err == nil {
		l.fwd = f
	}
	return l, nil
}

// forwarding reports whether the interface forwards IPv6, which makes its
// neighbour advertisements carry the router flag (RFC 4861 §4.4), as
// keepalived checks on becoming master.
func (l *announceLink) forwarding() bool {
	if l.fwd == nil {
		return false
	}
	b := make([]byte, 8)
	n, _ := l.fwd.ReadAt(b, 0)
	return n > 0 && b[0] != '0'
}

// announceInNetNS runs f on a thread in the network namespace at path
// ("" for the current one). Sockets keep the namespace they were created
// in.
func announceInNetNS(path string, f func() error) error {
	if path == "" {
		return f()
	}
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		goruntime.LockOSThread()
		orig, gerr := netns.Get()
		if gerr != nil {
			goruntime.UnlockOSThread()
			err = fmt.Errorf("current netns: %w", gerr)
			return
		}
		defer orig.Close()
		target, gerr := netns.GetFromPath(path)
		if gerr != nil {
			goruntime.UnlockOSThread()
			err = fmt.Errorf("netns %s: %w", path, gerr)
			return
		}
		defer target.Close()
		if serr := netns.Set(target); serr != nil {
			goruntime.UnlockOSThread()
			err = fmt.Errorf("enter netns %s: %w", path, serr)
			return
		}
		err = f()
		if serr := netns.Set(orig); serr != nil {
			// Leave the thread locked: it dies with this goroutine
			// instead of serving others from the wrong namespace.
			return
		}
		goruntime.UnlockOSThread()
	}()
	<-done
	return err
}

// sendGARP sends a gratuitous ARP request for vip from hw.
func sendGARP(c *packet.Conn, vip netip.Addr, hw net.HardwareAddr) error {
	p, err := arp.NewPacket(arp.OperationRequest, hw, vip, ethernet.Broadcast, vip)
	if err != nil {
		return err
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	f := &ethernet.Frame{Destination: ethernet.Broadcast, Source: hw, EtherType: ethernet.EtherTypeARP, Payload: pb}
	fb, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = c.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast})
	return err
}

// allNodes is ff02::1 and its Ethernet multicast address (RFC 2464 §7).
var (
	allNodes    = netip.MustParseAddr("ff02::1")
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}
)

// naFrame builds the Ethernet frame of an unsolicited neighbour
// advertisement for vip from hw (RFC 4861 §4.4, §7.2.6).
func naFrame(vip netip.Addr, hw net.HardwareAddr, router bool) ([]byte, error) {
	// Flags, target address, target link-layer address option.
	body := make([]byte, 4+16+8)
	const (
		flagRouter   = 0x80
		flagOverride = 0x20
	)
	body[0] = flagOverride
	if router {
		body[0] |= flagRouter
	}
	t := vip.As16()
	copy(body[4:20], t[:])
	body[20] = 2 // option: target link-layer address
	body[21] = 1 // length in units of 8 bytes
	copy(body[22:28], hw)
	m := icmp.Message{Type: ipv6.ICMPTypeNeighborAdvertisement, Body: &icmp.RawBody{Data: body}}
	src, dst := vip.AsSlice(), allNodes.AsSlice()
	mb, err := m.Marshal(icmp.IPv6PseudoHeader(src, dst))
	if err != nil {
		return nil, err
	}
	ip := make([]byte, ipv6.HeaderLen, ipv6.HeaderLen+len(mb))
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(mb)))
	ip[6] = unix.IPPROTO_ICMPV6
	ip[7] = 255 // hop limit (RFC 4861 §7.1.2)
	copy(ip[8:24], src)
	copy(ip[24:40], dst)
	f := &ethernet.Frame{Destination: allNodesMAC, Source: hw, EtherType: ethernet.EtherTypeIPv6, Payload: append(ip, mb...)}
	return f.MarshalBinary()
}

// sendNA sends an unsolicited neighbour advertisement for vip from hw.
func sendNA(c *packet.Conn, vip netip.Addr, hw net.HardwareAddr, router bool) error {
	fb, err := naFrame(vip, hw, router)
	if err != nil {
		return err
	}
	_, err = c.WriteTo(fb, &packet.Addr{HardwareAddr: allNodesMAC})
	return err
}

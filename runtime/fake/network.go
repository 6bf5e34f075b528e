package fake

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/hacfg/hacfg/runtime"
)

// Network is an in-memory network of VRRPConns for multi-node VRRP tests
// in one process. Each conn is attached to a named segment (think: a
// bridge or VLAN) with one address. A message sent to the VRRP group
// reaches every other conn of the same family on the segment; one sent to a
// unicast address reaches the conn with that address on the segment.
// Delivery goes through the injected Clock (after Delay, default 0), never
// synchronously inside Send, so a node that answers a packet cannot
// re-enter its sender.
//
// Tests can cut a node off (Partition), drop or rewrite packets (Filter),
// inject arbitrary packets (Inject) and read what was sent (Log).
type Network struct {
	clock runtime.Clock

	mu          sync.Mutex
	conns       []*NetConn
	partitioned map[netip.Addr]bool
	delay       time.Duration
	filter      func(*runtime.VRRPPacket) bool
	log         []runtime.VRRPPacket
}

// NewNetwork returns an empty network delivering through clock.
func NewNetwork(clock runtime.Clock) *Network {
	return &Network{clock: clock, partitioned: make(map[netip.Addr]bool)}
}

// Attach adds a conn with address addr on segment. An address may be
// attached once per segment.
func (n *Network) Attach(segment, ifname string, addr netip.Addr) (*NetConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		if c.segment == segment && c.addr == addr && !c.closed {
			return nil, fmt.Errorf("fake network: attach %v to %s: %w", addr, segment, runtime.ErrExist)
		}
	}
	c := &NetConn{net: n, segment: segment, ifname: ifname, addr: addr, queue: make(chan runtime.VRRPPacket, 1024), done: make(chan struct{})}
	n.conns = append(n.conns, c)
	return c, nil
}

// Partition cuts the node with address addr off every segment (cut=true),
// or reconnects it: it neither sends nor receives while cut off.
func (n *Network) Partition(addr netip.Addr, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.partitioned[addr] = cut
}

// SetDelay sets the one-way delivery delay of every packet sent from now on.
func (n *Network) SetDelay(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.delay = d
}

// SetFilter installs f, called for each packet about to be delivered to
// each receiver (pkt.Dst is the original destination, pkt.Interface the
// receiver's). f may rewrite the packet (TTL, payload); returning false
// drops it. nil removes the filter.
func (n *Network) SetFilter(f func(pkt *runtime.VRRPPacket) bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.filter = f
}

// Inject delivers pkt on segment as if some node had sent it, without
// going through Send (so with any source and TTL).
func (n *Network) Inject(segment string, pkt runtime.VRRPPacket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.routeLocked(segment, nil, pkt)
}

// Log returns every packet sent through Send, in order, with the TTL the
// sender used.
func (n *Network) Log() []runtime.VRRPPacket {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.log)
}

// ResetLog forgets the packets sent so far.
func (n *Network) ResetLog() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.log = nil
}

func (n *Network) send(from *NetConn, dst netip.Addr, payload []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if from.closed {
		return fmt.Errorf("fake network: send from %v: %w", from.addr, net.ErrClosed)
	}
	if dst.Is4() != from.addr.Is4() {
		return fmt.Errorf("fake network: send from %v to %v: address families differ", from.addr, dst)
	}
	pkt := runtime.VRRPPacket{Src: from.addr, Dst: dst, TTL: 255, Payload: slices.Clone(payload)}
	n.log = append(n.log, pkt)
	if n.partitioned[from.addr] {
		return nil // the wire is cut: sending succeeds, nothing arrives
	}
	n.routeLocked(from.segment, from, pkt)
	return nil
}

// routeLocked schedules delivery of pkt to every receiver on segment.
func (n *Network) routeLocked(segment string, from *NetConn, pkt runtime.VRRPPacket) {
	group := runtime.VRRPGroup(runtime.FamilyOf(pkt.Dst))
	for _, c := range n.conns {
		if c == from || c.closed || c.segment != segment || c.addr.Is4() != pkt.Dst.Is4() {
			continue
		}
		if pkt.Dst != group && pkt.Dst != c.addr {
			continue
		}
		p := pkt
		p.Interface = c.ifname
		p.Payload = slices.Clone(pkt.Payload)
		n.clock.AfterFunc(n.delay, func() { n.deliver(c, p) })
	}
}

func (n *Network) deliver(c *NetConn, pkt runtime.VRRPPacket) {
	n.mu.Lock()
	if c.closed || n.partitioned[c.addr] {
		n.mu.Unlock()
		return
	}
	if n.filter != nil && !n.filter(&pkt) {
		n.mu.Unlock()
		return
	}
	handler := c.handler
	n.mu.Unlock()
	if handler != nil {
		handler(pkt)
		return
	}
	select {
	case c.queue <- pkt:
	default: // a full socket buffer drops, like the kernel's
	}
}

// NetConn is one node's runtime.VRRPConn on a Network.
type NetConn struct {
	net     *Network
	segment string
	ifname  string
	addr    netip.Addr
	queue   chan runtime.VRRPPacket
	done    chan struct{}
	// guarded by net.mu
	closed  bool
	handler func(runtime.VRRPPacket)
}

var _ runtime.VRRPConn = (*NetConn)(nil)

// Send implements runtime.VRRPConn.
func (c *NetConn) Send(dst netip.Addr, payload []byte) error { return c.net.send(c, dst, payload) }

// Receive implements runtime.VRRPConn: it returns queued packets, unless
// a handler is installed with OnPacket.
func (c *NetConn) Receive() (runtime.VRRPPacket, error) {
	select {
	case pkt := <-c.queue:
		return pkt, nil
	case <-c.done:
		return runtime.VRRPPacket{}, fmt.Errorf("fake network: receive on %v: %w", c.addr, net.ErrClosed)
	}
}

// OnPacket makes the network deliver packets by calling h synchronously
// from the clock's timer callback instead of queueing them for Receive:
// with a fake Clock, a whole election then runs inside Clock.Advance,
// deterministically.
func (c *NetConn) OnPacket(h func(runtime.VRRPPacket)) {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	c.handler = h
}

// LocalAddr implements runtime.VRRPConn.
func (c *NetConn) LocalAddr() netip.Addr { return c.addr }

// Close implements runtime.VRRPConn.
func (c *NetConn) Close() error {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	if c.closed {
		return fmt.Errorf("fake network: close %v: %w", c.addr, net.ErrClosed)
	}
	c.closed = true
	close(c.done)
	return nil
}

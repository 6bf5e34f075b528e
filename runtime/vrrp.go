package runtime

import "net/netip"

// VRRPPacket is one VRRP message as received from the network, with the IP
// header fields the receive checks of RFC 5798 §7.1 / RFC 3768 §7.1 need.
type VRRPPacket struct {
	// Src is the IP source address: the sender's primary address, which
	// breaks priority ties (RFC 5798 §6.4.3) and is checked against the
	// unicast peer list.
	Src netip.Addr
	// Dst is the IP destination: the VRRP group (224.0.0.18, ff02::12) or
	// our own address for unicast.
	Dst netip.Addr
	// TTL is the IPv4 TTL or the IPv6 hop limit; anything but 255 is dropped
	// (RFC 5798 §5.1.1.3, §5.1.2.3).
	TTL int
	// Interface is the name of the receiving interface.
	Interface string
	// Payload is the VRRP message, starting at the version field.
	Payload []byte
}

// VRRPConn is a VRRP transport bound to one interface and one address
// family: IP protocol 112, group 224.0.0.18 (IPv4) or ff02::12 (IPv6),
// TTL/hop limit 255 (RFC 5798 §5.1). runtime/linux implements it with raw
// sockets; runtime/fake joins several on an in-memory segment.
type VRRPConn interface {
	// Send sends one VRRP message to dst, either the group address or a
	// unicast peer, with TTL/hop limit 255 and LocalAddr as the source.
	Send(dst netip.Addr, payload []byte) error
	// Receive blocks until a VRRP message arrives. After Close it returns
	// an error wrapping net.ErrClosed.
	Receive() (VRRPPacket, error)
	// LocalAddr is the source address of sent messages: the interface's
	// primary IPv4 address (or the configured unicast source), or its IPv6
	// link-local address (RFC 5798 §5.1.2.1). VRRPv3 checksums cover it
	// (RFC 5798 §5.2.8).
	LocalAddr() netip.Addr
	// Close releases the transport and unblocks Receive.
	Close() error
}

// VRRP group addresses (RFC 5798 §5.1.1.2, §5.1.2.2).
const (
	VRRPGroupV4 = "224.0.0.18"
	VRRPGroupV6 = "ff02::12"
)

// VRRPGroup returns the VRRP multicast group address of family f.
func VRRPGroup(f Family) netip.Addr {
	if f == FamilyV6 {
		return netip.MustParseAddr(VRRPGroupV6)
	}
	return netip.MustParseAddr(VRRPGroupV4)
}

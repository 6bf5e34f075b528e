package runtime

import (
	"net"
	"net/netip"
)

// Announcer sends the announcements with which a new VRRP master tells its
// link that the virtual addresses have moved to it, so that neighbours and
// switches update their caches at once instead of when their entries
// expire. runtime/linux implements it with packet sockets; runtime/fake
// records the calls.
//
// Scheduling (how many, when, how far apart) is not the Announcer's
// business: package runtime/announce drives it with keepalived's
// garp_master_* semantics.
type Announcer interface {
	// Announce sends, on interface iface, one announcement per address, in
	// the order given:
	//
	//   - for an IPv4 address a gratuitous ARP in request form, as keepalived
	//     sends it: Ethernet broadcast, opcode request, sender = target =
	//     the address, sender hardware address hw, target hardware address
	//     ff:ff:ff:ff:ff:ff (RFC 5227 §3, RFC 5798 §6.4.1);
	//   - for an IPv6 address an unsolicited neighbour advertisement to
	//     ff02::1 with hop limit 255, the override flag set, the router flag
	//     set when the interface forwards IPv6, and a target link-layer
	//     address option carrying hw (RFC 4861 §7.2.6, RFC 5798 §6.4.2).
	//
	// hw is also the Ethernet source address of the frames. A nil hw means
	// the interface's own MAC address; with use_vmac it is the virtual MAC
	// 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6).
	//
	// Every address is tried; the error joins the failures, each wrapping
	// the runtime sentinel that fits (ErrNoDevice for a missing interface,
	// ErrUnreachable for a down one, ErrInvalid for a bad address).
	Announce(iface string, addrs []netip.Addr, hw net.HardwareAddr) error
}

package runtime

import (
	"net/netip"
	"strconv"
	"strings"
)

// Address is an IP address assigned to an interface.
//
// An address is identified by Interface and Prefix (for IPv6 the kernel
// allows one prefix length per address, so Interface and Prefix.Addr()).
// Label is the IPv4 label ("eth0:1"); empty means the kernel's default (the
// interface name), and implementations report a label equal to the interface
// name as empty. Broadcast is the IPv4 broadcast address, the zero Addr for
// none. Protocol is IFA_PROTO (who added the address), 0 when unknown or
// unsupported by the kernel.
type Address struct {
	Interface string
	Prefix    netip.Prefix
	Label     string
	Scope     Scope
	Broadcast netip.Addr
	Protocol  uint8
	// NoDAD adds an IPv6 address without duplicate address detection, so
	// it is usable at once (keepalived adds IPv6 virtual addresses so). It
	// matters only when the address is added; listings leave it false.
	NoDAD bool
}

// String renders a in `ip addr add` syntax without the command:
// "192.0.2.10/24 dev eth0 label eth0:1 scope link brd 192.0.2.255 proto 18".
// Default values are left out.
func (a Address) String() string {
	var b strings.Builder
	b.WriteString(a.Prefix.String())
	b.WriteString(" dev ")
	b.WriteString(a.Interface)
	if a.Label != "" && a.Label != a.Interface {
		b.WriteString(" label ")
		b.WriteString(a.Label)
	}
	if a.Scope != ScopeUniverse {
		b.WriteString(" scope ")
		b.WriteString(a.Scope.String())
	}
	if a.Broadcast.IsValid() {
		b.WriteString(" brd ")
		b.WriteString(a.Broadcast.String())
	}
	if a.Protocol != 0 {
		b.WriteString(" proto ")
		b.WriteString(strconv.Itoa(int(a.Protocol)))
	}
	if a.NoDAD {
		b.WriteString(" nodad")
	}
	return b.String()
}

// ID returns the address's stable identity, as used by the ownership
// inventory: "eth0/192.0.2.10/24".
func (a Address) ID() string {
	return a.Interface + "/" + a.Prefix.String()
}

// Addrs manages interface addresses.
type Addrs interface {
	// ListAddrs returns every address on every interface, kernel-made ones
	// included (see IsKernelAddress).
	ListAddrs() ([]Address, error)
	// AddAddr adds an address. ErrExist if present, ErrNoDevice if the
	// interface does not exist.
	AddAddr(Address) error
	// ReplaceAddr adds an address, or updates the Protocol of an existing
	// one. As in the kernel, the label, scope and broadcast of an existing
	// address are kept: changing them takes DelAddr and AddAddr.
	ReplaceAddr(Address) error
	// DelAddr deletes an address (identified by Interface and Prefix).
	// ErrNotExist if absent.
	DelAddr(Address) error
}

// IsKernelAddress reports whether the kernel creates a itself, so that a
// reconciler should neither expect nor delete it: IPv6 link-local addresses
// and loopback addresses on lo.
func IsKernelAddress(a Address) bool {
	ip := a.Prefix.Addr()
	if ip.Is6() && ip.IsLinkLocalUnicast() {
		return true
	}
	return a.Interface == "lo" && ip.IsLoopback()
}

// Normalize returns a in the form implementations report it: a label equal
// to the interface name is cleared, an IPv4-mapped address is unmapped.
func (a Address) Normalize() Address {
	if a.Label == a.Interface {
		a.Label = ""
	}
	if a.Prefix.Addr().Is4In6() {
		a.Prefix = netip.PrefixFrom(a.Prefix.Addr().Unmap(), a.Prefix.Bits()-96)
	}
	return a
}

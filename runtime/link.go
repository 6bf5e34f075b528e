package runtime

import (
	"net"
	"strings"
)

// Link kinds hacfg creates.
const (
	KindMacvlan = "macvlan"
	KindDummy   = "dummy"
)

// Macvlan modes.
const (
	MacvlanPrivate  = "private"
	MacvlanVEPA     = "vepa"
	MacvlanBridge   = "bridge"
	MacvlanPassthru = "passthru"
	MacvlanSource   = "source"
)

// Link is a network interface.
//
// Kind is the rtnetlink kind ("macvlan", "dummy", "veth", ...; empty for a
// physical device). Parent is the lower device of a macvlan or vlan.
// MacvlanMode is set for macvlan links only. Index is assigned by the
// kernel and ignored by AddLink.
type Link struct {
	Name         string
	Index        int
	Up           bool
	HardwareAddr net.HardwareAddr
	Kind         string
	Parent       string
	MacvlanMode  string
}

// String renders l in `ip link add` syntax without the command:
// "vrrp.51 link eth0 address 00:00:5e:00:01:33 type macvlan mode private up".
// The index is left out.
func (l Link) String() string {
	var b strings.Builder
	b.WriteString(l.Name)
	if l.Parent != "" {
		b.WriteString(" link ")
		b.WriteString(l.Parent)
	}
	if len(l.HardwareAddr) > 0 {
		b.WriteString(" address ")
		b.WriteString(l.HardwareAddr.String())
	}
	if l.Kind != "" {
		b.WriteString(" type ")
		b.WriteString(l.Kind)
	}
	if l.MacvlanMode != "" {
		b.WriteString(" mode ")
		b.WriteString(l.MacvlanMode)
	}
	if l.Up {
		b.WriteString(" up")
	}
	return b.String()
}

// Links manages network interfaces: hacfg creates macvlan links for VRRP
// virtual MAC addresses.
type Links interface {
	// ListLinks returns every link.
	ListLinks() ([]Link, error)
	// AddLink creates a link (macvlan or dummy). ErrExist if the name is
	// taken, ErrNoDevice if the parent does not exist. The link is brought
	// up when l.Up is set.
	AddLink(l Link) error
	// DelLink deletes a link by name. ErrNoDevice if absent.
	DelLink(name string) error
	// SetLinkUp sets a link administratively up or down. ErrNoDevice if
	// absent.
	SetLinkUp(name string, up bool) error
}

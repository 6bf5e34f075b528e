package linux

import (
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

var macvlanModes = map[netlink.MacvlanMode]string{
	netlink.MACVLAN_MODE_PRIVATE:  runtime.MacvlanPrivate,
	netlink.MACVLAN_MODE_VEPA:     runtime.MacvlanVEPA,
	netlink.MACVLAN_MODE_BRIDGE:   runtime.MacvlanBridge,
	netlink.MACVLAN_MODE_PASSTHRU: runtime.MacvlanPassthru,
	netlink.MACVLAN_MODE_SOURCE:   runtime.MacvlanSource,
}

// ListLinks returns every link.
//
// Equivalent to: ip -d link show
func (k *Kernel) ListLinks() ([]runtime.Link, error) {
	var ls []netlink.Link
	err := retryDump(func() error {
		var err error
		ls, err = k.nl.LinkList()
		return err
	})
	if err != nil {
		return nil, wrap("link: list", err)
	}
	names := make(map[int]string, len(ls))
	for _, l := range ls {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	out := make([]runtime.Link, 0, len(ls))
	for _, l := range ls {
		a := l.Attrs()
		rl := runtime.Link{
			Name:         a.Name,
			Index:        a.Index,
			Up:           a.Flags&net.FlagUp != 0,
			HardwareAddr: slices.Clone(a.HardwareAddr),
			Kind:         l.Type(),
			Parent:       names[a.ParentIndex],
		}
		if rl.Kind == "device" {
			rl.Kind = ""
		}
		if len(rl.HardwareAddr) == 0 {
			rl.HardwareAddr = nil
		}
		if m, ok := l.(*netlink.Macvlan); ok {
			rl.MacvlanMode = macvlanModes[m.Mode]
		}
		out = append(out, rl)
	}
	return out, nil
}

// AddLink creates a macvlan or dummy link, then brings it up if l.Up.
//
// Equivalent to: ip link add vrrp.51 link eth0 address 00:00:5e:00:01:33 type macvlan mode private; ip link set vrrp.51 up
func (k *Kernel) AddLink(l runtime.Link) error {
	op := "link: add " + l.String()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = l.Name
	attrs.HardwareAddr = l.HardwareAddr
	var nl netlink.Link
	switch l.Kind {
	case runtime.KindMacvlan:
		parent, err := k.linkIndex(l.Parent)
		if err != nil {
			return wrap(op, err)
		}
		attrs.ParentIndex = parent
		mode := netlink.MACVLAN_MODE_DEFAULT
		if l.MacvlanMode != "" {
			found := false
			for m, name := range macvlanModes {
				if name == l.MacvlanMode {
					mode, found = m, true
				}
			}
			if !found {
				return wrap(op, unix.EINVAL)
			}
		}
		nl = &netlink.Macvlan{LinkAttrs: attrs, Mode: mode}
	case runtime.KindDummy:
		nl = &netlink.Dummy{LinkAttrs: attrs}
	default:
		return wrap(op, unix.EOPNOTSUPP)
	}
	if err := k.nl.LinkAdd(nl); err != nil {
		return wrap(op, err)
	}
	if l.Up {
		if err := k.nl.LinkSetUp(nl); err != nil {
			return wrap(op, err)
		}
	}
	k.log.Debug("kernel change", "cmd", "ip "+op)
	return nil
}

// DelLink deletes a link.
//
// Equivalent to: ip link del vrrp.51
func (k *Kernel) DelLink(name string) error {
	op := "link: del " + name
	l, err := k.nl.LinkByName(name)
	if err == nil {
		err = k.nl.LinkDel(l)
	}
	if err == nil {
		k.log.Debug("kernel change", "cmd", "ip "+op)
	}
	return wrap(op, err)
}

// SetLinkUp sets a link administratively up or down.
//
// Equivalent to: ip link set vrrp.51 up
func (k *Kernel) SetLinkUp(name string, up bool) error {
	op := "link: set " + name + " down"
	if up {
		op = "link: set " + name + " up"
	}
	l, err := k.nl.LinkByName(name)
	if err == nil {
		if up {
			err = k.nl.LinkSetUp(l)
		} else {
			err = k.nl.LinkSetDown(l)
		}
	}
	if err == nil {
		k.log.Debug("kernel change", "cmd", "ip "+op)
	}
	return wrap(op, err)
}

package fake

import (
	"fmt"
	"slices"

	"github.com/hacfg/hacfg/runtime"
)

// ListLinks returns every link, by index.
func (k *Kernel) ListLinks() ([]runtime.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("ListLinks", "", nil); err != nil {
		return nil, err
	}
	out := make([]runtime.Link, 0, len(k.links))
	for _, l := range k.links {
		c := *l
		c.HardwareAddr = slices.Clone(l.HardwareAddr)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b runtime.Link) int { return a.Index - b.Index })
	return out, nil
}

// AddLink creates a link. Like the kernel it rejects a taken name
// (ErrExist), a name longer than 15 bytes (ErrInvalid), a macvlan without
// an existing parent (ErrNoDevice) or with an unknown mode (ErrInvalid).
// A macvlan's empty mode becomes "vepa", the kernel's default. No MAC
// address is invented when none is given.
func (k *Kernel) AddLink(l runtime.Link) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("AddLink", l.Name, l); err != nil {
		return err
	}
	if err := k.checkNewLink(&l); err != nil {
		return fmt.Errorf("link: add %s: %w", l.Name, err)
	}
	l.Index = k.nextIndex
	k.nextIndex++
	l.HardwareAddr = slices.Clone(l.HardwareAddr)
	k.links[l.Name] = &l
	k.record("ip link add " + l.String())
	return nil
}

func (k *Kernel) checkNewLink(l *runtime.Link) error {
	if l.Name == "" || len(l.Name) > 15 {
		return errnoLike(runtime.ErrInvalid, "bad interface name")
	}
	if _, ok := k.links[l.Name]; ok {
		return runtime.ErrExist
	}
	if l.HardwareAddr != nil && len(l.HardwareAddr) != 6 {
		return errnoLike(runtime.ErrInvalid, "hardware address must have 6 bytes")
	}
	switch l.Kind {
	case runtime.KindMacvlan:
		if l.Parent == "" {
			return errnoLike(runtime.ErrInvalid, "macvlan needs a parent")
		}
		if _, ok := k.links[l.Parent]; !ok {
			return errnoLike(runtime.ErrNoDevice, "parent "+l.Parent)
		}
		switch l.MacvlanMode {
		case "":
			l.MacvlanMode = runtime.MacvlanVEPA
		case runtime.MacvlanPrivate, runtime.MacvlanVEPA, runtime.MacvlanBridge, runtime.MacvlanPassthru, runtime.MacvlanSource:
		default:
			return errnoLike(runtime.ErrInvalid, "unknown macvlan mode "+l.MacvlanMode)
		}
	default:
		if l.MacvlanMode != "" {
			return errnoLike(runtime.ErrInvalid, "macvlan mode on a "+l.Kind+" link")
		}
		if l.Parent != "" {
			if _, ok := k.links[l.Parent]; !ok {
				return errnoLike(runtime.ErrNoDevice, "parent "+l.Parent)
			}
		}
	}
	return nil
}

// DelLink deletes a link. As in the kernel, its addresses and the routes
// through it go with it, and so do macvlan links on top of it.
func (k *Kernel) DelLink(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("DelLink", name, name); err != nil {
		return err
	}
	if _, ok := k.links[name]; !ok {
		return fmt.Errorf("link: delete %s: %w", name, runtime.ErrNoDevice)
	}
	k.removeLink(name)
	k.record("ip link del " + name)
	return nil
}

func (k *Kernel) removeLink(name string) {
	for _, l := range k.links {
		if l.Parent == name && l.Kind == runtime.KindMacvlan {
			k.removeLink(l.Name)
		}
	}
	k.addrs = slices.DeleteFunc(k.addrs, func(a runtime.Address) bool { return a.Interface == name })
	k.flushRoutes(name)
	delete(k.links, name)
}

// SetLinkUp sets a link up or down. Taking a link down removes the routes
// through it and its IPv6 addresses (net.ipv6.conf.*.keep_addr_on_down=0);
// bringing it up restores the prefix and local routes of its addresses.
func (k *Kernel) SetLinkUp(name string, up bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("SetLinkUp", name, name); err != nil {
		return err
	}
	l, ok := k.links[name]
	if !ok {
		return fmt.Errorf("link: set %s up=%t: %w", name, up, runtime.ErrNoDevice)
	}
	state := "down"
	if up {
		state = "up"
	}
	if l.Up == up {
		k.record("ip link set " + name + " " + state)
		return nil
	}
	l.Up = up
	if up {
		for _, a := range k.addrs {
			if a.Interface == name {
				k.addKernelRoutes(a)
			}
		}
	} else {
		k.flushRoutes(name)
		k.addrs = slices.DeleteFunc(k.addrs, func(a runtime.Address) bool {
			return a.Interface == name && a.Prefix.Addr().Is6()
		})
	}
	k.record("ip link set " + name + " " + state)
	return nil
}

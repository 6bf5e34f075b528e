package fake

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hacfg/hacfg/runtime"
)

// sameAddr reports whether a and b are the same kernel address: same
// interface and address, and for IPv4 the same prefix length.
func sameAddr(a, b runtime.Address) bool {
	if a.Interface != b.Interface || a.Prefix.Addr() != b.Prefix.Addr() {
		return false
	}
	return a.Prefix.Addr().Is6() || a.Prefix.Bits() == b.Prefix.Bits()
}

// ListAddrs returns every address, by interface index then in the order
// they were added.
func (k *Kernel) ListAddrs() ([]runtime.Address, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("ListAddrs", "", nil); err != nil {
		return nil, err
	}
	out := slices.Clone(k.addrs)
	slices.SortStableFunc(out, func(a, b runtime.Address) int {
		return k.links[a.Interface].Index - k.links[b.Interface].Index
	})
	return out, nil
}

// AddAddr adds an address. It rejects a missing interface (ErrNoDevice), a
// duplicate (ErrExist: same interface and address, and for IPv4 the same
// prefix length), an IPv4 label not starting with the interface name or
// longer than 15 bytes, and a label or broadcast on an IPv6 address
// (ErrInvalid). On an up link it also adds the kernel's local and prefix
// routes.
func (k *Kernel) AddAddr(a runtime.Address) error {
	return k.putAddr("AddAddr", "add", a, false)
}

// ReplaceAddr adds an address, or updates the Protocol of the existing
// one; like the kernel it keeps an existing address's label, scope and
// broadcast.
func (k *Kernel) ReplaceAddr(a runtime.Address) error {
	return k.putAddr("ReplaceAddr", "replace", a, true)
}

func (k *Kernel) putAddr(op, verb string, a runtime.Address, replace bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	a = a.Normalize()
	if err := k.begin(op, a.ID(), a); err != nil {
		return err
	}
	if err := k.checkAddr(a); err != nil {
		return fmt.Errorf("addr: %s %s: %w", verb, a, err)
	}
	i := slices.IndexFunc(k.addrs, func(b runtime.Address) bool { return sameAddr(a, b) })
	switch {
	case i >= 0 && !replace:
		return fmt.Errorf("addr: %s %s: %w", verb, a, runtime.ErrExist)
	case i >= 0:
		k.addrs[i].Protocol = a.Protocol // the kernel keeps label, scope and broadcast
	default:
		k.addrs = append(k.addrs, a)
		k.addKernelRoutes(a)
	}
	k.record("ip addr " + verb + " " + a.String())
	return nil
}

func (k *Kernel) checkAddr(a runtime.Address) error {
	if !a.Prefix.IsValid() {
		return errnoLike(runtime.ErrInvalid, "no address")
	}
	if _, ok := k.links[a.Interface]; !ok {
		return errnoLike(runtime.ErrNoDevice, "interface "+a.Interface)
	}
	if a.Prefix.Addr().Is6() {
		if a.Label != "" {
			return errnoLike(runtime.ErrInvalid, "labels are for IPv4 addresses only")
		}
		if a.Broadcast.IsValid() {
			return errnoLike(runtime.ErrInvalid, "broadcast is for IPv4 addresses only")
		}
		return nil
	}
	if a.Label != "" && (!strings.HasPrefix(a.Label, a.Interface) || len(a.Label) > 15) {
		return errnoLike(runtime.ErrInvalid, "label must begin with the interface name and have at most 15 bytes")
	}
	if a.Broadcast.IsValid() && !a.Broadcast.Is4() {
		return errnoLike(runtime.ErrInvalid, "broadcast of another family")
	}
	return nil
}

// DelAddr deletes an address (identified by interface, address and for
// IPv4 prefix length), with its kernel routes. ErrNotExist if absent.
// Other addresses are kept (net.ipv4.conf.*.promote_secondaries=1, the
// systemd default).
func (k *Kernel) DelAddr(a runtime.Address) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	a = a.Normalize()
	if err := k.begin("DelAddr", a.ID(), a); err != nil {
		return err
	}
	if _, ok := k.links[a.Interface]; !ok {
		return fmt.Errorf("addr: del %s: %w", a, runtime.ErrNoDevice)
	}
	i := slices.IndexFunc(k.addrs, func(b runtime.Address) bool { return sameAddr(a, b) })
	if i < 0 {
		return fmt.Errorf("addr: del %s: %w", a, runtime.ErrNotExist)
	}
	old := k.addrs[i]
	k.addrs = slices.Delete(k.addrs, i, i+1)
	k.delKernelRoutes(old)
	k.record("ip addr del " + old.Prefix.String() + " dev " + old.Interface)
	return nil
}

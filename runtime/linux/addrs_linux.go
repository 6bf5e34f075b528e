package linux

import (
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

// ifaProto is IFA_PROTO (Linux 5.18+), missing from x/sys/unix.
const ifaProto = 11

// ListAddrs returns every address in the namespace.
//
// Equivalent to: ip -o addr show
func (k *Kernel) ListAddrs() ([]runtime.Address, error) {
	var out []runtime.Address
	err := retryDump(func() error {
		out = out[:0]
		names, err := k.linkNames()
		if err != nil {
			return err
		}
		req := k.addrRequest(unix.RTM_GETADDR, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfAddrmsg(unix.AF_UNSPEC))
		var perr error
		err = req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWADDR, func(m []byte) bool {
			a, err := parseAddr(m, names)
			if err != nil {
				perr = err
				return false
			}
			out = append(out, a)
			return true
		})
		if err != nil {
			return err
		}
		return perr
	})
	if err != nil {
		return nil, wrap("addr: list", err)
	}
	return out, nil
}

func parseAddr(m []byte, names map[int]string) (runtime.Address, error) {
	msg := nl.DeserializeIfAddrmsg(m)
	attrs, err := nl.ParseRouteAttr(m[msg.Len():])
	if err != nil {
		return runtime.Address{}, err
	}
	var a runtime.Address
	var local, address netip.Addr
	for _, at := range attrs {
		switch at.Attr.Type {
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(at.Value)
		case unix.IFA_ADDRESS:
			address, _ = netip.AddrFromSlice(at.Value)
		case unix.IFA_LABEL:
			a.Label = nl.BytesToString(at.Value)
		case unix.IFA_BROADCAST:
			a.Broadcast, _ = netip.AddrFromSlice(at.Value)
		case ifaProto:
			if len(at.Value) > 0 {
				a.Protocol = at.Value[0]
			}
		}
	}
	ip := local
	if !ip.IsValid() {
		ip = address
	}
	a.Interface = names[int(msg.Index)]
	a.Prefix = netip.PrefixFrom(ip.Unmap(), int(msg.Prefixlen))
	a.Scope = runtime.Scope(msg.Scope)
	if a.Broadcast.IsUnspecified() {
		a.Broadcast = netip.Addr{}
	}
	return a.Normalize(), nil
}

// AddAddr adds an address; Protocol sets IFA_PROTO (ignored by kernels
// before 5.18). No broadcast is set unless given.
//
// Equivalent to: ip addr add 192.0.2.10/24 dev eth0 label eth0:1 proto 18
func (k *Kernel) AddAddr(a runtime.Address) error {
	return k.addrChange(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, "addr: add ", a)
}

// ReplaceAddr adds an address or updates the attributes of an existing
// one.
//
// Equivalent to: ip addr replace 192.0.2.10/24 dev eth0 label eth0:1
func (k *Kernel) ReplaceAddr(a runtime.Address) error {
	return k.addrChange(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, "addr: replace ", a)
}

// DelAddr deletes an address, whatever its label.
//
// Equivalent to: ip addr del 192.0.2.10/24 dev eth0
func (k *Kernel) DelAddr(a runtime.Address) error {
	return k.addrChange(unix.RTM_DELADDR, 0, "addr: del ", runtime.Address{Interface: a.Interface, Prefix: a.Prefix})
}

func (k *Kernel) addrChange(cmd, flags int, op string, a runtime.Address) error {
	a = a.Normalize()
	op += a.String()
	if !a.Prefix.IsValid() {
		return wrap(op, unix.EINVAL)
	}
	idx, err := k.linkIndex(a.Interface)
	if err != nil {
		return wrap(op, err)
	}
	ip := a.Prefix.Addr()
	fam := unix.AF_INET
	if ip.Is6() {
		fam = unix.AF_INET6
	}
	msg := nl.NewIfAddrmsg(fam)
	msg.Prefixlen = uint8(a.Prefix.Bits())
	msg.Scope = uint8(a.Scope)
	msg.Index = uint32(idx)
	if cmd == unix.RTM_NEWADDR && a.NoDAD && ip.Is6() {
		msg.Flags |= unix.IFA_F_NODAD
	}
	req := k.addrRequest(cmd, flags|unix.NLM_F_ACK)
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, ip.AsSlice()))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, ip.AsSlice()))
	if cmd == unix.RTM_NEWADDR {
		if a.Label != "" {
			req.AddData(nl.NewRtAttr(unix.IFA_LABEL, nl.ZeroTerminated(a.Label)))
		}
		if a.Broadcast.IsValid() {
			req.AddData(nl.NewRtAttr(unix.IFA_BROADCAST, a.Broadcast.AsSlice()))
		}
		if a.Protocol != 0 {
			req.AddData(nl.NewRtAttr(ifaProto, []byte{a.Protocol}))
		}
	}
	_, err = req.Execute(unix.NETLINK_ROUTE, 0)
	if err == nil {
		k.log.Debug("kernel change", "cmd", "ip "+op)
	}
	return wrap(op, err)
}

func (k *Kernel) addrRequest(cmd, flags int) *nl.NetlinkRequest {
	return &nl.NetlinkRequest{
		NlMsghdr: unix.NlMsghdr{
			Len:   unix.SizeofNlMsghdr,
			Type:  uint16(cmd),
			Flags: unix.NLM_F_REQUEST | uint16(flags),
		},
		Sockets: map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: k.addr},
	}
}

package linux

import (
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

// ListRules returns every rule of both families.
//
// Equivalent to: ip rule show; ip -6 rule show
func (k *Kernel) ListRules() ([]runtime.Rule, error) {
	var rs []netlink.Rule
	err := retryDump(func() error {
		// Not FAMILY_ALL: that also dumps multicast routing rules.
		v4, err := k.nl.RuleList(netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		v6, err := k.nl.RuleList(netlink.FAMILY_V6)
		rs = append(v4, v6...)
		return err
	})
	if err != nil {
		return nil, wrap("rule: list", err)
	}
	out := make([]runtime.Rule, 0, len(rs))
	for _, r := range rs {
		rule := runtime.Rule{
			Priority: r.Priority,
			Family:   runtime.Family(r.Family),
			Table:    r.Table,
			FwMark:   r.Mark,
			IifName:  r.IifName,
			OifName:  r.OifName,
			Invert:   r.Invert,
		}
		if r.Mask != nil {
			rule.FwMask = *r.Mask
		}
		if r.Src != nil {
			ones, _ := r.Src.Mask.Size()
			rule.Src = netip.PrefixFrom(addrOf(r.Src.IP), ones)
		}
		if r.Dst != nil {
			ones, _ := r.Dst.Mask.Size()
			rule.Dst = netip.PrefixFrom(addrOf(r.Dst.IP), ones)
		}
		out = append(out, rule.Normalize())
	}
	return out, nil
}

func toNetlinkRule(r runtime.Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Priority = r.Priority
	nr.Family = int(r.Family)
	nr.Table = r.Table
	nr.Invert = r.Invert
	nr.IifName = r.IifName
	nr.OifName = r.OifName
	if r.FwMark != 0 {
		nr.Mark = r.FwMark
		mask := r.FwMask
		nr.Mask = &mask
	}
	if r.Src.IsValid() {
		nr.Src = prefixNet(r.Src)
	}
	if r.Dst.IsValid() {
		nr.Dst = prefixNet(r.Dst)
	}
	return nr
}

// AddRule adds a rule. Table 0 means main.
//
// Equivalent to: ip rule add priority 100 from 192.0.2.10/32 fwmark 0x1/0xff iif eth0 lookup 100
func (k *Kernel) AddRule(r runtime.Rule) error {
	return k.ruleChange("add", r, k.nl.RuleAdd)
}

// DelRule deletes a rule.
//
// Equivalent to: ip rule del priority 100 from 192.0.2.10/32 lookup 100
func (k *Kernel) DelRule(r runtime.Rule) error {
	return k.ruleChange("del", r, k.nl.RuleDel)
}

func (k *Kernel) ruleChange(verb string, r runtime.Rule, f func(*netlink.Rule) error) error {
	r = r.Normalize()
	op := "rule: " + verb + " " + r.String()
	var err error
	if r.Family != runtime.FamilyV4 && r.Family != runtime.FamilyV6 {
		err = unix.EAFNOSUPPORT
	} else {
		err = f(toNetlinkRule(r))
	}
	if err == nil {
		k.log.Debug("kernel change", "cmd", "ip "+op)
	}
	return wrap(op, err)
}

package runtime

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Rule is a policy routing rule.
//
// Family is required when neither Src nor Dst is set; otherwise it is
// derived from them. FwMask 0 with a non-zero FwMark means 0xffffffff.
// Implementations report rules in Normalize form.
type Rule struct {
	Priority int
	Family   Family
	Src      netip.Prefix
	Dst      netip.Prefix
	Table    int
	FwMark   uint32
	FwMask   uint32
	IifName  string
	OifName  string
	Invert   bool
}

// Normalize fills in the family from Src or Dst, masks the prefixes,
// makes a zero mark's mask 0 and a non-zero mark's zero mask 0xffffffff.
func (r Rule) Normalize() Rule {
	if r.Family == FamilyUnspec {
		if r.Src.IsValid() {
			r.Family = FamilyOf(r.Src.Addr())
		} else if r.Dst.IsValid() {
			r.Family = FamilyOf(r.Dst.Addr())
		}
	}
	if r.Src.IsValid() {
		r.Src = r.Src.Masked()
	}
	if r.Dst.IsValid() {
		r.Dst = r.Dst.Masked()
	}
	if r.FwMark == 0 {
		r.FwMask = 0
	} else if r.FwMask == 0 {
		r.FwMask = 0xffffffff
	}
	if r.Table == TableUnspec {
		r.Table = TableMain
	}
	return r
}

// String renders r in `ip rule add` syntax without the command:
// "-6 priority 100 not from 2001:db8::/32 to all fwmark 0x1/0xff iif eth0 lookup 100".
func (r Rule) String() string {
	r = r.Normalize()
	var b strings.Builder
	if r.Family == FamilyV6 {
		b.WriteString("-6 ")
	}
	b.WriteString("priority ")
	b.WriteString(strconv.Itoa(r.Priority))
	if r.Invert {
		b.WriteString(" not")
	}
	b.WriteString(" from ")
	if r.Src.IsValid() {
		b.WriteString(r.Src.String())
	} else {
		b.WriteString("all")
	}
	if r.Dst.IsValid() {
		b.WriteString(" to ")
		b.WriteString(r.Dst.String())
	}
	if r.FwMark != 0 {
		fmt.Fprintf(&b, " fwmark %#x/%#x", r.FwMark, r.FwMask)
	}
	if r.IifName != "" {
		b.WriteString(" iif ")
		b.WriteString(r.IifName)
	}
	if r.OifName != "" {
		b.WriteString(" oif ")
		b.WriteString(r.OifName)
	}
	b.WriteString(" lookup ")
	b.WriteString(strconv.Itoa(r.Table))
	return b.String()
}

// Rules manages policy routing rules.
type Rules interface {
	// ListRules returns every rule of both families, the kernel's default
	// rules included (see IsKernelRule).
	ListRules() ([]Rule, error)
	// AddRule adds a rule. ErrExist if an identical rule exists.
	AddRule(Rule) error
	// DelRule deletes the rule equal to r. ErrNotExist if absent.
	DelRule(Rule) error
}

// IsKernelRule reports whether r is one of the kernel's default rules
// (priority 0 lookup local, 32766 lookup main, 32767 lookup default, with
// no selectors).
func IsKernelRule(r Rule) bool {
	r = r.Normalize()
	if r.Src.IsValid() || r.Dst.IsValid() || r.FwMark != 0 || r.IifName != "" || r.OifName != "" || r.Invert {
		return false
	}
	switch {
	case r.Priority == 0 && r.Table == TableLocal,
		r.Priority == 32766 && r.Table == TableMain,
		r.Priority == 32767 && r.Table == TableDefault && r.Family == FamilyV4:
		return true
	}
	return false
}

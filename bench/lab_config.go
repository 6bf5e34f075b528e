package bench

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// VRRP is one VRRP instance as both hacfg and keepalived are told it, so a
// lab test can give the same instance to either.
type VRRP struct {
	Name     string
	VRID     int
	Version  int           // 2 or 3
	Interval time.Duration // advert_int
	Priority int
	State    string   // "MASTER" or "BACKUP"; "" is BACKUP
	VIPs     []string // CIDR, e.g. "192.0.2.10/24"
	// AuthPass, if set, is VRRPv2 PASS authentication.
	AuthPass  string
	NoPreempt bool
	// UnicastSrc and UnicastPeers switch the instance to unicast.
	UnicastSrc   netip.Addr
	UnicastPeers []netip.Addr
	// Interface defaults to eth0.
	Interface string
}

func (v VRRP) iface() string {
	if v.Interface == "" {
		return "eth0"
	}
	return v.Interface
}

func (v VRRP) state() string {
	if v.State == "" {
		return "BACKUP"
	}
	return v.State
}

// HCL is the instance as a hacfg vrrp_instance block.
func (v VRRP) HCL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vrrp_instance %q {\n", v.Name)
	fmt.Fprintf(&b, "  interface         = %q\n", v.iface())
	fmt.Fprintf(&b, "  state             = %q\n", v.state())
	fmt.Fprintf(&b, "  virtual_router_id = %d\n", v.VRID)
	fmt.Fprintf(&b, "  version           = %d\n", v.Version)
	fmt.Fprintf(&b, "  advert_int        = %q\n", v.Interval.String())
	fmt.Fprintf(&b, "  priority          = %d\n", v.Priority)
	fmt.Fprintf(&b, "  virtual_ipaddress = [%s]\n", quoteList(v.VIPs))
	if v.NoPreempt {
		b.WriteString("  nopreempt         = true\n")
	}
	if v.UnicastSrc.IsValid() {
		fmt.Fprintf(&b, "  unicast_src_ip    = %q\n", v.UnicastSrc.String())
		peers := make([]string, len(v.UnicastPeers))
		for i, p := range v.UnicastPeers {
			peers[i] = p.String()
		}
		fmt.Fprintf(&b, "  unicast_peer      = [%s]\n", quoteList(peers))
	}
	if v.AuthPass != "" {
		fmt.Fprintf(&b, "  authentication {\n    auth_type = \"PASS\"\n    auth_pass = %q\n  }\n", v.AuthPass)
	}
	b.WriteString("}\n")
	return b.String()
}

// Keepalived is the instance as a keepalived.conf vrrp_instance block.
func (v VRRP) Keepalived() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vrrp_instance %s {\n", v.Name)
	fmt.Fprintf(&b, "  interface %s\n", v.iface())
	fmt.Fprintf(&b, "  state %s\n", v.state())
	fmt.Fprintf(&b, "  virtual_router_id %d\n", v.VRID)
	fmt.Fprintf(&b, "  version %d\n", v.Version)
	fmt.Fprintf(&b, "  advert_int %s\n", strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v.Interval.Seconds()), "0"), "."))
	fmt.Fprintf(&b, "  priority %d\n", v.Priority)
	b.WriteString("  virtual_ipaddress {\n")
	for _, a := range v.VIPs {
		fmt.Fprintf(&b, "    %s\n", a)
	}
	b.WriteString("  }\n")
	if v.NoPreempt {
		b.WriteString("  nopreempt\n")
	}
	if v.UnicastSrc.IsValid() {
		fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n", v.UnicastSrc)
		for _, p := range v.UnicastPeers {
			fmt.Fprintf(&b, "    %s\n", p)
		}
		b.WriteString("  }\n")
	}
	if v.AuthPass != "" {
		fmt.Fprintf(&b, "  authentication {\n    auth_type PASS\n    auth_pass %s\n  }\n", v.AuthPass)
	}
	b.WriteString("}\n")
	return b.String()
}

// HacfgConfig is a hacfg config file holding the instances.
func HacfgConfig(insts ...VRRP) string {
	var b strings.Builder
	for i, in := range insts {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(in.HCL())
	}
	return b.String()
}

// KeepalivedConfig is a keepalived.conf holding the instances.
func KeepalivedConfig(routerID string, insts ...VRRP) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n}\n", routerID)
	for _, in := range insts {
		b.WriteString(in.Keepalived())
	}
	return b.String()
}

// MasterDownInterval is RFC 5798's 3 × advert interval + Skew_Time for a
// backup of the instance's priority (v2: skew in seconds of (256 −
// priority)/256; v3: (256 − priority) × interval / 256).
func (v VRRP) MasterDownInterval() time.Duration {
	return 3*v.Interval + v.Skew()
}

// Skew is the instance's Skew_Time.
func (v VRRP) Skew() time.Duration {
	if v.Version == 2 {
		return time.Duration(256-v.Priority) * time.Second / 256
	}
	return time.Duration(256-v.Priority) * v.Interval / 256
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

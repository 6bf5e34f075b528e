package importer

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hacfg/hacfg/schema"
)

func parseInt(s string) (int, bool) {
	v, err := strconv.Atoi(s)
	return v, err == nil
}

// parseSeconds reads keepalived's <TIMER>: seconds with an optional
// fraction, resolution one microsecond.
func parseSeconds(s string) (schema.Duration, bool) {
	if s == "" || strings.ContainsAny(s, "eExXpP_+") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 || math.IsNaN(f) {
		return 0, false
	}
	us := math.Round(f * 1e6)
	return schema.Duration(time.Duration(us) * time.Microsecond), true
}

// formatSeconds writes d as keepalived's seconds: "5", "0.1", "2.5".
func formatSeconds(d schema.Duration) string {
	if time.Duration(d)%time.Second == 0 {
		return strconv.FormatInt(int64(time.Duration(d)/time.Second), 10)
	}
	return strconv.FormatFloat(time.Duration(d).Seconds(), 'f', -1, 64)
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// parsePrefix reads an address with an optional prefix length; a bare
// address is a host prefix, as keepalived reads it.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p, err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

var scopes = map[string]bool{"global": true, "site": true, "link": true, "host": true, "nowhere": true}

// routeTables are the table names iproute2 knows without rt_tables.
var routeTables = map[string]int{"default": 253, "main": 254, "local": 255}

// routeProtos are the protocol names in iproute2's rt_protos.
var routeProtos = map[string]int{"redirect": 1, "kernel": 2, "boot": 3, "static": 4, "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192}

// expandRange expands keepalived's address ranges: "192.0.2.1-10",
// "192.0.2.250-192.0.3.10" and "192.0.2.8/29" (every address in it), at
// most limit addresses. ok is false when s is not a range.
func expandRange(s string, limit int) (addrs []netip.Addr, ok bool, tooMany bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, false, false
		}
		p = p.Masked()
		if p.Addr().BitLen()-p.Bits() > 16 {
			return nil, true, true
		}
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			if len(addrs) >= limit {
				return nil, true, true
			}
			addrs = append(addrs, a)
			if !a.Next().IsValid() {
				break
			}
		}
		return addrs, true, false
	}
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		return nil, false, false
	}
	start, err := netip.ParseAddr(lo)
	if err != nil {
		return nil, false, false
	}
	end, err := netip.ParseAddr(hi)
	if err != nil {
		// The last part only: "192.0.2.1-10" or "2001:db8::1-ff".
		b := start.AsSlice()
		if start.Is4() {
			v, err := strconv.Atoi(hi)
			if err != nil || v < 0 || v > 255 {
				return nil, false, false
			}
			b[3] = byte(v)
		} else {
			v, err := strconv.ParseUint(hi, 16, 16)
			if err != nil {
				return nil, false, false
			}
			b[14], b[15] = byte(v>>8), byte(v)
		}
		end, _ = netip.AddrFromSlice(b)
	}
	if start.BitLen() != end.BitLen() || end.Less(start) {
		return nil, false, false
	}
	for a := start; ; a = a.Next() {
		if len(addrs) >= limit {
			return nil, true, true
		}
		addrs = append(addrs, a)
		if a == end {
			break
		}
	}
	return addrs, true, false
}

package schema

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a duration string ("1s", "100ms").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d the way the config writes it.
func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// FormatDuration writes d in the shortest exact form time.ParseDuration
// reads back: "1s", "100ms", "1m30s", "40.95s".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	// time.Duration.String writes "1m0s" and "1h0m0s"; drop the zero parts.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (d *Duration) decodeString(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write a number with a unit, like \"1s\", \"100ms\" or \"1m30s\"", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative; durations must be zero or more", s)
	}
	*d = Duration(v)
	return nil
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Min, Max int }

func (r StatusRange) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

// StatusCodes is the status_code of a url: one code, a range "200-299", or a
// list of them.
type StatusCodes []StatusRange

// Match reports whether code is in the set; an empty set means 200-299
// (keepalived's default for HTTP_GET without status_code).
func (s StatusCodes) Match(code int) bool {
	if len(s) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range s {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

func parseStatusRange(s string) (StatusRange, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	b := a
	if err == nil && isRange {
		b, err = strconv.Atoi(strings.TrimSpace(hi))
	}
	if err != nil || a < 100 || b > 599 || a > b {
		return StatusRange{}, fmt.Errorf("%q is not an HTTP status code or range; write 200 or \"200-299\" (codes 100-599)", s)
	}
	return StatusRange{a, b}, nil
}

// parseHostPrefix reads "192.0.2.10/24" or a bare address, which means a
// host prefix (/32 or /128), as keepalived does.
func parseHostPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address with prefix length, like \"192.0.2.10/24\"", s)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or prefix, like \"192.0.2.10/24\"", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has a zone; give the interface separately", s)
	}
	return a, nil
}

func parseAddrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		hint := "like \"192.0.2.10:80\" or \"[2001:db8::10]:80\""
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			return netip.AddrPort{}, fmt.Errorf("%q has no port; write it as address:port, %s", a, hint)
		}
		return netip.AddrPort{}, fmt.Errorf("%q is not an address:port, %s", s, hint)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q has port 0; ports are 1-65535", s)
	}
	return ap, nil
}

// FormatAddrPort writes ap as the config does.
func FormatAddrPort(ap netip.AddrPort) string { return ap.String() }

// FormatPrefix writes a VirtualAddress's prefix as the config does: a host
// prefix as a bare address.
func FormatPrefix(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

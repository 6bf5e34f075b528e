package runtime

import (
	"net/netip"
	"strconv"
)

// Family is an address family, with the kernel's values.
type Family uint16

// Address families.
const (
	FamilyUnspec Family = 0
	FamilyV4     Family = 2  // AF_INET
	FamilyV6     Family = 10 // AF_INET6
)

// String returns "inet", "inet6" or "family N".
func (f Family) String() string {
	switch f {
	case FamilyUnspec:
		return "unspec"
	case FamilyV4:
		return "inet"
	case FamilyV6:
		return "inet6"
	}
	return "family " + strconv.Itoa(int(f))
}

// FamilyOf returns the family of a, FamilyUnspec for the zero Addr.
// IPv4-mapped IPv6 addresses are IPv6.
func FamilyOf(a netip.Addr) Family {
	switch {
	case a.Is4():
		return FamilyV4
	case a.Is6():
		return FamilyV6
	}
	return FamilyUnspec
}

// Scope is an address or route scope (RT_SCOPE_*), with the kernel's values.
type Scope uint8

// Scopes.
const (
	ScopeUniverse Scope = 0
	ScopeSite     Scope = 200
	ScopeLink     Scope = 253
	ScopeHost     Scope = 254
	ScopeNowhere  Scope = 255
)

// String returns the iproute2 name of the scope ("global", "link", ...), or
// the number.
func (s Scope) String() string {
	switch s {
	case ScopeUniverse:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	case ScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

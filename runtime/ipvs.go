package runtime

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Protocol is an IPVS service protocol, with IANA protocol numbers.
type Protocol uint16

// IPVS protocols.
const (
	ProtocolTCP  Protocol = 6
	ProtocolUDP  Protocol = 17
	ProtocolSCTP Protocol = 132
)

// String returns "tcp", "udp", "sctp" or "proto N".
func (p Protocol) String() string {
	switch p {
	case ProtocolTCP:
		return "tcp"
	case ProtocolUDP:
		return "udp"
	case ProtocolSCTP:
		return "sctp"
	}
	return "proto " + strconv.Itoa(int(p))
}

// ParseProtocol parses "tcp", "udp" or "sctp".
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return ProtocolTCP, nil
	case "udp":
		return ProtocolUDP, nil
	case "sctp":
		return ProtocolSCTP, nil
	}
	return 0, fmt.Errorf("unknown ipvs protocol %q (want tcp, udp or sctp)", s)
}

// Forward is a destination's forwarding method, with the kernel's values
// (IP_VS_CONN_F_*). The zero value is NAT, as in the kernel.
type Forward uint32

// Forwarding methods.
const (
	ForwardNAT    Forward = 0 // masquerading, ipvsadm -m, keepalived lb_kind NAT
	ForwardLocal  Forward = 1 // local node, reported by the kernel only
	ForwardTunnel Forward = 2 // IP-in-IP, ipvsadm -i, lb_kind TUN
	ForwardDR     Forward = 3 // direct routing, ipvsadm -g, lb_kind DR
)

// String returns "nat", "local", "tun" or "dr".
func (f Forward) String() string {
	switch f {
	case ForwardNAT:
		return "nat"
	case ForwardLocal:
		return "local"
	case ForwardTunnel:
		return "tun"
	case ForwardDR:
		return "dr"
	}
	return "forward " + strconv.Itoa(int(f))
}

// ipvsadmFlag returns the ipvsadm option for f.
func (f Forward) ipvsadmFlag() string {
	switch f {
	case ForwardNAT:
		return "-m"
	case ForwardTunnel:
		return "-i"
	case ForwardDR:
		return "-g"
	}
	return "--forward " + f.String()
}

// ServiceFlags are IPVS service flags (IP_VS_SVC_F_*) other than
// persistence (expressed by Service.Timeout) and the kernel-internal
// hashed flag, which implementations strip.
type ServiceFlags uint32

// Service flags.
const (
	FlagPersistent ServiceFlags = 0x0001 // stripped: use Service.Timeout
	FlagHashed     ServiceFlags = 0x0002 // kernel internal, stripped
	FlagOnePacket  ServiceFlags = 0x0004 // ipvsadm -o
	FlagSched1     ServiceFlags = 0x0008 // sh-fallback, mh-fallback
	FlagSched2     ServiceFlags = 0x0010 // sh-port, mh-port
	FlagSched3     ServiceFlags = 0x0020
)

// ServiceKey identifies an IPVS virtual service: either Protocol, Addr and
// Port, or FwMark and Family.
type ServiceKey struct {
	Protocol Protocol
	Addr     netip.Addr
	Port     uint16
	FwMark   uint32
	Family   Family
}

// Normalize clears the fields that do not identify a service of its kind:
// an fwmark service has no protocol, address or port; an address service
// has no mark and takes its family from the address.
func (k ServiceKey) Normalize() ServiceKey {
	if k.FwMark != 0 {
		return ServiceKey{FwMark: k.FwMark, Family: k.Family}
	}
	return ServiceKey{Protocol: k.Protocol, Addr: k.Addr.Unmap(), Port: k.Port, Family: FamilyOf(k.Addr.Unmap())}
}

// String returns the stable id of the service: "tcp/192.0.2.10:80",
// "udp/[2001:db8::1]:53", "fwmark/1/inet".
func (k ServiceKey) String() string {
	k = k.Normalize()
	if k.FwMark != 0 {
		return "fwmark/" + strconv.FormatUint(uint64(k.FwMark), 10) + "/" + k.Family.String()
	}
	return k.Protocol.String() + "/" + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// ParseServiceKey parses the output of ServiceKey.String.
func ParseServiceKey(s string) (ServiceKey, error) {
	kind, rest, ok := strings.Cut(s, "/")
	if !ok {
		return ServiceKey{}, fmt.Errorf("parse ipvs service %q: missing '/'", s)
	}
	if kind == "fwmark" {
		m, fam, ok := strings.Cut(rest, "/")
		if !ok {
			return ServiceKey{}, fmt.Errorf("parse ipvs service %q: want fwmark/MARK/inet or fwmark/MARK/inet6", s)
		}
		mark, err := strconv.ParseUint(m, 10, 32)
		if err != nil || mark == 0 {
			return ServiceKey{}, fmt.Errorf("parse ipvs service %q: bad mark %q", s, m)
		}
		k := ServiceKey{FwMark: uint32(mark)}
		switch fam {
		case "inet":
			k.Family = FamilyV4
		case "inet6":
			k.Family = FamilyV6
		default:
			return ServiceKey{}, fmt.Errorf("parse ipvs service %q: bad family %q", s, fam)
		}
		return k, nil
	}
	p, err := ParseProtocol(kind)
	if err != nil {
		return ServiceKey{}, fmt.Errorf("parse ipvs service %q: %w", s, err)
	}
	ap, err := netip.ParseAddrPort(rest)
	if err != nil {
		return ServiceKey{}, fmt.Errorf("parse ipvs service %q: %w", s, err)
	}
	return ServiceKey{Protocol: p, Addr: ap.Addr(), Port: ap.Port()}.Normalize(), nil
}

// IpvsadmArgs returns the ipvsadm service selector: "-t 192.0.2.10:80",
// "-f 1 -6".
func (k ServiceKey) IpvsadmArgs() string {
	k = k.Normalize()
	if k.FwMark != 0 {
		s := "-f " + strconv.FormatUint(uint64(k.FwMark), 10)
		if k.Family == FamilyV6 {
			s += " -6"
		}
		return s
	}
	opt := "--" + k.Protocol.String() + "-service"
	switch k.Protocol {
	case ProtocolTCP:
		opt = "-t"
	case ProtocolUDP:
		opt = "-u"
	case ProtocolSCTP:
		opt = "--sctp-service"
	}
	return opt + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// Service is an IPVS virtual service.
//
// Timeout > 0 makes the service persistent (ipvsadm -p, keepalived
// persistence_timeout); implementations set and strip the persistent flag
// accordingly. Netmask is the persistence granularity as a prefix length;
// 0 means the full address (32 or 128), and implementations report a full
// mask as 0.
type Service struct {
	Protocol  Protocol
	Addr      netip.Addr
	Port      uint16
	FwMark    uint32
	Family    Family
	Scheduler string
	Flags     ServiceFlags
	Timeout   time.Duration
	Netmask   int
}

// Key returns the service's identity.
func (s Service) Key() ServiceKey {
	return ServiceKey{Protocol: s.Protocol, Addr: s.Addr, Port: s.Port, FwMark: s.FwMark, Family: s.Family}.Normalize()
}

// Normalize puts s in the form implementations report: key fields as in
// ServiceKey.Normalize, persistent and hashed flags stripped, a full
// netmask as 0, the timeout truncated to whole seconds.
func (s Service) Normalize() Service {
	k := s.Key()
	s.Protocol, s.Addr, s.Port, s.FwMark, s.Family = k.Protocol, k.Addr, k.Port, k.FwMark, k.Family
	s.Flags &^= FlagPersistent | FlagHashed
	if (s.Family == FamilyV4 && s.Netmask == 32) || (s.Family == FamilyV6 && s.Netmask == 128) {
		s.Netmask = 0
	}
	s.Timeout = s.Timeout.Truncate(time.Second)
	return s
}

// String renders s in ipvsadm syntax without the command:
// "-t 192.0.2.10:80 -s wrr -p 300 -M 255.255.255.0 -o".
func (s Service) String() string {
	s = s.Normalize()
	var b strings.Builder
	b.WriteString(s.Key().IpvsadmArgs())
	b.WriteString(" -s ")
	b.WriteString(s.Scheduler)
	if s.Timeout > 0 {
		b.WriteString(" -p ")
		b.WriteString(strconv.FormatInt(int64(s.Timeout/time.Second), 10))
	}
	if s.Netmask != 0 {
		b.WriteString(" -M ")
		if s.Family == FamilyV4 && s.Netmask > 0 && s.Netmask < 32 {
			b.WriteString(IPv4Mask(s.Netmask).String())
		} else {
			b.WriteString(strconv.Itoa(s.Netmask))
		}
	}
	if s.Flags&FlagOnePacket != 0 {
		b.WriteString(" -o")
	}
	if f := s.Flags &^ FlagOnePacket; f != 0 {
		b.WriteString(" -b ")
		b.WriteString(schedFlags(f))
	}
	return b.String()
}

// IPv4Mask returns the IPv4 netmask with the given prefix length (0..32).
func IPv4Mask(bits int) netip.Addr {
	var m uint32
	if bits > 0 {
		m = ^uint32(0) << (32 - min(bits, 32))
	}
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)})
}

func schedFlags(f ServiceFlags) string {
	var names []string
	for i, n := range []string{"flag-1", "flag-2", "flag-3"} {
		if bit := FlagSched1 << i; f&bit != 0 {
			names = append(names, n)
			f &^= bit
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(f)))
	}
	return strings.Join(names, ",")
}

// Destination is a real server of a virtual service.
//
// Destinations are identified within their service by Addr and Port.
// ActiveConns and InactiveConns are observed only: implementations fill
// them in on listing and ignore them otherwise.
type Destination struct {
	Addr           netip.Addr
	Port           uint16
	Weight         int
	Forward        Forward
	UpperThreshold uint32
	LowerThreshold uint32
	ActiveConns    int
	InactiveConns  int
}

// AddrPort returns the destination's address and port.
func (d Destination) AddrPort() netip.AddrPort { return netip.AddrPortFrom(d.Addr, d.Port) }

// String renders d in ipvsadm syntax without the command and service:
// "-r 203.0.113.5:80 -g -w 1 -x 100 -y 10".
func (d Destination) String() string {
	var b strings.Builder
	b.WriteString("-r ")
	b.WriteString(d.AddrPort().String())
	b.WriteString(" ")
	b.WriteString(d.Forward.ipvsadmFlag())
	b.WriteString(" -w ")
	b.WriteString(strconv.Itoa(d.Weight))
	if d.UpperThreshold != 0 {
		b.WriteString(" -x ")
		b.WriteString(strconv.FormatUint(uint64(d.UpperThreshold), 10))
	}
	if d.LowerThreshold != 0 {
		b.WriteString(" -y ")
		b.WriteString(strconv.FormatUint(uint64(d.LowerThreshold), 10))
	}
	return b.String()
}

// DestinationKey identifies a destination: its service and address:port.
type DestinationKey struct {
	Service ServiceKey
	Addr    netip.AddrPort
}

// Key returns the identity of destination d of service svc.
func (d Destination) Key(svc ServiceKey) DestinationKey {
	return DestinationKey{Service: svc.Normalize(), Addr: netip.AddrPortFrom(d.Addr.Unmap(), d.Port)}
}

// String returns the stable id of the destination:
// "tcp/192.0.2.10:80/203.0.113.5:80", "fwmark/1/inet/203.0.113.5:0".
func (k DestinationKey) String() string {
	return k.Service.String() + "/" + k.Addr.String()
}

// ParseDestinationKey parses the output of DestinationKey.String.
func ParseDestinationKey(s string) (DestinationKey, error) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return DestinationKey{}, fmt.Errorf("parse ipvs destination %q: missing '/'", s)
	}
	svc, err := ParseServiceKey(s[:i])
	if err != nil {
		return DestinationKey{}, fmt.Errorf("parse ipvs destination %q: %w", s, err)
	}
	ap, err := netip.ParseAddrPort(s[i+1:])
	if err != nil {
		return DestinationKey{}, fmt.Errorf("parse ipvs destination %q: %w", s, err)
	}
	return DestinationKey{Service: svc, Addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}, nil
}

// VirtualServer is a service with its destinations, as returned by
// IPVS.ListAll.
type VirtualServer struct {
	Service      Service
	Destinations []Destination
}

// IPVS manages IP Virtual Server services and their destinations.
// Implementations return ErrUnsupported (wrapped) from every method when
// the kernel has no IPVS.
type IPVS interface {
	// ListServices returns every virtual service.
	ListServices() ([]Service, error)
	// GetService returns one service. ErrNotExist if absent.
	GetService(ServiceKey) (Service, error)
	// AddService adds a service. ErrExist if present.
	AddService(Service) error
	// UpdateService changes a service's scheduler, flags, timeout and
	// netmask in place, keeping its destinations. ErrNotExist if absent.
	UpdateService(Service) error
	// DelService deletes a service and its destinations. ErrNotExist if
	// absent.
	DelService(ServiceKey) error
	// ListDestinations returns the destinations of one service.
	// ErrNotExist if the service is absent.
	ListDestinations(ServiceKey) ([]Destination, error)
	// AddDestination adds a destination to a service. ErrExist if present,
	// ErrNotExist if the service is absent.
	AddDestination(ServiceKey, Destination) error
	// UpdateDestination changes a destination's weight, forwarding method
	// and thresholds in place (one kernel operation; connections are kept).
	// ErrNotExist if the service or destination is absent.
	UpdateDestination(ServiceKey, Destination) error
	// DelDestination deletes the destination with d's address and port.
	// ErrNotExist if absent.
	DelDestination(ServiceKey, Destination) error
	// ListAll returns every service with its destinations.
	ListAll() ([]VirtualServer, error)
}

// IPVSSomeLister is an optional interface of IPVS implementations that can
// read several services with their destinations at once (for instance over
// one netlink socket) rather than through a GetService and a
// ListDestinations call each.
//
// ListSome returns those of keys that exist, in the order of keys, each
// with its destinations; a key that names no service is left out, not an
// error.
type IPVSSomeLister interface {
	ListSome(keys []ServiceKey) ([]VirtualServer, error)
}

package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// ProtocolNumber is VRRP's IP protocol number (RFC 5798 §5.1.1.4).
const ProtocolNumber = 112

// TypeAdvertisement is the only VRRP packet type (RFC 5798 §5.2.2).
const TypeAdvertisement = 1

// VRRPv2 authentication types (RFC 3768 §5.3.6). RFC 3768 removed them from
// the protocol but keepalived still sends and checks type 1 (auth_type PASS).
const (
	AuthNone   = 0
	AuthSimple = 1 // keepalived "auth_type PASS": up to 8 bytes, zero padded
	AuthAH     = 2 // IPsec AH; not supported
)

// headerLen is the fixed part of a VRRP message; authDataLen the VRRPv2
// authentication data that follows the addresses (RFC 3768 §5.1).
const (
	headerLen   = 8
	authDataLen = 8
)

// Interval limits. VRRPv2 carries whole seconds in 8 bits (RFC 3768
// §5.3.7); VRRPv3 carries centiseconds in 12 bits (RFC 5798 §5.2.7).
const (
	maxIntervalV2 = 255 * time.Second
	centisecond   = 10 * time.Millisecond
	maxIntervalV3 = 4095 * centisecond
)

// Advertisement is a decoded VRRP advertisement, either version.
type Advertisement struct {
	Version  uint8 // 2 or 3
	Type     uint8 // TypeAdvertisement
	VRID     uint8
	Priority uint8 // 0 means the master is stopping, 255 the address owner
	// CountIPAddrs is the address count as carried on the wire; Marshal
	// writes len(Addresses) instead.
	CountIPAddrs uint8
	AuthType     uint8 // VRRPv2 only
	// AdverInt is the advertisement interval: whole seconds in VRRPv2,
	// centiseconds in VRRPv3 (Max Adver Int).
	AdverInt time.Duration
	// Checksum is the checksum as carried on the wire; Marshal computes it.
	Checksum  uint16
	Addresses []netip.Addr
	AuthData  [8]byte // VRRPv2 only
}

// DropReason says why a received advertisement was dropped. Each reason is
// also an error, matched with errors.Is or errors.As, and the name of a
// drop counter.
type DropReason string

// Receive checks (RFC 5798 §7.1, RFC 3768 §7.1) and their counters.
const (
	ErrTTL      DropReason = "ttl"            // TTL/hop limit not 255
	ErrLength   DropReason = "length"         // too short, or length does not match the address count
	ErrVersion  DropReason = "version"        // not our VRRP version
	ErrType     DropReason = "type"           // not an advertisement
	ErrChecksum DropReason = "checksum"       // bad checksum
	ErrVRID     DropReason = "vrid"           // no instance with this VRID
	ErrAuth     DropReason = "auth"           // VRRPv2 auth type or password mismatch
	ErrInterval DropReason = "interval"       // VRRPv2 advert interval differs from ours
	ErrAddrList DropReason = "address_list"   // addresses differ from ours (sender is not the owner)
	ErrPeer     DropReason = "unknown_peer"   // unicast: source is not a configured peer
	ErrFamily   DropReason = "address_family" // address family does not fit the version or instance
	ErrOwnAddr  DropReason = "own_address"    // our own advertisement looped back
)

// Error implements error.
func (r DropReason) Error() string { return "vrrp advertisement dropped: " + string(r) }

// Marshal encodes a with its checksum. src and dst are the IP source and
// destination: VRRPv3 checksums cover an IPv4 or IPv6 pseudo-header (RFC
// 5798 §5.2.8); the VRRPv2 checksum covers the VRRP message only (RFC 3768
// §5.3.8) and ignores them.
func (a *Advertisement) Marshal(src, dst netip.Addr) ([]byte, error) {
	if len(a.Addresses) > 255 {
		return nil, fmt.Errorf("vrrp: marshal: %d addresses, at most 255 fit", len(a.Addresses))
	}
	alen := 4
	switch a.Version {
	case 2:
		if a.AdverInt < time.Second || a.AdverInt > maxIntervalV2 || a.AdverInt%time.Second != 0 {
			return nil, fmt.Errorf("vrrp: marshal: VRRPv2 interval %v is not 1s..255s in whole seconds", a.AdverInt)
		}
	case 3:
		if a.AdverInt < centisecond || a.AdverInt > maxIntervalV3 || a.AdverInt%centisecond != 0 {
			return nil, fmt.Errorf("vrrp: marshal: VRRPv3 interval %v is not 10ms..40.95s in centiseconds", a.AdverInt)
		}
		if src.Is6() && !src.Is4In6() {
			alen = 16
		}
		if !src.IsValid() || !dst.IsValid() || src.Is6() != dst.Is6() {
			return nil, fmt.Errorf("vrrp: marshal: VRRPv3 needs source and destination of one family, got %v and %v", src, dst)
		}
	default:
		return nil, fmt.Errorf("vrrp: marshal: version %d: %w", a.Version, ErrVersion)
	}
	for _, addr := range a.Addresses {
		if (alen == 4) != addr.Is4() {
			return nil, fmt.Errorf("vrrp: marshal: address %v does not fit a VRRPv%d %s advertisement: %w",
				addr, a.Version, familyName(alen), ErrFamily)
		}
	}
	typ := a.Type
	if typ == 0 {
		typ = TypeAdvertisement
	}
	n := headerLen + alen*len(a.Addresses)
	if a.Version == 2 {
		n += authDataLen
	}
	b := make([]byte, n)
	b[0] = a.Version<<4 | typ&0x0f
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addresses))
	if a.Version == 2 {
		b[4] = a.AuthType
		b[5] = uint8(a.AdverInt / time.Second)
	} else {
		binary.BigEndian.PutUint16(b[4:], uint16(a.AdverInt/centisecond)&0x0fff)
	}
	off := headerLen
	for _, addr := range a.Addresses {
		if alen == 4 {
			v := addr.As4()
			copy(b[off:], v[:])
		} else {
			v := addr.As16()
			copy(b[off:], v[:])
		}
		off += alen
	}
	if a.Version == 2 {
		copy(b[off:], a.AuthData[:])
	}
	binary.BigEndian.PutUint16(b[6:], checksum(a.Version, src, dst, b))
	return b, nil
}

// Unmarshal decodes a VRRP message received from src for dst. It checks
// what can be checked without configuration: length, version, type, that
// the address count matches the length, and the checksum. The instance
// checks the rest (Validate).
func Unmarshal(b []byte, src, dst netip.Addr) (*Advertisement, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("vrrp: %d bytes, shorter than the %d-byte header: %w", len(b), headerLen, ErrLength)
	}
	a := &Advertisement{
		Version:      b[0] >> 4,
		Type:         b[0] & 0x0f,
		VRID:         b[1],
		Priority:     b[2],
		CountIPAddrs: b[3],
		Checksum:     binary.BigEndian.Uint16(b[6:]),
	}
	ipv6 := src.Is6() && !src.Is4In6()
	alen := 4
	switch a.Version {
	case 2:
		// RFC 3768 is IPv4 only.
		if ipv6 {
			return nil, fmt.Errorf("vrrp: VRRPv2 over IPv6 from %v: %w", src, ErrFamily)
		}
		a.AuthType = b[4]
		a.AdverInt = time.Duration(b[5]) * time.Second
	case 3:
		if ipv6 {
			alen = 16
		}
		a.AdverInt = time.Duration(binary.BigEndian.Uint16(b[4:])&0x0fff) * centisecond
	default:
		return nil, fmt.Errorf("vrrp: version %d: %w", a.Version, ErrVersion)
	}
	if a.Type != TypeAdvertisement {
		return nil, fmt.Errorf("vrrp: type %d: %w", a.Type, ErrType)
	}
	want := headerLen + alen*int(a.CountIPAddrs)
	if a.Version == 2 {
		want += authDataLen
	}
	if len(b) != want {
		return nil, fmt.Errorf("vrrp: %d addresses need %d bytes, got %d: %w", a.CountIPAddrs, want, len(b), ErrLength)
	}
	if sum := checksum(a.Version, src, dst, b); sum != 0 {
		return nil, fmt.Errorf("vrrp: checksum %#04x does not verify: %w", a.Checksum, ErrChecksum)
	}
	a.Addresses = make([]netip.Addr, 0, a.CountIPAddrs)
	off := headerLen
	for range int(a.CountIPAddrs) {
		if alen == 4 {
			a.Addresses = append(a.Addresses, netip.AddrFrom4([4]byte(b[off:off+4])))
		} else {
			a.Addresses = append(a.Addresses, netip.AddrFrom16([16]byte(b[off:off+16])))
		}
		off += alen
	}
	if a.Version == 2 {
		copy(a.AuthData[:], b[off:])
	}
	return a, nil
}

// checksum returns the internet checksum (RFC 1071) of b, over the IPv4 or
// IPv6 pseudo-header for VRRPv3 (RFC 5798 §5.2.8). Computed over a message
// whose checksum field is filled in, it returns 0 when the checksum is right.
func checksum(version uint8, src, dst netip.Addr, b []byte) uint16 {
	var sum uint32
	if version == 3 {
		if src.Is4() || src.Is4In6() {
			s, d := src.Unmap().As4(), dst.Unmap().As4()
			sum = sumWords(sum, s[:])
			sum = sumWords(sum, d[:])
			sum += ProtocolNumber + uint32(len(b))
		} else {
			s, d := src.As16(), dst.As16()
			sum = sumWords(sum, s[:])
			sum = sumWords(sum, d[:])
			sum += uint32(len(b))>>16 + uint32(len(b))&0xffff + ProtocolNumber
		}
	}
	sum = sumWords(sum, b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func sumWords(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	// Fold early so long inputs cannot overflow.
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return sum
}

func familyName(alen int) string {
	if alen == 16 {
		return "IPv6"
	}
	return "IPv4"
}

// AuthPass returns the VRRPv2 simple-password authentication data for
// pass: its first 8 bytes, zero padded (keepalived truncates longer
// passwords the same way).
func AuthPass(pass string) [8]byte {
	var d [8]byte
	copy(d[:], pass)
	return d
}

package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Config is one VRRP instance (keepalived's vrrp_instance) as the speaker
// needs it.
type Config struct {
	// Name identifies the instance in facts and logs ("VI_1").
	Name string
	// Version is 2 (RFC 3768, IPv4 only) or 3 (RFC 5798).
	Version uint8
	// VRID is the virtual router id, 1..255.
	VRID uint8
	// Priority is 1..255; 255 means the address owner, which becomes
	// master at once (RFC 5798 §6.4.1).
	Priority uint8
	// AdvertInterval is Advertisement_Interval: whole seconds for VRRPv2,
	// a multiple of 10ms up to 40.95s for VRRPv3.
	AdvertInterval time.Duration
	// NoPreempt is keepalived's nopreempt: a backup does not take over from
	// a lower-priority master (RFC 5798 Preempt_Mode False).
	NoPreempt bool
	// PreemptDelay is keepalived's preempt_delay: after first seeing a
	// lower-priority master, a backup waits this long before preempting it.
	PreemptDelay time.Duration
	// InitialState is the configured state (StateBackup or StateMaster;
	// zero means StateBackup). Like keepalived 2.2.7 the speaker always
	// starts as RFC 5798 §6.4.1 says (master at once only for priority
	// 255); offline plans use InitialState.
	InitialState State
	// Addresses are the virtual addresses carried in advertisements, all of
	// one family.
	Addresses []netip.Addr
	// AuthType and AuthPass are VRRPv2 authentication (keepalived
	// authentication { auth_type PASS; auth_pass ... }): AuthNone or
	// AuthSimple with up to 8 significant bytes.
	AuthType uint8
	AuthPass string
	// Source is this router's primary address: the IP source of its
	// advertisements (an IPv6 link-local address for IPv6) and the
	// tie-breaker between equal priorities (RFC 5798 §6.4.3). A Speaker
	// fills it from its VRRPConn when unset.
	Source netip.Addr
	// Peers are unicast peers (keepalived unicast_peer). When set,
	// advertisements go to each peer instead of the group, and adverts from
	// any other source are dropped (ErrPeer).
	Peers []netip.Addr
	// UnicastMinTTL and UnicastMaxTTL are keepalived's unicast_peer
	// min_ttl/max_ttl: in unicast mode, received TTLs/hop limits in this
	// range are accepted, for peers behind routers. Both zero means the
	// RFC's 255 only. (keepalived checks no TTL at all in unicast mode
	// unless they are given; hacfg is strict by default.)
	UnicastMinTTL, UnicastMaxTTL uint8
}

// acceptTTL reports whether a received TTL/hop limit passes the check of
// RFC 5798 §7.1 (255), widened for unicast by UnicastMinTTL/MaxTTL.
func (c *Config) acceptTTL(ttl int) bool {
	if ttl == 255 {
		return true
	}
	if len(c.Peers) == 0 || (c.UnicastMinTTL == 0 && c.UnicastMaxTTL == 0) {
		return false
	}
	hi := c.UnicastMaxTTL
	if hi == 0 {
		hi = 255
	}
	return ttl >= int(c.UnicastMinTTL) && ttl <= int(hi)
}

// Check reports every problem with c.
func (c *Config) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Version {
	case 2:
		if c.AdvertInterval < time.Second || c.AdvertInterval > maxIntervalV2 || c.AdvertInterval%time.Second != 0 {
			bad("advert interval %v: VRRPv2 needs whole seconds from 1s to 255s", c.AdvertInterval)
		}
		if c.Source.IsValid() && !c.Source.Is4() {
			bad("VRRPv2 is IPv4 only, source is %v", c.Source)
		}
		if c.AuthType != AuthNone && c.AuthType != AuthSimple {
			bad("auth type %d: only none (0) and PASS (1) are supported", c.AuthType)
		}
	case 3:
		if c.AdvertInterval < centisecond || c.AdvertInterval > maxIntervalV3 || c.AdvertInterval%centisecond != 0 {
			bad("advert interval %v: VRRPv3 needs a multiple of 10ms from 10ms to 40.95s", c.AdvertInterval)
		}
		if c.AuthType != AuthNone || c.AuthPass != "" {
			bad("VRRPv3 has no authentication (RFC 5798 §9)")
		}
	default:
		bad("version %d: must be 2 or 3", c.Version)
	}
	if c.VRID == 0 {
		bad("virtual router id 0: must be 1..255")
	}
	if c.Priority == 0 {
		bad("priority 0 is reserved for a stopping master: must be 1..255")
	}
	if c.PreemptDelay < 0 {
		bad("preempt delay %v is negative", c.PreemptDelay)
	}
	switch c.InitialState {
	case StateInit, StateBackup, StateMaster:
	default:
		bad("initial state %v: must be BACKUP or MASTER", c.InitialState)
	}
	if !c.Source.IsValid() {
		bad("no source address")
	}
	if len(c.Addresses) > 255 {
		bad("%d addresses: at most 255 fit an advertisement", len(c.Addresses))
	}
	for _, a := range c.Addresses {
		if c.Source.IsValid() && a.Is4() != c.Source.Is4() {
			bad("address %v is not of the source's family (%v)", a, c.Source)
		}
	}
	for _, p := range c.Peers {
		if c.Source.IsValid() && p.Is4() != c.Source.Is4() {
			bad("unicast peer %v is not of the source's family (%v)", p, c.Source)
		}
	}
	if c.UnicastMaxTTL != 0 && c.UnicastMinTTL > c.UnicastMaxTTL {
		bad("unicast min ttl %d is above max ttl %d", c.UnicastMinTTL, c.UnicastMaxTTL)
	}
	if (c.UnicastMinTTL != 0 || c.UnicastMaxTTL != 0) && len(c.Peers) == 0 {
		bad("unicast ttl range without unicast peers")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("vrrp instance %s (vrid %d): %w", c.Name, c.VRID, err)
	}
	return nil
}

// Validate applies the receive checks of RFC 5798 §7.1 and RFC 3768 §7.1
// that need the instance's configuration to an advertisement received from
// src. The TTL check and the checksum are done before (Instance.HandlePacket,
// Unmarshal). The error wraps the DropReason.
func Validate(c *Config, src netip.Addr, adv *Advertisement) error {
	switch {
	case src.Is4() != c.Source.Is4():
		return fmt.Errorf("vrrp: advert from %v to an instance with source %v: %w", src, c.Source, ErrFamily)
	case src == c.Source:
		return fmt.Errorf("vrrp: advert from our own address %v: %w", src, ErrOwnAddr)
	case len(c.Peers) > 0 && !slices.Contains(c.Peers, src):
		return fmt.Errorf("vrrp: advert from %v, not a unicast peer: %w", src, ErrPeer)
	case adv.Version != c.Version:
		return fmt.Errorf("vrrp: version %d, want %d: %w", adv.Version, c.Version, ErrVersion)
	case adv.VRID != c.VRID:
		return fmt.Errorf("vrrp: vrid %d, want %d: %w", adv.VRID, c.VRID, ErrVRID)
	}
	if c.Version == 2 {
		// RFC 3768 §7.1: authentication, then the interval must be ours.
		if adv.AuthType != c.AuthType {
			return fmt.Errorf("vrrp: auth type %d, want %d: %w", adv.AuthType, c.AuthType, ErrAuth)
		}
		if c.AuthType == AuthSimple && adv.AuthData != AuthPass(c.AuthPass) {
			return fmt.Errorf("vrrp: authentication password mismatch: %w", ErrAuth)
		}
		if adv.AdverInt != c.AdvertInterval {
			return fmt.Errorf("vrrp: advert interval %v, want %v: %w", adv.AdverInt, c.AdvertInterval, ErrInterval)
		}
	}
	// RFC 5798 §7.1 / RFC 3768 §7.1: an address list that differs from ours
	// is a misconfiguration; drop unless the sender is the address owner.
	if adv.Priority != 255 && !sameAddrs(adv.Addresses, c.Addresses) {
		return fmt.Errorf("vrrp: advert from %v carries addresses %v, want %v: %w", src, adv.Addresses, c.Addresses, ErrAddrList)
	}
	return nil
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.SortFunc(x, netip.Addr.Compare)
	slices.SortFunc(y, netip.Addr.Compare)
	return slices.Equal(x, y)
}

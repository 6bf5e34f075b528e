package vrrp_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime/vrrp"
)

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		edit func(*vrrp.Config)
		want string // substring of the error; "" means valid
	}{
		{name: "valid v3", edit: func(*vrrp.Config) {}},
		{name: "valid v2 PASS", edit: func(c *vrrp.Config) { c.Version, c.AuthType, c.AuthPass = 2, vrrp.AuthSimple, "x" }},
		{name: "version 4", edit: func(c *vrrp.Config) { c.Version = 4 }, want: "version 4"},
		{name: "vrid 0", edit: func(c *vrrp.Config) { c.VRID = 0 }, want: "virtual router id 0"},
		{name: "priority 0", edit: func(c *vrrp.Config) { c.Priority = 0 }, want: "priority 0"},
		{name: "v2 sub-second", edit: func(c *vrrp.Config) { c.Version, c.AdvertInterval = 2, 500*time.Millisecond }, want: "whole seconds"},
		{name: "v3 15ms", edit: func(c *vrrp.Config) { c.AdvertInterval = 15 * time.Millisecond }, want: "multiple of 10ms"},
		{name: "v3 auth", edit: func(c *vrrp.Config) { c.AuthType = vrrp.AuthSimple }, want: "no authentication"},
		{name: "v2 ipv6", edit: func(c *vrrp.Config) {
			c.Version, c.Source, c.Addresses = 2, netip.MustParseAddr("fe80::1"), []netip.Addr{netip.MustParseAddr("2001:db8::1")}
		}, want: "IPv4 only"},
		{name: "mixed families", edit: func(c *vrrp.Config) {
			c.Addresses = append(c.Addresses, netip.MustParseAddr("2001:db8::1"))
		}, want: "not of the source's family"},
		{name: "no source", edit: func(c *vrrp.Config) { c.Source = netip.Addr{} }, want: "no source address"},
		{name: "fault as initial state", edit: func(c *vrrp.Config) { c.InitialState = vrrp.StateFault }, want: "initial state FAULT"},
		{name: "negative preempt delay", edit: func(c *vrrp.Config) { c.PreemptDelay = -time.Second }, want: "negative"},
		{name: "unicast ttl without peers", edit: func(c *vrrp.Config) { c.UnicastMinTTL = 1 }, want: "without unicast peers"},
		{name: "unicast ttl range inverted", edit: func(c *vrrp.Config) {
			c.Peers, c.UnicastMinTTL, c.UnicastMaxTTL = []netip.Addr{netip.MustParseAddr("192.0.2.2")}, 200, 100
		}, want: "above max ttl"},
		{name: "all errors reported", edit: func(c *vrrp.Config) { c.VRID, c.Priority = 0, 0 }, want: "virtual router id 0: must be 1..255\npriority 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			tt.edit(&c)
			err := c.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

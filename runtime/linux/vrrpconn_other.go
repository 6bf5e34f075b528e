//go:build !linux

package linux

import (
	"fmt"
	"net/netip"

	"github.com/hacfg/hacfg/runtime"
)

// VRRPConnConfig says where to open a VRRP transport.
type VRRPConnConfig struct {
	Interface string
	Family    runtime.Family
	Source    netip.Addr
	NetNS     string
}

// VRRPConn is the raw-socket VRRP transport; elsewhere it cannot be opened.
type VRRPConn struct{ runtime.VRRPConn }

// DialVRRP returns an error wrapping runtime.ErrUnsupported on systems
// other than Linux.
func DialVRRP(cfg VRRPConnConfig) (*VRRPConn, error) {
	return nil, fmt.Errorf("linux: dial vrrp: not on Linux: %w", runtime.ErrUnsupported)
}

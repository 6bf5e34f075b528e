//go:build !linux

package linux

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/hacfg/hacfg/runtime"
)

// Announcer is runtime.Announcer on Linux packet sockets; elsewhere it
// cannot be opened.
type Announcer struct{}

var _ runtime.Announcer = (*Announcer)(nil)

// OpenAnnouncer returns an error wrapping runtime.ErrUnsupported on
// systems other than Linux.
func OpenAnnouncer(netnsPath string, log *slog.Logger) (*Announcer, error) {
	return nil, fmt.Errorf("announce: open: not on Linux: %w", runtime.ErrUnsupported)
}

// Announce returns an error wrapping runtime.ErrUnsupported.
func (a *Announcer) Announce(iface string, addrs []netip.Addr, hw net.HardwareAddr) error {
	return fmt.Errorf("announce on %s: not on Linux: %w", iface, runtime.ErrUnsupported)
}

// Close does nothing.
func (a *Announcer) Close() error { return nil }

//go:build !linux

package linux

import (
	"fmt"
	"log/slog"

	"github.com/hacfg/hacfg/runtime"
)

// LinkWatcher is runtime.LinkWatcher on Linux; elsewhere it cannot be
// opened.
type LinkWatcher struct{ runtime.LinkWatcher }

// OpenLinkWatcher returns an error wrapping runtime.ErrUnsupported on
// systems other than Linux.
func OpenLinkWatcher(netnsPath string, log *slog.Logger) (*LinkWatcher, error) {
	return nil, fmt.Errorf("linkwatch: open: not on Linux: %w", runtime.ErrUnsupported)
}

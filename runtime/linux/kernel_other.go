//go:build !linux

package linux

import (
	"fmt"
	"log/slog"

	"github.com/hacfg/hacfg/runtime"
)

// Kernel is runtime.Kernel on the Linux kernel; elsewhere it cannot be
// opened.
type Kernel struct{ runtime.Kernel }

// Open returns an error wrapping runtime.ErrUnsupported on systems other
// than Linux.
func Open(netnsPath string, log *slog.Logger) (*Kernel, error) {
	return nil, fmt.Errorf("linux: open: not on Linux: %w", runtime.ErrUnsupported)
}

// IPVSError returns runtime.ErrUnsupported.
func (k *Kernel) IPVSError() error { return runtime.ErrUnsupported }

// Close does nothing.
func (k *Kernel) Close() error { return nil }

//go:build !linux

package linux

import (
	"fmt"

	"github.com/hacfg/hacfg/runtime"
)

// ReleaseProgramPages returns an error wrapping runtime.ErrUnsupported on
// systems other than Linux.
func ReleaseProgramPages() (int64, error) {
	return 0, fmt.Errorf("release program pages: not on Linux: %w", runtime.ErrUnsupported)
}

// DisableHugePages returns an error wrapping runtime.ErrUnsupported on
// systems other than Linux.
func DisableHugePages() error {
	return fmt.Errorf("disable transparent huge pages: not on Linux: %w", runtime.ErrUnsupported)
}

// HugePagesDisabled returns an error wrapping runtime.ErrUnsupported on
// systems other than Linux.
func HugePagesDisabled() (bool, error) {
	return false, fmt.Errorf("transparent huge pages: not on Linux: %w", runtime.ErrUnsupported)
}

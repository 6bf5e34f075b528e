//go:build !linux

package check

import (
	"context"
	"fmt"

	"github.com/hacfg/hacfg/runtime"
)

// ExecRunner runs commands as processes; it is implemented on Linux only.
type ExecRunner struct{}

var _ Runner = ExecRunner{}

// Run returns runtime.ErrUnsupported.
func (ExecRunner) Run(ctx context.Context, cmd Command) (int, error) {
	return -1, fmt.Errorf("run command: %w", runtime.ErrUnsupported)
}

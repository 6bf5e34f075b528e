//go:build !linux

package check

import "syscall"

// reuseAddr does nothing outside Linux.
func reuseAddr(_, _ string, _ syscall.RawConn) error { return nil }

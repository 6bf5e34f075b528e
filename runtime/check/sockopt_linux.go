package check

import "syscall"

// reuseAddr sets SO_REUSEADDR, so that a fixed bind_port can be bound again
// while the previous check's connection from it lingers in TIME_WAIT.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

package linux

import (
	"errors"
	"syscall"

	"github.com/vishvananda/netlink"

	"github.com/hacfg/hacfg/runtime"
)

// opError is a failed kernel operation. It unwraps to both the underlying
// error (often a syscall.Errno) and the runtime sentinel it maps to.
type opError struct {
	op   string // "route: add 198.51.100.0/24 dev eth0"
	err  error
	kind error // a runtime sentinel, or nil
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }

func (e *opError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.err, e.kind}
}

// wrap annotates err with the operation and its runtime sentinel; nil
// stays nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err, kind: sentinel(err)}
}

// sentinel maps a kernel error to a runtime sentinel error.
func sentinel(err error) error {
	var lnf netlink.LinkNotFoundError
	if errors.As(err, &lnf) {
		return runtime.ErrNoDevice
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return nil
	}
	switch errno {
	case syscall.EEXIST:
		return runtime.ErrExist
	case syscall.ENOENT, syscall.ESRCH, syscall.EADDRNOTAVAIL:
		return runtime.ErrNotExist
	case syscall.ENODEV:
		return runtime.ErrNoDevice
	case syscall.EPERM, syscall.EACCES:
		return runtime.ErrPermission
	case syscall.EINVAL, syscall.ERANGE, syscall.EAFNOSUPPORT:
		return runtime.ErrInvalid
	case syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENETDOWN:
		return runtime.ErrUnreachable
	case syscall.EOPNOTSUPP, syscall.EPROTONOSUPPORT:
		return runtime.ErrUnsupported
	}
	return nil
}

package runtime

import "errors"

// Sentinel errors returned (wrapped) by every implementation of the kernel
// seams, so callers can decide with errors.Is without knowing errno values.
var (
	// ErrExist: the object already exists (EEXIST).
	ErrExist = errors.New("already exists")
	// ErrNotExist: the object does not exist (ENOENT, ESRCH, EADDRNOTAVAIL).
	ErrNotExist = errors.New("does not exist")
	// ErrNoDevice: the named interface does not exist (ENODEV).
	ErrNoDevice = errors.New("no such device")
	// ErrUnsupported: the kernel lacks the feature (for example no IPVS), or
	// the platform is not Linux.
	ErrUnsupported = errors.New("not supported")
	// ErrPermission: the caller lacks the privilege (EPERM, EACCES).
	ErrPermission = errors.New("permission denied")
	// ErrInvalid: the kernel refused the request as malformed (EINVAL,
	// ERANGE, EAFNOSUPPORT).
	ErrInvalid = errors.New("invalid argument")
	// ErrUnreachable: a route's gateway is not reachable, or its device is
	// down (ENETUNREACH, EHOSTUNREACH, ENETDOWN).
	ErrUnreachable = errors.New("network unreachable")
)

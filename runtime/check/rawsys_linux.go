package check

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loop's system calls never block: its sockets are non-blocking,
// close is abortive (SO_LINGER 0) and it polls epoll with a zero timeout,
// parking in the scheduler when there is nothing to do. So they are made
// raw, without telling the scheduler: a system call through
// syscall.Syscall wakes the runtime's monitor thread whenever the process
// was idle, which then polls every 20 µs for a millisecond. At a few
// hundred checks a second that was two thirds of the checker's system
// calls (strace: 25 per check, against the 6 a check needs).

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func sysConnect(fd int, a netip.AddrPort) error {
	var e unix.Errno
	if ip := a.Addr().Unmap(); ip.Is4() {
		sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(a.Port()>>8), byte(a.Port())
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	} else {
		sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(a.Port()>>8), byte(a.Port())
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	}
	return errnoErr(e)
}

// sysDisconnect dissolves fd's connection (connect to AF_UNSPEC): a
// connected TCP socket sends a reset, and can connect again.
func sysDisconnect(fd int) error {
	sa := unix.RawSockaddr{Family: unix.AF_UNSPEC}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	return errnoErr(e)
}

// sysLingerZero makes close abortive: a reset, no TIME_WAIT.
func sysLingerZero(fd int) error {
	l := unix.Linger{Onoff: 1}
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER, uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	return errnoErr(e)
}

// sysSoError returns the socket's pending error (SO_ERROR).
func sysSoError(fd int) error {
	var v int32
	n := uint32(unsafe.Sizeof(v))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR, uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return e
	}
	return errnoErr(unix.Errno(v))
}

func sysClose(fd int) {
	_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

func sysRead(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func sysWrite(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// epollNow returns the events ready now (epoll_pwait with a zero timeout).
func epollNow(epfd int, events []unix.EpollEvent) (int, error) {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
		if e != unix.EINTR {
			return int(n), errnoErr(e)
		}
	}
}

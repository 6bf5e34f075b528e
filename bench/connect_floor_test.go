package bench

import (
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkConnectFloor runs BenchmarkConnectFloorInVM in a VM: the kernel's
// cost of one TCP_CHECK (socket, SO_LINGER, connect, wait, SO_ERROR, close)
// on loopback under TCG, made with bare system calls from one locked
// thread, without any scheduler or checker around it: the floor under
// the health-check benchmark's CPU per check.
//
//	go test -run '^$' -bench '^BenchmarkConnectFloor$' -benchtime 1x ./bench
func BenchmarkConnectFloor(b *testing.B) {
	vmBench{inVM: "BenchmarkConnectFloorInVM", memory: 1024, timeout: 10 * time.Minute,
		kernelArgs: []string{"tsc=reliable"}}.run(b)
}

// BenchmarkConnectFloorInVM makes 2,000 checks at 200 a second (the
// health-check benchmark's default rate) against a loopback listener and
// prints the CPU per check of the checking thread alone (RUSAGE_THREAD:
// its system calls and the softirq work they trigger).
func BenchmarkConnectFloorInVM(b *testing.B) {
	if os.Getenv("HACFG_IPVS") != "1" {
		b.Skip("runs in the VM (BenchmarkConnectFloor)")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, mode := range []string{"rst", "fin"} {
		const n, rate = 2000, 200
		goruntime.LockOSThread()
		var r0, r1 unix.Rusage
		_ = unix.Getrusage(unix.RUSAGE_THREAD, &r0)
		start := time.Now()
		for i := range n {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / rate)); d > 0 {
				time.Sleep(d)
			}
			if err := floorCheck(port, mode == "rst"); err != nil {
				b.Fatal(err)
			}
		}
		_ = unix.Getrusage(unix.RUSAGE_THREAD, &r1)
		goruntime.UnlockOSThread()
		cpu := time.Duration(r1.Utime.Nano()-r0.Utime.Nano()) + time.Duration(r1.Stime.Nano()-r0.Stime.Nano())
		fmt.Printf("connect floor (%s close): %.0f µs CPU per check (user %.0f, system %.0f) over %d checks\n", mode,
			float64(cpu.Microseconds())/n, float64(r1.Utime.Nano()-r0.Utime.Nano())/1e3/n, float64(r1.Stime.Nano()-r0.Stime.Nano())/1e3/n, n)
	}
}

// floorCheck is one TCP check in bare system calls.
func floorCheck(port int, reset bool) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if reset {
		if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1}); err != nil {
			return err
		}
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil && err != unix.EINPROGRESS {
		return err
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		_, err := unix.Poll(pfd, 1000)
		if err != syscall.EINTR {
			break
		}
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if soerr != 0 {
		return unix.Errno(soerr)
	}
	return nil
}

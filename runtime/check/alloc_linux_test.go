package check

import (
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/schema"
)

// rawListener listens on 127.0.0.1 and accepts and closes connections
// with raw system calls, so that serving them allocates nothing in this
// process. It returns the address and the count of connections accepted.
func rawListener(t *testing.T) (netip.AddrPort, *atomic.Int64) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1024); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	var accepted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, _, errno := syscall.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
			if errno == unix.EINTR || errno == unix.ECONNABORTED {
				continue
			}
			if errno != 0 {
				return // the listener was shut down
			}
			accepted.Add(1)
			syscall.Syscall(unix.SYS_CLOSE, c, 0, 0)
		}
	}()
	t.Cleanup(func() {
		unix.Shutdown(fd, unix.SHUT_RDWR) // ends the blocked accept
		<-done
		unix.Close(fd)
	})
	return addr, &accepted
}

// TestLoopCheckAllocatesNothing: a TCP_CHECK on the event loop, from its
// timer to its result, allocates nothing. At thousands of checks a second,
// an allocation a check is garbage the collector must keep up with, and
// heap the agent holds between collections.
func TestLoopCheckAllocatesNothing(t *testing.T) {
	up, accepted := rawListener(t)
	var rss []*schema.RealServer
	for i := range 20 {
		rss = append(rss, &schema.RealServer{Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 4, byte(i + 1)}), 80),
			Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: schema.CheckCommon{ConnectIP: up.Addr(), ConnectPort: int(up.Port()),
				ConnectTimeout: dur(time.Second), Warmup: dur(time.Millisecond)}}}}})
	}
	m := New(resolve(t, oneVS(&schema.VirtualServer{DelayLoop: dur(5 * time.Millisecond), RealServers: rss})), Options{})
	t.Cleanup(m.Stop)
	waitFor(t, 5*time.Second, "checks running", func() bool { return accepted.Load() > 200 })

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n0 := accepted.Load()
	time.Sleep(500 * time.Millisecond)
	n := accepted.Load() - n0
	runtime.ReadMemStats(&after)
	mallocs := after.Mallocs - before.Mallocs
	if n < 200 {
		t.Fatalf("only %d checks in 500 ms", n)
	}
	// The test's own goroutines and the runtime allocate a little now and
	// then; an allocation a check would be one per check at least.
	if per := float64(mallocs) / float64(n); per > 0.1 {
		t.Errorf("%d allocations for %d checks: %.2f a check, want none", mallocs, n, per)
	}
	t.Logf("%d checks, %d allocations", n, mallocs)
}

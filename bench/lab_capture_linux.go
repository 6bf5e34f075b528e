//go:build linux

package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// FrameKind is what a captured frame is.
type FrameKind int

// The frames a Capture keeps.
const (
	// FrameGARP is a gratuitous ARP (sender and target address equal).
	FrameGARP FrameKind = iota + 1
	// FrameNA is an ICMPv6 neighbour advertisement.
	FrameNA
	// FrameVRRP is a VRRP advertisement (IPv4 or IPv6).
	FrameVRRP
)

// Frame is one captured frame, with the kernel's receive timestamp.
type Frame struct {
	At   time.Time
	Kind FrameKind
	Src  net.HardwareAddr // Ethernet source
	// Addr is the announced address (GARP, NA) or the IP source (VRRP).
	Addr netip.Addr
	// VRID and Priority of a VRRP advertisement.
	VRID, Priority int
}

// Capture records gratuitous ARPs, neighbour advertisements and VRRP
// adverts seen on a host's eth0 with a raw AF_PACKET socket in its
// namespace.
type Capture struct {
	fd   int
	mu   sync.Mutex
	seen []Frame
	stop chan struct{}
	done chan struct{}
}

// Capture starts capturing in the host until the test ends.
func (h *Host) Capture() *Capture {
	h.lab.tb.Helper()
	c, err := openCapture(h.Path)
	if err != nil {
		h.lab.tb.Fatalf("capture in %s: %v", h.Name, err)
	}
	h.lab.tb.Cleanup(c.Close)
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func openCapture(nsPath string) (*Capture, error) {
	var fd int
	err := inNetns(nsPath, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			unix.Close(fd)
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("SO_RCVTIMEO: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("SO_RCVBUF: %w", err)
	}
	c := &Capture{fd: fd, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c, nil
}

// inNetns runs f on a thread in the namespace at path. Sockets opened by f
// stay in that namespace.
func inNetns(path string, f func() error) error {
	goruntime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("current netns: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromPath(path)
	if err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("open netns %s: %w", path, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("enter netns %s: %w", path, err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: it dies with this goroutine.
		return errors.Join(ferr, fmt.Errorf("leave netns %s: %w", path, err))
	}
	goruntime.UnlockOSThread()
	return ferr
}

func (c *Capture) loop() {
	defer close(c.done)
	buf := make([]byte, 2048)
	oob := make([]byte, 128)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		n, oobn, _, _, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err != nil {
			continue // timeout (EAGAIN) or interrupted
		}
		at := time.Now()
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
					sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
					nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
					at = time.Unix(sec, nsec)
				}
			}
		}
		if f, ok := parseFrame(buf[:n]); ok {
			f.At = at
			c.mu.Lock()
			c.seen = append(c.seen, f)
			c.mu.Unlock()
		}
	}
}

func parseFrame(b []byte) (Frame, bool) {
	if len(b) < 14 {
		return Frame{}, false
	}
	f := Frame{Src: append(net.HardwareAddr(nil), b[6:12]...)}
	p := b[14:]
	switch binary.BigEndian.Uint16(b[12:14]) {
	case unix.ETH_P_ARP:
		// htype ptype hlen plen op sha(6) spa(4) tha(6) tpa(4)
		if len(p) < 28 || p[4] != 6 || p[5] != 4 {
			return f, false
		}
		spa, tpa := netip.AddrFrom4([4]byte(p[14:18])), netip.AddrFrom4([4]byte(p[24:28]))
		if spa != tpa {
			return f, false
		}
		f.Kind, f.Addr = FrameGARP, spa
		return f, true
	case unix.ETH_P_IP:
		if len(p) < 20 || p[9] != 112 {
			return f, false
		}
		ihl := int(p[0]&0x0f) * 4
		if len(p) < ihl+3 {
			return f, false
		}
		f.Kind, f.Addr = FrameVRRP, netip.AddrFrom4([4]byte(p[12:16]))
		f.VRID, f.Priority = int(p[ihl+1]), int(p[ihl+2])
		return f, true
	case unix.ETH_P_IPV6:
		if len(p) < 40 {
			return f, false
		}
		src := netip.AddrFrom16([16]byte(p[8:24]))
		switch p[6] {
		case 112:
			if len(p) < 43 {
				return f, false
			}
			f.Kind, f.Addr, f.VRID, f.Priority = FrameVRRP, src, int(p[41]), int(p[42])
			return f, true
		case 58:
			// ICMPv6 type 136, target at offset 8.
			if len(p) < 40+24 || p[40] != 136 {
				return f, false
			}
			f.Kind, f.Addr = FrameNA, netip.AddrFrom16([16]byte(p[48:64]))
			return f, true
		}
	}
	return f, false
}

// Close stops the capture.
func (c *Capture) Close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	<-c.done
	unix.Close(c.fd)
}

// Frames returns the frames captured so far that match.
func (c *Capture) Frames(match func(Frame) bool) []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Frame
	for _, f := range c.seen {
		if match(f) {
			out = append(out, f)
		}
	}
	return out
}

// Reset forgets the frames captured so far.
func (c *Capture) Reset() {
	c.mu.Lock()
	c.seen = nil
	c.mu.Unlock()
}

// Announces matches the gratuitous ARPs and neighbour advertisements of
// addr sent from mac (any sender if mac is nil) at or after since.
func Announces(addr netip.Addr, mac net.HardwareAddr, since time.Time) func(Frame) bool {
	return func(f Frame) bool {
		return (f.Kind == FrameGARP || f.Kind == FrameNA) && f.Addr == addr &&
			(mac == nil || f.Src.String() == mac.String()) && !f.At.Before(since)
	}
}

// WaitFirst waits until a frame matches and returns the first one.
func (c *Capture) WaitFirst(match func(Frame) bool, timeout time.Duration) (Frame, error) {
	var got Frame
	err := Poll(timeout, time.Millisecond, func() bool {
		fs := c.Frames(match)
		if len(fs) > 0 {
			got = fs[0]
			return true
		}
		return false
	})
	return got, err
}

//go:build linux

package bench

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Lab is a LAN made of network namespaces: one namespace holds a bridge
// (br0), and every host — the load balancers and a client — lives in its
// own namespace, joined to the bridge by a veth pair whose inner end is
// eth0. Host N (load balancers 1…, the client 200) has 192.0.2.N/24,
// 2001:db8::N/64 and the MAC 02:00:00:00:00:NN (hex of N).
//
// Everything is deleted when the test ends, failed or not: the processes a
// lab started are killed first (t.Cleanup runs in reverse order), then
// every process still inside its namespaces, then the namespaces.
type Lab struct {
	tb     testing.TB
	Bridge *Host // the bridge's namespace (no address)
	Client *Host
	LBs    []*Host
	// Dir is a short private directory for configs, sockets and logs.
	Dir string

	brHandle *netlink.Handle
}

// Host is one namespace of a lab.
type Host struct {
	lab  *Lab
	Name string // namespace name
	Path string // /run/netns/Name
	// Port is the host's veth end in the bridge namespace.
	Port string
	MAC  net.HardwareAddr
	IP4  netip.Addr
	IP6  netip.Addr

	handle *netlink.Handle
}

// RequireLab skips the test unless it runs as root with the named commands
// (ip is always needed) on PATH; under HACFG_REQUIRE_ALL=1 it fails
// instead of skipping.
func RequireLab(tb testing.TB, cmds ...string) {
	tb.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, c := range append([]string{"ip"}, cmds...) {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
		tb.Fatalf("HACFG_REQUIRE_ALL=1 but %s missing", strings.Join(missing, ", "))
	}
	tb.Skipf("needs %s", strings.Join(missing, ", "))
}

// NewLab builds a lab with lbs load balancers and a client.
func NewLab(tb testing.TB, lbs int) *Lab {
	tb.Helper()
	h := fnv.New32a()
	h.Write([]byte(tb.Name()))
	prefix := fmt.Sprintf("hl%d-%08x", os.Getpid(), h.Sum32())
	// A test may build several labs, one after another or at once.
	for i := 2; ; i++ {
		if _, err := os.Stat("/run/netns/" + prefix + "-br"); errors.Is(err, os.ErrNotExist) {
			break
		}
		prefix = fmt.Sprintf("hl%d-%08x-%d", os.Getpid(), h.Sum32(), i)
	}
	dir, err := os.MkdirTemp("", "hlab")
	if err != nil {
		tb.Fatal(err)
	}
	l := &Lab{tb: tb, Dir: dir}
	tb.Cleanup(func() { l.destroy() })

	l.Bridge = l.addNS(prefix+"-br", "", 0)
	l.run("ip", "-n", l.Bridge.Name, "link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
	l.run("ip", "-n", l.Bridge.Name, "link", "set", "br0", "up")
	for i := 1; i <= lbs; i++ {
		l.LBs = append(l.LBs, l.addNS(fmt.Sprintf("%s-lb%d", prefix, i), fmt.Sprintf("p%d", i), i))
	}
	l.Client = l.addNS(prefix+"-client", "pc", 200)
	l.brHandle = l.Bridge.Handle()
	return l
}

func (l *Lab) addNS(name, port string, n int) *Host {
	l.tb.Helper()
	h := &Host{lab: l, Name: name, Path: "/run/netns/" + name, Port: port}
	l.run("ip", "netns", "add", name)
	l.run("ip", "-n", name, "link", "set", "lo", "up")
	if port == "" {
		return h
	}
	h.MAC = net.HardwareAddr{2, 0, 0, 0, 0, byte(n)}
	h.IP4 = netip.AddrFrom4([4]byte{192, 0, 2, byte(n)})
	h.IP6 = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", n))
	br := l.Bridge.Name
	l.run("ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name)
	l.run("ip", "-n", br, "link", "set", port, "master", "br0", "up")
	// No duplicate address detection: a tentative link-local address
	// cannot source VRRPv3 adverts for the first seconds.
	l.run("ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
	l.run("ip", "-n", name, "link", "set", "eth0", "address", h.MAC.String(), "up")
	l.run("ip", "-n", name, "addr", "add", h.IP4.String()+"/24", "dev", "eth0")
	l.run("ip", "-n", name, "addr", "add", h.IP6.String()+"/64", "dev", "eth0", "nodad")
	return h
}

func (l *Lab) destroy() {
	for _, h := range append(append([]*Host{l.Client}, l.LBs...), l.Bridge) {
		if h == nil {
			continue
		}
		if h.handle != nil {
			h.handle.Close()
		}
		// Any process still inside one of our namespaces is ours.
		if out, err := exec.Command("ip", "netns", "pids", h.Name).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				var pid int
				if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
					_ = unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
		if out, err := exec.Command("ip", "netns", "del", h.Name).CombinedOutput(); err != nil {
			l.tb.Logf("lab cleanup: ip netns del %s: %v: %s", h.Name, err, out)
		}
	}
	os.RemoveAll(l.Dir)
}

// run runs a command and fails the test if it fails.
func (l *Lab) run(name string, args ...string) string {
	l.tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		l.tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Handle is a netlink handle in the host's namespace, closed with the lab.
func (h *Host) Handle() *netlink.Handle {
	if h.handle != nil {
		return h.handle
	}
	ns, err := netns.GetFromPath(h.Path)
	if err != nil {
		h.lab.tb.Fatalf("open netns %s: %v", h.Name, err)
	}
	defer ns.Close()
	hd, err := netlink.NewHandleAt(ns)
	if err != nil {
		h.lab.tb.Fatalf("netlink in %s: %v", h.Name, err)
	}
	h.handle = hd
	return hd
}

// Cut takes the host off the bridge (its veth end in the bridge namespace
// goes down) and returns the moment just before the cut.
func (l *Lab) Cut(h *Host) time.Time {
	l.tb.Helper()
	return l.setPort(h, false)
}

// Restore puts the host back on the bridge.
func (l *Lab) Restore(h *Host) {
	l.tb.Helper()
	l.setPort(h, true)
}

func (l *Lab) setPort(h *Host, up bool) time.Time {
	l.tb.Helper()
	link, err := l.brHandle.LinkByName(h.Port)
	if err != nil {
		l.tb.Fatalf("port %s: %v", h.Port, err)
	}
	at := time.Now()
	if up {
		err = l.brHandle.LinkSetUp(link)
	} else {
		err = l.brHandle.LinkSetDown(link)
	}
	if err != nil {
		l.tb.Fatalf("set port %s up=%v: %v", h.Port, up, err)
	}
	return at
}

// Isolate makes the hosts' bridge ports isolated: they no longer reach one
// another, but still reach every other host (bridge port isolation). Two
// backups measured side by side must not hear each other's adverts.
func (l *Lab) Isolate(hosts ...*Host) {
	l.tb.Helper()
	for _, h := range hosts {
		l.run("ip", "-n", l.Bridge.Name, "link", "set", "dev", h.Port, "type", "bridge_slave", "isolated", "on")
	}
}

// HasAddr says whether the host's eth0 has the address (CIDR or bare).
func (h *Host) HasAddr(addr string) bool {
	h.lab.tb.Helper()
	a := strings.SplitN(addr, "/", 2)[0]
	want := netip.MustParseAddr(a)
	link, err := h.Handle().LinkByName("eth0")
	if err != nil {
		h.lab.tb.Fatalf("%s eth0: %v", h.Name, err)
	}
	addrs, err := h.Handle().AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		h.lab.tb.Fatalf("%s addresses: %v", h.Name, err)
	}
	for _, x := range addrs {
		if got, ok := netip.AddrFromSlice(x.IP); ok && got.Unmap() == want {
			return true
		}
	}
	return false
}

// Addrs is `ip -o addr show dev eth0` in the host, for messages.
func (h *Host) Addrs() string {
	out, _ := exec.Command("ip", "-n", h.Name, "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	return string(out)
}

// Ping sends one echo request from the host to addr and waits up to 1 s
// for the reply.
func (h *Host) Ping(addr netip.Addr) error {
	args := []string{"netns", "exec", h.Name, "ping", "-n", "-c", "1", "-W", "1"}
	if addr.Is6() {
		args = append(args, "-6")
	}
	out, err := exec.Command("ip", append(args, addr.String())...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %w\n%s", addr, h.Name, err, out)
	}
	return nil
}

// Neigh returns the MAC of addr in the host's neighbour table ("" if none).
func (h *Host) Neigh(addr netip.Addr) string {
	h.lab.tb.Helper()
	fam := netlink.FAMILY_V4
	if addr.Is6() {
		fam = netlink.FAMILY_V6
	}
	link, err := h.Handle().LinkByName("eth0")
	if err != nil {
		h.lab.tb.Fatalf("%s eth0: %v", h.Name, err)
	}
	ns, err := h.Handle().NeighList(link.Attrs().Index, fam)
	if err != nil {
		h.lab.tb.Fatalf("%s neighbours: %v", h.Name, err)
	}
	for _, n := range ns {
		if got, ok := netip.AddrFromSlice(n.IP); ok && got.Unmap() == addr && n.HardwareAddr != nil {
			return n.HardwareAddr.String()
		}
	}
	return ""
}

// WaitNeigh waits until the host's neighbour entry for addr is mac.
func (h *Host) WaitNeigh(addr netip.Addr, mac net.HardwareAddr, timeout time.Duration) error {
	h.lab.tb.Helper()
	var got string
	err := Poll(timeout, 5*time.Millisecond, func() bool {
		got = h.Neigh(addr)
		return got == mac.String()
	})
	if err != nil {
		out, _ := exec.Command("ip", "-n", h.Name, "neigh").CombinedOutput()
		return fmt.Errorf("neighbour %s on %s is %q, want %s (%w); table:\n%s", addr, h.Name, got, mac, err, out)
	}
	return nil
}

// ErrTimeout is returned by Poll.
var ErrTimeout = errors.New("timed out")

// Poll calls cond every interval until it returns true or timeout passes.
func Poll(timeout, interval time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, ErrTimeout)
		}
		time.Sleep(interval)
	}
}

// WriteFile writes a file in the lab's directory and returns its path.
func (l *Lab) WriteFile(name, content string) string {
	l.tb.Helper()
	p := filepath.Join(l.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		l.tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		l.tb.Fatal(err)
	}
	return p
}

// AddrWatch records the address deletions in a host's namespace.
type AddrWatch struct {
	done    chan struct{}
	updates chan netlink.AddrUpdate
	deleted chan netip.Prefix
}

// WatchAddrs subscribes to the host's address changes until the test ends.
func (h *Host) WatchAddrs() *AddrWatch {
	h.lab.tb.Helper()
	ns, err := netns.GetFromPath(h.Path)
	if err != nil {
		h.lab.tb.Fatal(err)
	}
	w := &AddrWatch{done: make(chan struct{}), updates: make(chan netlink.AddrUpdate, 256), deleted: make(chan netip.Prefix, 256)}
	err = netlink.AddrSubscribeWithOptions(w.updates, w.done, netlink.AddrSubscribeOptions{Namespace: &ns})
	ns.Close()
	if err != nil {
		h.lab.tb.Fatalf("subscribe to addresses in %s: %v", h.Name, err)
	}
	go func() {
		for u := range w.updates {
			if u.NewAddr {
				continue
			}
			if a, ok := netip.AddrFromSlice(u.LinkAddress.IP); ok {
				ones, _ := u.LinkAddress.Mask.Size()
				select {
				case w.deleted <- netip.PrefixFrom(a.Unmap(), ones):
				default:
				}
			}
		}
	}()
	h.lab.tb.Cleanup(func() { close(w.done) })
	return w
}

// Deleted returns the addresses deleted so far.
func (w *AddrWatch) Deleted() []netip.Prefix {
	var out []netip.Prefix
	for {
		select {
		case p := <-w.deleted:
			out = append(out, p)
		default:
			return out
		}
	}
}

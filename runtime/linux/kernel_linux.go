package linux

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

// Kernel is runtime.Kernel on the Linux kernel of one network namespace.
// It is safe for concurrent use.
type Kernel struct {
	log  *slog.Logger
	nl   *netlink.Handle
	addr *nl.SocketHandle // NETLINK_ROUTE socket for hand-built address messages

	ipvsMu  sync.Mutex // moby/ipvs matches replies by sequence on one socket
	ipvs    *ipvs.Handle
	ipvsErr error // why IPVS is unusable, wrapping runtime.ErrUnsupported
	// The batch socket kept while HoldIPVSBatch holds it (ipvsMu).
	batchHolds int
	batchSock  *ipvsSock
	listSock   *ipvsSock // ListSome's, when no batch socket is held
}

var _ runtime.Kernel = (*Kernel)(nil)

// Open connects to the kernel in the network namespace at netnsPath (for
// example /var/run/netns/lb1 or /proc/1234/ns/net), or in the current
// namespace when netnsPath is empty. A kernel without IPVS is not an
// error: see IPVSError.
func Open(netnsPath string, log *slog.Logger) (*Kernel, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns := netns.None()
	if netnsPath != "" {
		var err error
		ns, err = netns.GetFromPath(netnsPath)
		if err != nil {
			return nil, fmt.Errorf("open network namespace %s: %w", netnsPath, err)
		}
		defer ns.Close()
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, wrap("netlink: open", err)
	}
	s, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		return nil, wrap("netlink: open", err)
	}
	_ = s.SetExtAck(true) // error messages are a bonus; old kernels lack them
	k := &Kernel{log: log, nl: h, addr: &nl.SocketHandle{Socket: s}}
	k.ipvs, k.ipvsErr = openIPVS(h, netnsPath)
	if k.ipvsErr != nil {
		log.Debug("ipvs unavailable", "err", k.ipvsErr)
	}
	return k, nil
}

// openIPVS opens moby/ipvs in the namespace after checking that the kernel
// knows the IPVS generic netlink family. The check matters: moby/ipvs
// looks the family up once per process, and a failed lookup leaves it
// sending requests the kernel silently acknowledges, so that a missing
// IPVS would look like an empty one.
func openIPVS(h *netlink.Handle, netnsPath string) (*ipvs.Handle, error) {
	if _, err := h.GenlFamilyGet("IPVS"); err != nil {
		return nil, noIPVS(err)
	}
	ih, err := ipvs.New(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("ipvs: open: %w", err)
	}
	// A real IPVS answers ESRCH for a missing service; moby/ipvs with a
	// failed family lookup gets an empty acknowledgement instead.
	_, err = ih.GetService(&ipvs.Service{AddressFamily: unix.AF_INET, FWMark: 0xfffffffe, SchedName: "rr"})
	var errno unix.Errno
	if err != nil && !errors.As(err, &errno) {
		ih.Close()
		return nil, noIPVS(fmt.Errorf("moby/ipvs could not resolve the IPVS netlink family when first used in this process (was ip_vs loaded later?): %w", err))
	}
	return ih, nil
}

func noIPVS(err error) error {
	return fmt.Errorf("ipvs: kernel has no IP Virtual Server support (is ip_vs loaded?): %w: %w", err, runtime.ErrUnsupported)
}

// IPVSError returns nil when IPVS is usable, otherwise the error (wrapping
// runtime.ErrUnsupported) every IPVS method returns.
func (k *Kernel) IPVSError() error { return k.ipvsErr }

// Close releases the netlink sockets.
func (k *Kernel) Close() error {
	k.nl.Close()
	k.addr.Close()
	k.ipvsMu.Lock()
	defer k.ipvsMu.Unlock()
	if k.ipvs != nil {
		k.ipvs.Close()
		k.ipvs = nil
	}
	for _, s := range []**ipvsSock{&k.batchSock, &k.listSock} {
		if *s != nil {
			(*s).close()
			*s = nil
		}
	}
	return nil
}

// linkNames maps interface indexes to names.
func (k *Kernel) linkNames() (map[int]string, error) {
	links, err := k.nl.LinkList()
	if err != nil {
		return nil, err
	}
	m := make(map[int]string, len(links))
	for _, l := range links {
		m[l.Attrs().Index] = l.Attrs().Name
	}
	return m, nil
}

// linkIndex returns the index of the named interface.
func (k *Kernel) linkIndex(name string) (int, error) {
	l, err := k.nl.LinkByName(name)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

// retryDump runs a netlink dump again when the kernel reports it was
// interrupted by a concurrent change.
func retryDump(f func() error) error {
	var err error
	for range 5 {
		if err = f(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return err
		}
	}
	return err
}

package bench

import (
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// benchNS is a fresh network namespace with lo up, so that each tool
// loads its table into an IPVS of its own. A namespace that held a table
// is no fair ground for the next load: the kernel keeps deleted
// destinations in a per-namespace trash list for a minute or two and
// searches it, linearly, on every destination it adds.
type benchNS struct {
	ns, orig netns.NsHandle
}

func newBenchNS() (*benchNS, error) {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("netns: current: %w", err)
	}
	ns, err := netns.New() // moves this thread into it
	if err != nil {
		orig.Close()
		return nil, fmt.Errorf("netns: new: %w", err)
	}
	b := &benchNS{ns: ns, orig: orig}
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo) // without lo up IPVS rejects destinations
	}
	if setErr := netns.Set(orig); setErr != nil {
		panic(fmt.Sprintf("netns: cannot return to the original namespace: %v", setErr))
	}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("netns: lo up: %w", err)
	}
	return b, nil
}

func (b *benchNS) close() {
	b.ns.Close()
	b.orig.Close()
}

// path names the namespace for linux.Open.
func (b *benchNS) path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(b.ns)) }

// do runs f on a thread inside the namespace: sockets f opens and
// processes it starts belong to it.
func (b *benchNS) do(f func() error) error {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	if err := netns.Set(b.ns); err != nil {
		return fmt.Errorf("netns: enter: %w", err)
	}
	defer func() {
		if err := netns.Set(b.orig); err != nil {
			panic(fmt.Sprintf("netns: cannot return to the original namespace: %v", err))
		}
	}()
	return f()
}

// measure runs cmd inside the namespace: the child is forked from a
// thread that has entered it.
func (b *benchNS) measure(cmd *exec.Cmd) (r run, err error) {
	err = b.do(func() error {
		r, err = measure(cmd)
		return err
	})
	return r, err
}

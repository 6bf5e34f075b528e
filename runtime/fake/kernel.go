package fake

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/hacfg/hacfg/runtime"
)

// Kernel is a stateful in-memory model of the kernel state hacfg manages:
// links, addresses, routes, rules and IPVS. It implements runtime.Kernel
// and rejects what the real kernel rejects (see the package doc).
//
// The zero value is not usable; call NewKernel. Kernel is safe for
// concurrent use.
type Kernel struct {
	mu        sync.Mutex
	nextIndex int
	links     map[string]*runtime.Link
	addrs     []runtime.Address // in insertion order
	routes    map[routeKey]runtime.Route
	rules     []runtime.Rule // sorted by priority, stable
	services  map[runtime.ServiceKey]*virtualServer
	ops       map[string]int
	log       []string
	failOn    func(Op) error
}

var _ runtime.Kernel = (*Kernel)(nil)

// Op describes one call to the Kernel, as seen by a FailOn hook.
type Op struct {
	// Name is the method name: "AddAddr", "UpdateDestination", "ListAll".
	Name string
	// ID is the stable id of the object the call is about (the
	// runtime.Address.ID, runtime.Route.ID, runtime.ServiceKey.String,
	// runtime.DestinationKey.String, the link name or the rule's text);
	// empty for whole-table listings.
	ID string
	// Arg is the call's argument (runtime.Address, runtime.Route,
	// runtime.Rule, runtime.Link, string link name, runtime.Service,
	// runtime.ServiceKey or runtime.DestinationKey), nil for listings.
	Arg any
}

// NewKernel returns a Kernel holding one up, physical link (no kind) per
// name, with indexes from 1 in order, and the kernel's default rules.
func NewKernel(links ...string) *Kernel {
	k := &Kernel{
		nextIndex: 1,
		links:     make(map[string]*runtime.Link),
		routes:    make(map[routeKey]runtime.Route),
		services:  make(map[runtime.ServiceKey]*virtualServer),
		ops:       make(map[string]int),
		rules: []runtime.Rule{
			{Priority: 0, Family: runtime.FamilyV4, Table: runtime.TableLocal},
			{Priority: 0, Family: runtime.FamilyV6, Table: runtime.TableLocal},
			{Priority: 32766, Family: runtime.FamilyV4, Table: runtime.TableMain},
			{Priority: 32766, Family: runtime.FamilyV6, Table: runtime.TableMain},
			{Priority: 32767, Family: runtime.FamilyV4, Table: runtime.TableDefault},
		},
	}
	for _, name := range links {
		if err := k.AddLink(runtime.Link{Name: name, Up: true}); err != nil {
			panic(fmt.Sprintf("fake.NewKernel: %v", err))
		}
	}
	k.ResetOps()
	return k
}

// FailOn installs a hook called at the start of every method (listings
// included) with a description of the call; when it returns an error, the
// method fails with that error wrapped and changes nothing. FailOn(nil)
// removes the hook. The hook runs with the Kernel locked: it must not call
// the Kernel.
func (k *Kernel) FailOn(f func(Op) error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.failOn = f
}

// FailID returns a FailOn hook failing every call named name about the
// object with the given id (any id when id is empty) with err.
func FailID(name, id string, err error) func(Op) error {
	return func(op Op) error {
		if op.Name == name && (id == "" || op.ID == id) {
			return err
		}
		return nil
	}
}

// Ops returns how many times each method has been called since NewKernel
// or ResetOps, failed calls included: {"AddAddr": 2, "ListAll": 1}.
func (k *Kernel) Ops() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.ops)
}

// Log returns the successful changes since NewKernel or ResetOps, in
// order, as shell commands: "ipvsadm -e -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 0".
func (k *Kernel) Log() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.log)
}

// ResetOps clears the operation counts and the log.
func (k *Kernel) ResetOps() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.ops)
	k.log = nil
}

// begin counts a call and runs the failure hook. The caller holds k.mu.
func (k *Kernel) begin(name, id string, arg any) error {
	k.ops[name]++
	if k.failOn != nil {
		if err := k.failOn(Op{Name: name, ID: id, Arg: arg}); err != nil {
			return fmt.Errorf("fake: %s %s: %w", name, id, err)
		}
	}
	return nil
}

// record appends a successful change to the log. The caller holds k.mu.
func (k *Kernel) record(cmd string) { k.log = append(k.log, cmd) }

// String returns the state as canonical shell commands that would recreate
// it, one per line, sorted within each section (links, addresses, routes,
// rules, IPVS). What the kernel makes itself (runtime.IsKernelAddress,
// IsKernelRoute, IsKernelRule) is left out; StringAll includes it.
func (k *Kernel) String() string { return k.dump(false) }

// StringAll is String including kernel-made addresses, routes and rules.
func (k *Kernel) StringAll() string { return k.dump(true) }

func (k *Kernel) dump(all bool) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var sections [5][]string
	for _, l := range k.links {
		sections[0] = append(sections[0], "ip link add "+l.String())
	}
	for _, a := range k.addrs {
		if all || !runtime.IsKernelAddress(a) {
			sections[1] = append(sections[1], "ip addr add "+a.String())
		}
	}
	for _, r := range k.routes {
		if all || !runtime.IsKernelRoute(r) {
			sections[2] = append(sections[2], "ip route add "+r.String())
		}
	}
	for _, r := range k.rules {
		if all || !runtime.IsKernelRule(r) {
			sections[3] = append(sections[3], "ip rule add "+r.String())
		}
	}
	for _, vs := range k.services {
		sections[4] = append(sections[4], "ipvsadm -A "+vs.svc.String())
		sel := vs.svc.Key().IpvsadmArgs()
		for _, d := range vs.dests {
			sections[4] = append(sections[4], "ipvsadm -a "+sel+" "+d.String())
		}
	}
	var b strings.Builder
	for _, lines := range sections {
		slices.Sort(lines)
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// errnoLike wraps a sentinel with the kernel's wording for the reason.
func errnoLike(sentinel error, why string) error {
	return fmt.Errorf("%s: %w", why, sentinel)
}

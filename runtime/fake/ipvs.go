package fake

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/hacfg/hacfg/runtime"
)

// virtualServer is a service and its destinations.
type virtualServer struct {
	svc   runtime.Service
	dests map[netip.AddrPort]runtime.Destination
}

// schedulers are the schedulers of a stock kernel (ip_vs_*.ko).
var schedulers = map[string]bool{
	"rr": true, "wrr": true, "lc": true, "wlc": true, "lblc": true, "lblcr": true, "dh": true,
	"sh": true, "sed": true, "nq": true, "fo": true, "ovf": true, "mh": true, "twos": true,
}

func (vs *virtualServer) sortedDests() []runtime.Destination {
	out := make([]runtime.Destination, 0, len(vs.dests))
	for _, d := range vs.dests {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b runtime.Destination) int { return a.AddrPort().Compare(b.AddrPort()) })
	return out
}

func (k *Kernel) sortedServices() []*virtualServer {
	out := make([]*virtualServer, 0, len(k.services))
	for _, vs := range k.services {
		out = append(out, vs)
	}
	slices.SortFunc(out, func(a, b *virtualServer) int {
		ka, kb := a.svc.Key(), b.svc.Key()
		if c := int(ka.FwMark) - int(kb.FwMark); c != 0 {
			return c
		}
		if c := int(ka.Family) - int(kb.Family); c != 0 {
			return c
		}
		if c := ka.Addr.Compare(kb.Addr); c != 0 {
			return c
		}
		if c := int(ka.Port) - int(kb.Port); c != 0 {
			return c
		}
		return int(ka.Protocol) - int(kb.Protocol)
	})
	return out
}

// ListServices returns every service, sorted by key.
func (k *Kernel) ListServices() ([]runtime.Service, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("ListServices", "", nil); err != nil {
		return nil, err
	}
	var out []runtime.Service
	for _, vs := range k.sortedServices() {
		out = append(out, vs.svc)
	}
	return out, nil
}

// ListAll returns every service with its destinations.
func (k *Kernel) ListAll() ([]runtime.VirtualServer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("ListAll", "", nil); err != nil {
		return nil, err
	}
	var out []runtime.VirtualServer
	for _, vs := range k.sortedServices() {
		out = append(out, runtime.VirtualServer{Service: vs.svc, Destinations: vs.sortedDests()})
	}
	return out, nil
}

// GetService returns one service. ErrNotExist if absent.
func (k *Kernel) GetService(key runtime.ServiceKey) (runtime.Service, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key = key.Normalize()
	if err := k.begin("GetService", key.String(), key); err != nil {
		return runtime.Service{}, err
	}
	vs, ok := k.services[key]
	if !ok {
		return runtime.Service{}, fmt.Errorf("ipvs: get service %s: %w", key, runtime.ErrNotExist)
	}
	return vs.svc, nil
}

// AddService adds a service. Like the kernel it rejects a duplicate
// (ErrExist), an unknown scheduler (ErrNotExist, the kernel's ENOENT), a
// protocol other than TCP, UDP and SCTP, an fwmark service without a
// family, an address service without an address or with a family
// contradicting it, and an out-of-range netmask or negative timeout
// (ErrInvalid).
func (k *Kernel) AddService(s runtime.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	s = s.Normalize()
	key := s.Key()
	if err := k.begin("AddService", key.String(), s); err != nil {
		return err
	}
	if err := checkService(s); err != nil {
		return fmt.Errorf("ipvs: add service %s: %w", key, err)
	}
	if _, ok := k.services[key]; ok {
		return fmt.Errorf("ipvs: add service %s: %w", key, runtime.ErrExist)
	}
	k.services[key] = &virtualServer{svc: s, dests: make(map[netip.AddrPort]runtime.Destination)}
	k.record("ipvsadm -A " + s.String())
	return nil
}

func checkService(s runtime.Service) error {
	if s.FwMark != 0 {
		if s.Family != runtime.FamilyV4 && s.Family != runtime.FamilyV6 {
			return errnoLike(runtime.ErrInvalid, "fwmark service without a family")
		}
	} else {
		switch s.Protocol {
		case runtime.ProtocolTCP, runtime.ProtocolUDP, runtime.ProtocolSCTP:
		default:
			return errnoLike(runtime.ErrInvalid, "protocol "+s.Protocol.String())
		}
		if !s.Addr.IsValid() {
			return errnoLike(runtime.ErrInvalid, "no address")
		}
	}
	if !schedulers[s.Scheduler] {
		return errnoLike(runtime.ErrNotExist, fmt.Sprintf("scheduler %q not found", s.Scheduler))
	}
	maxBits := 32
	if s.Family == runtime.FamilyV6 {
		maxBits = 128
	}
	if s.Netmask < 0 || s.Netmask > maxBits {
		return errnoLike(runtime.ErrInvalid, fmt.Sprintf("netmask /%d", s.Netmask))
	}
	if s.Timeout < 0 {
		return errnoLike(runtime.ErrInvalid, "negative timeout")
	}
	return nil
}

// UpdateService changes a service's scheduler, flags, timeout and netmask
// in place, keeping its destinations. ErrNotExist if absent.
func (k *Kernel) UpdateService(s runtime.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	s = s.Normalize()
	key := s.Key()
	if err := k.begin("UpdateService", key.String(), s); err != nil {
		return err
	}
	vs, ok := k.services[key]
	if !ok {
		return fmt.Errorf("ipvs: update service %s: %w", key, runtime.ErrNotExist)
	}
	if err := checkService(s); err != nil {
		return fmt.Errorf("ipvs: update service %s: %w", key, err)
	}
	vs.svc = s
	k.record("ipvsadm -E " + s.String())
	return nil
}

// DelService deletes a service and its destinations. ErrNotExist if
// absent.
func (k *Kernel) DelService(key runtime.ServiceKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	key = key.Normalize()
	if err := k.begin("DelService", key.String(), key); err != nil {
		return err
	}
	if _, ok := k.services[key]; !ok {
		return fmt.Errorf("ipvs: delete service %s: %w", key, runtime.ErrNotExist)
	}
	delete(k.services, key)
	k.record("ipvsadm -D " + key.IpvsadmArgs())
	return nil
}

// ListDestinations returns a service's destinations sorted by address and
// port. ErrNotExist if the service is absent.
func (k *Kernel) ListDestinations(key runtime.ServiceKey) ([]runtime.Destination, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key = key.Normalize()
	if err := k.begin("ListDestinations", key.String(), key); err != nil {
		return nil, err
	}
	vs, ok := k.services[key]
	if !ok {
		return nil, fmt.Errorf("ipvs: list destinations of %s: %w", key, runtime.ErrNotExist)
	}
	return vs.sortedDests(), nil
}

// AddDestination adds a destination. Like the kernel it rejects a missing
// service (ErrNotExist), a duplicate (ErrExist), a negative weight, a lower
// threshold above the upper one, an unknown forwarding method, and a
// destination of another family than its service unless tunnelled
// (ErrInvalid). Connection counts given are ignored.
func (k *Kernel) AddDestination(key runtime.ServiceKey, d runtime.Destination) error {
	return k.putDest("AddDestination", "add", "-a", key, d)
}

// UpdateDestination changes a destination's weight, forwarding method and
// thresholds in place, keeping its connection counts. ErrNotExist if the
// service or destination is absent.
func (k *Kernel) UpdateDestination(key runtime.ServiceKey, d runtime.Destination) error {
	return k.putDest("UpdateDestination", "update", "-e", key, d)
}

func (k *Kernel) putDest(op, verb, flag string, key runtime.ServiceKey, d runtime.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	key = key.Normalize()
	d.Addr = d.Addr.Unmap()
	dk := d.Key(key)
	if err := k.begin(op, dk.String(), dk); err != nil {
		return err
	}
	vs, ok := k.services[key]
	if !ok {
		return fmt.Errorf("ipvs: %s destination %s in %s: service: %w", verb, d.AddrPort(), key, runtime.ErrNotExist)
	}
	if err := checkDest(vs.svc, d); err != nil {
		return fmt.Errorf("ipvs: %s destination %s in %s: %w", verb, d.AddrPort(), key, err)
	}
	old, exists := vs.dests[d.AddrPort()]
	switch {
	case exists && verb == "add":
		return fmt.Errorf("ipvs: add destination %s to %s: %w", d.AddrPort(), key, runtime.ErrExist)
	case !exists && verb == "update":
		return fmt.Errorf("ipvs: update destination %s in %s: %w", d.AddrPort(), key, runtime.ErrNotExist)
	}
	d.ActiveConns, d.InactiveConns = old.ActiveConns, old.InactiveConns
	vs.dests[d.AddrPort()] = d
	k.record("ipvsadm " + flag + " " + key.IpvsadmArgs() + " " + d.String())
	return nil
}

func checkDest(s runtime.Service, d runtime.Destination) error {
	if !d.Addr.IsValid() {
		return errnoLike(runtime.ErrInvalid, "no address")
	}
	if runtime.FamilyOf(d.Addr) != s.Family && d.Forward != runtime.ForwardTunnel {
		return errnoLike(runtime.ErrInvalid, "destination of another family needs tunnel forwarding")
	}
	if d.Weight < 0 {
		return errnoLike(runtime.ErrInvalid, "negative weight")
	}
	if d.LowerThreshold > d.UpperThreshold {
		return errnoLike(runtime.ErrInvalid, "lower threshold above upper threshold")
	}
	if d.Forward > runtime.ForwardDR {
		return errnoLike(runtime.ErrInvalid, "forwarding method "+d.Forward.String())
	}
	return nil
}

// DelDestination deletes the destination with d's address and port.
// ErrNotExist if the service or destination is absent.
func (k *Kernel) DelDestination(key runtime.ServiceKey, d runtime.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	key = key.Normalize()
	d.Addr = d.Addr.Unmap()
	dk := d.Key(key)
	if err := k.begin("DelDestination", dk.String(), dk); err != nil {
		return err
	}
	vs, ok := k.services[key]
	if !ok {
		return fmt.Errorf("ipvs: delete destination %s from %s: service: %w", d.AddrPort(), key, runtime.ErrNotExist)
	}
	if _, ok := vs.dests[d.AddrPort()]; !ok {
		return fmt.Errorf("ipvs: delete destination %s from %s: %w", d.AddrPort(), key, runtime.ErrNotExist)
	}
	delete(vs.dests, d.AddrPort())
	k.record("ipvsadm -d " + key.IpvsadmArgs() + " -r " + d.AddrPort().String())
	return nil
}

// SetConnections sets the connection counts the kernel would report for a
// destination, to test draining. It is not counted or logged.
func (k *Kernel) SetConnections(dk runtime.DestinationKey, active, inactive int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	vs, ok := k.services[dk.Service.Normalize()]
	if !ok {
		return fmt.Errorf("fake: set connections of %s: service: %w", dk, runtime.ErrNotExist)
	}
	d, ok := vs.dests[dk.Addr]
	if !ok {
		return fmt.Errorf("fake: set connections of %s: %w", dk, runtime.ErrNotExist)
	}
	d.ActiveConns, d.InactiveConns = active, inactive
	vs.dests[dk.Addr] = d
	return nil
}

// ListSome returns the services of keys that exist with their destinations
// (runtime.IPVSSomeLister). Each key counts, and can be made to fail, as a
// GetService and a ListDestinations call.
func (k *Kernel) ListSome(keys []runtime.ServiceKey) ([]runtime.VirtualServer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []runtime.VirtualServer
	for _, key := range keys {
		key = key.Normalize()
		if err := k.begin("GetService", key.String(), key); err != nil {
			return nil, err
		}
		vs, ok := k.services[key]
		if !ok {
			continue
		}
		if err := k.begin("ListDestinations", key.String(), key); err != nil {
			return nil, err
		}
		out = append(out, runtime.VirtualServer{Service: vs.svc, Destinations: vs.sortedDests()})
	}
	return out, nil
}

package linux

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net"
	"time"

	"github.com/moby/ipvs"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

// toMobyService converts a service for moby/ipvs: Timeout > 0 sets the
// persistent flag, Netmask becomes the kernel's encoding (a network-order
// mask for IPv4, a prefix length for IPv6, both as native-endian u32).
func toMobyService(s runtime.Service) *ipvs.Service {
	s = s.Normalize()
	ms := &ipvs.Service{
		AddressFamily: uint16(s.Family),
		SchedName:     s.Scheduler,
		Flags:         uint32(s.Flags),
		Timeout:       uint32(s.Timeout / time.Second),
	}
	if s.FwMark != 0 {
		ms.FWMark = s.FwMark
	} else {
		ms.Protocol = uint16(s.Protocol)
		ms.Address = net.IP(s.Addr.AsSlice())
		ms.Port = s.Port
	}
	if s.Timeout > 0 {
		ms.Flags |= uint32(runtime.FlagPersistent)
	}
	switch s.Family {
	case runtime.FamilyV6:
		n := s.Netmask
		if n == 0 {
			n = 128
		}
		ms.Netmask = uint32(n)
	default:
		n := s.Netmask
		if n == 0 {
			n = 32
		}
		m := runtime.IPv4Mask(n).As4()
		ms.Netmask = binary.NativeEndian.Uint32(m[:])
	}
	return ms
}

func toMobyKey(k runtime.ServiceKey) *ipvs.Service {
	return toMobyService(runtime.Service{Protocol: k.Protocol, Addr: k.Addr, Port: k.Port, FwMark: k.FwMark, Family: k.Family})
}

func fromMobyService(ms *ipvs.Service) runtime.Service {
	s := runtime.Service{
		Family:    runtime.Family(ms.AddressFamily),
		FwMark:    ms.FWMark,
		Scheduler: ms.SchedName,
		Flags:     runtime.ServiceFlags(ms.Flags),
	}
	if ms.FWMark == 0 {
		s.Protocol = runtime.Protocol(ms.Protocol)
		s.Addr = addrOf(ms.Address)
		s.Port = ms.Port
	}
	if s.Flags&runtime.FlagPersistent != 0 {
		s.Timeout = time.Duration(ms.Timeout) * time.Second
	}
	if s.Family == runtime.FamilyV6 {
		s.Netmask = int(ms.Netmask)
	} else {
		var m [4]byte
		binary.NativeEndian.PutUint32(m[:], ms.Netmask)
		s.Netmask = bits.OnesCount32(binary.BigEndian.Uint32(m[:]))
	}
	return s.Normalize()
}

func toMobyDest(d runtime.Destination) *ipvs.Destination {
	return &ipvs.Destination{
		Address:         net.IP(d.Addr.Unmap().AsSlice()),
		Port:            d.Port,
		Weight:          d.Weight,
		ConnectionFlags: uint32(d.Forward),
		AddressFamily:   uint16(runtime.FamilyOf(d.Addr.Unmap())),
		UpperThreshold:  d.UpperThreshold,
		LowerThreshold:  d.LowerThreshold,
	}
}

func fromMobyDest(md *ipvs.Destination) runtime.Destination {
	return runtime.Destination{
		Addr:           addrOf(md.Address),
		Port:           md.Port,
		Weight:         md.Weight,
		Forward:        runtime.Forward(md.ConnectionFlags & ipvs.ConnectionFlagFwdMask),
		UpperThreshold: md.UpperThreshold,
		LowerThreshold: md.LowerThreshold,
		ActiveConns:    md.ActiveConnections,
		InactiveConns:  md.InactiveConnections,
	}
}

// withIPVS runs f with the IPVS handle locked, or returns the reason IPVS
// is unusable.
func (k *Kernel) withIPVS(op string, f func(h *ipvs.Handle) error) error {
	if k.ipvsErr != nil {
		return fmt.Errorf("%s: %w", op, k.ipvsErr)
	}
	k.ipvsMu.Lock()
	defer k.ipvsMu.Unlock()
	if k.ipvs == nil {
		return fmt.Errorf("%s: handle closed: %w", op, runtime.ErrInvalid)
	}
	return wrap(op, f(k.ipvs))
}

// ListServices returns every virtual service.
//
// Equivalent to: ipvsadm -Ln
func (k *Kernel) ListServices() ([]runtime.Service, error) {
	var out []runtime.Service
	err := k.withIPVS("ipvs: list services", func(h *ipvs.Handle) error {
		ms, err := h.GetServices()
		for _, s := range ms {
			out = append(out, fromMobyService(s))
		}
		return err
	})
	return out, err
}

// GetService returns one virtual service.
//
// Equivalent to: ipvsadm -Ln -t 192.0.2.10:80
func (k *Kernel) GetService(key runtime.ServiceKey) (runtime.Service, error) {
	var out runtime.Service
	err := k.withIPVS("ipvs: get service "+key.String(), func(h *ipvs.Handle) error {
		ms, err := h.GetService(toMobyKey(key))
		if err == nil {
			out = fromMobyService(ms)
		}
		return err
	})
	return out, err
}

// AddService adds a virtual service.
//
// Equivalent to: ipvsadm -A -t 192.0.2.10:80 -s wrr -p 300
func (k *Kernel) AddService(s runtime.Service) error {
	return k.ipvsChange("ipvsadm -A "+s.String(), "ipvs: add service "+s.Key().String(), func(h *ipvs.Handle) error {
		return h.NewService(toMobyService(s))
	})
}

// UpdateService changes a service's scheduler, flags, timeout and netmask
// in place.
//
// Equivalent to: ipvsadm -E -t 192.0.2.10:80 -s rr
func (k *Kernel) UpdateService(s runtime.Service) error {
	return k.ipvsChange("ipvsadm -E "+s.String(), "ipvs: update service "+s.Key().String(), func(h *ipvs.Handle) error {
		return h.UpdateService(toMobyService(s))
	})
}

// DelService deletes a virtual service and its destinations.
//
// Equivalent to: ipvsadm -D -t 192.0.2.10:80
func (k *Kernel) DelService(key runtime.ServiceKey) error {
	return k.ipvsChange("ipvsadm -D "+key.IpvsadmArgs(), "ipvs: delete service "+key.String(), func(h *ipvs.Handle) error {
		return h.DelService(toMobyKey(key))
	})
}

// ListDestinations returns the destinations of one service; ErrNotExist
// when the service is absent.
//
// Equivalent to: ipvsadm -Ln -t 192.0.2.10:80
func (k *Kernel) ListDestinations(key runtime.ServiceKey) ([]runtime.Destination, error) {
	var out []runtime.Destination
	err := k.withIPVS("ipvs: list destinations of "+key.String(), func(h *ipvs.Handle) error {
		var err error
		out, err = listDests(h, key)
		if err == nil && len(out) == 0 {
			// The kernel dumps nothing, without error, for a missing
			// service: tell the two apart.
			_, err = h.GetService(toMobyKey(key))
		}
		return err
	})
	return out, err
}

func listDests(h *ipvs.Handle, key runtime.ServiceKey) ([]runtime.Destination, error) {
	mds, err := h.GetDestinations(toMobyKey(key))
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Destination, 0, len(mds))
	for _, md := range mds {
		out = append(out, fromMobyDest(md))
	}
	return out, nil
}

// ListAll returns every service with its destinations: one dump of the
// services and one per service for the destinations (IPVS cannot dump
// all destinations at once), through one socket (see ipvsbatch_linux.go).
//
// Equivalent to: ipvsadm -Ln
func (k *Kernel) ListAll() ([]runtime.VirtualServer, error) {
	var out []runtime.VirtualServer
	err := k.withIPVS("ipvs: list", func(h *ipvs.Handle) error {
		s, err := k.openIPVSSock()
		if err == nil {
			defer s.close()
			out, err = k.listAll(s)
			return err
		}
		k.log.Debug("ipvs: no dump socket, listing through moby/ipvs", "err", err)
		ms, err := h.GetServices()
		if err != nil {
			return err
		}
		for _, m := range ms {
			s := fromMobyService(m)
			ds, err := listDests(h, s.Key())
			if err != nil {
				return fmt.Errorf("destinations of %s: %w", s.Key(), err)
			}
			out = append(out, runtime.VirtualServer{Service: s, Destinations: ds})
		}
		return nil
	})
	return out, err
}

// AddDestination adds a destination to a service. Destinations of another
// family than their service are not supported (moby/ipvs does not send
// the destination family).
//
// Equivalent to: ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 1
func (k *Kernel) AddDestination(key runtime.ServiceKey, d runtime.Destination) error {
	return k.destChange("-a", "add", key, d, (*ipvs.Handle).NewDestination)
}

// UpdateDestination changes a destination's weight, forwarding method and
// thresholds in place, keeping its connections.
//
// Equivalent to: ipvsadm -e -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 0
func (k *Kernel) UpdateDestination(key runtime.ServiceKey, d runtime.Destination) error {
	return k.destChange("-e", "update", key, d, (*ipvs.Handle).UpdateDestination)
}

// DelDestination deletes a destination from a service.
//
// Equivalent to: ipvsadm -d -t 192.0.2.10:80 -r 203.0.113.5:80
func (k *Kernel) DelDestination(key runtime.ServiceKey, d runtime.Destination) error {
	return k.destChange("-d", "delete", key, d, (*ipvs.Handle).DelDestination)
}

func (k *Kernel) destChange(flag, verb string, key runtime.ServiceKey, d runtime.Destination, f func(*ipvs.Handle, *ipvs.Service, *ipvs.Destination) error) error {
	key = key.Normalize()
	cmd := "ipvsadm " + flag + " " + key.IpvsadmArgs() + " " + d.String()
	if verb == "delete" {
		cmd = "ipvsadm " + flag + " " + key.IpvsadmArgs() + " -r " + d.AddrPort().String()
	}
	op := "ipvs: " + verb + " destination " + d.Key(key).String()
	return k.ipvsChange(cmd, op, func(h *ipvs.Handle) error {
		if runtime.FamilyOf(d.Addr.Unmap()) != key.Family {
			return fmt.Errorf("destination of another family than its service: %w", unix.EAFNOSUPPORT)
		}
		return f(h, toMobyKey(key), toMobyDest(d))
	})
}

func (k *Kernel) ipvsChange(cmd, op string, f func(*ipvs.Handle) error) error {
	err := k.withIPVS(op, f)
	if err == nil {
		k.log.Debug("kernel change", "cmd", cmd)
	}
	return err
}

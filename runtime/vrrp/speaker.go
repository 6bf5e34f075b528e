package vrrp

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"sync"

	"github.com/hacfg/hacfg/runtime"
)

// Speaker runs the VRRP instances of one interface and address family over
// one runtime.VRRPConn: it marshals their advertisements to the group or
// their unicast peers, and dispatches received packets by VRID.
type Speaker struct {
	conn runtime.VRRPConn
	log  *slog.Logger

	mu        sync.Mutex
	instances map[uint8]*Instance
	drops     map[DropReason]uint64 // packets no instance took
}

// NewSpeaker returns a Speaker on conn. log may be nil.
func NewSpeaker(conn runtime.VRRPConn, log *slog.Logger) *Speaker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Speaker{conn: conn, log: log, instances: make(map[uint8]*Instance), drops: make(map[DropReason]uint64)}
}

// Add creates an instance on the speaker (not started). cfg.Source defaults
// to the conn's LocalAddr. notify receives the instance's transitions; it
// is called with the instance's lock held (see Output).
func (s *Speaker) Add(cfg Config, clock runtime.Clock, notify func(Transition)) (*Instance, error) {
	if !cfg.Source.IsValid() {
		cfg.Source = s.conn.LocalAddr()
	}
	out := &speakerOutput{s: s, notify: notify, src: cfg.Source, peers: cfg.Peers}
	if len(cfg.Peers) == 0 {
		out.peers = []netip.Addr{runtime.VRRPGroup(runtime.FamilyOf(cfg.Source))}
	}
	in, err := NewInstance(cfg, clock, out, s.log)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.instances[cfg.VRID]; dup {
		return nil, fmt.Errorf("vrrp: add instance %s: vrid %d already runs on this interface", cfg.Name, cfg.VRID)
	}
	s.instances[cfg.VRID] = in
	return in, nil
}

// Remove shuts the instance with vrid down and forgets it.
func (s *Speaker) Remove(vrid uint8) {
	s.mu.Lock()
	in := s.instances[vrid]
	delete(s.instances, vrid)
	s.mu.Unlock()
	if in != nil {
		in.Shutdown()
	}
}

// HandlePacket dispatches one received packet to the instance with its
// VRID, which runs the receive checks. Packets for no instance are counted
// here (ErrLength, ErrVRID). It returns the drop reason, if any.
func (s *Speaker) HandlePacket(pkt runtime.VRRPPacket) error {
	if len(pkt.Payload) < headerLen {
		err := fmt.Errorf("vrrp: %d bytes from %v: %w", len(pkt.Payload), pkt.Src, ErrLength)
		s.countDrop(ErrLength)
		return err
	}
	vrid := pkt.Payload[1]
	s.mu.Lock()
	in := s.instances[vrid]
	s.mu.Unlock()
	if in == nil {
		s.countDrop(ErrVRID)
		return fmt.Errorf("vrrp: advert from %v for vrid %d, not configured: %w", pkt.Src, vrid, ErrVRID)
	}
	return in.HandlePacket(pkt)
}

func (s *Speaker) countDrop(r DropReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops[r]++
}

// Drops returns the counts of packets that reached no instance.
func (s *Speaker) Drops() map[DropReason]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.drops)
}

// Run receives packets and dispatches them until the conn is closed, then
// returns nil; any other receive error is returned.
func (s *Speaker) Run() error {
	for {
		pkt, err := s.conn.Receive()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("vrrp: receive: %w", err)
		}
		_ = s.HandlePacket(pkt) // counted and logged by the instance
	}
}

// speakerOutput is an instance's Output on a Speaker.
type speakerOutput struct {
	s      *Speaker
	notify func(Transition)
	src    netip.Addr
	peers  []netip.Addr // the group, or the unicast peers
}

func (o *speakerOutput) SendAdvertisement(adv *Advertisement) {
	for _, dst := range o.peers {
		b, err := adv.Marshal(o.src, dst)
		if err == nil {
			err = o.s.conn.Send(dst, b)
		}
		if err != nil {
			o.s.log.Warn("vrrp send advertisement", "vrid", adv.VRID, "dst", dst, "err", err)
		}
	}
}

func (o *speakerOutput) StateChanged(t Transition) {
	if o.notify != nil {
		o.notify(t)
	}
}

package vrrp_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/runtime/vrrp"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// harness runs one Instance on a fake clock and records its outputs as
// "<elapsed> <what>" lines.
type harness struct {
	t     *testing.T
	clock *fake.Clock
	in    *vrrp.Instance
	log   []string
}

func (h *harness) at() string { return h.clock.Now().Sub(epoch).String() }

func (h *harness) SendAdvertisement(adv *vrrp.Advertisement) {
	h.log = append(h.log, fmt.Sprintf("%s send priority %d", h.at(), adv.Priority))
}

func (h *harness) StateChanged(tr vrrp.Transition) {
	if !tr.At.Equal(h.clock.Now()) {
		h.t.Errorf("transition At = %v, want the clock's %v", tr.At, h.clock.Now())
	}
	h.log = append(h.log, fmt.Sprintf("%s %v->%v: %s", h.at(), tr.From, tr.To, tr.Reason))
}

func baseConfig() vrrp.Config {
	return vrrp.Config{
		Name:           "VI_1",
		Version:        3,
		VRID:           51,
		Priority:       100,
		AdvertInterval: time.Second,
		Addresses:      []netip.Addr{netip.MustParseAddr("192.0.2.100")},
		Source:         netip.MustParseAddr("192.0.2.1"),
	}
}

// step is one input to the instance under test.
type step func(h *harness)

func advance(d time.Duration) step { return func(h *harness) { h.clock.Advance(d) } }
func start() step                  { return func(h *harness) { h.in.Start() } }
func shutdown() step               { return func(h *harness) { h.in.Shutdown() } }
func setFault(f bool) step {
	return func(h *harness) { h.in.SetFault(f, "track interface eth1") }
}
func setPriority(p int) step { return func(h *harness) { h.in.SetPriority(p) } }

// recv delivers an advertisement from src with priority prio (interval
// 1s unless given).
func recv(src string, prio uint8, interval ...time.Duration) step {
	return func(h *harness) {
		cfg := h.in.Config()
		adv := &vrrp.Advertisement{Version: cfg.Version, Type: 1, VRID: cfg.VRID, Priority: prio,
			AdverInt: time.Second, Addresses: cfg.Addresses}
		if len(interval) > 0 {
			adv.AdverInt = interval[0]
		}
		if err := h.in.ReceiveAdvert(netip.MustParseAddr(src), adv); err != nil {
			h.t.Errorf("ReceiveAdvert: %v", err)
		}
	}
}

// every repeats s n times, advancing the clock by d after each.
func every(d time.Duration, n int, s step) step {
	return func(h *harness) {
		for range n {
			s(h)
			h.clock.Advance(d)
		}
	}
}

func mark(text string) step {
	return func(h *harness) { h.log = append(h.log, h.at()+" "+text) }
}

func TestInstanceStates(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		config func(*vrrp.Config)
		steps  []step
		want   []string
	}{
		{
			// Master_Down_Interval = 3*1s + (256-100)*1s/256 = 3.609375s.
			name:  "single node becomes master after master down interval",
			steps: []step{start(), advance(3609 * ms), mark("still backup"), advance(ms), advance(2 * time.Second)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"3.609s still backup",
				"3.609375s send priority 100",
				"3.609375s BACKUP->MASTER: master down timer expired",
				"4.609375s send priority 100",
				"5.609375s send priority 100",
			},
		},
		{
			name:   "VRRPv2 skew time is (256-priority)/256 seconds",
			config: func(c *vrrp.Config) { c.Version = 2; c.AdvertInterval = 2 * time.Second; c.Priority = 200 },
			// 3*2s + 56/256 s = 6.21875s
			steps: []step{start(), advance(6218 * ms), mark("still backup"), advance(ms)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"6.218s still backup",
				"6.21875s send priority 200",
				"6.21875s BACKUP->MASTER: master down timer expired",
			},
		},
		{
			name:   "address owner goes straight to master",
			config: func(c *vrrp.Config) { c.Priority = 255; c.AdvertInterval = 100 * ms },
			steps:  []step{start(), advance(200 * ms), setPriority(10), advance(100 * ms)},
			want: []string{
				"0s send priority 255",
				"0s INIT->MASTER: startup: address owner (priority 255)",
				"100ms send priority 255",
				"200ms send priority 255",
				"300ms send priority 255",
			},
		},
		{
			name: "configured state MASTER still starts as backup (keepalived 2.2.7)",
			config: func(c *vrrp.Config) {
				c.InitialState = vrrp.StateMaster
			},
			steps: []step{start(), every(time.Second, 5, recv("192.0.2.2", 150))},
			want:  []string{"0s INIT->BACKUP: startup"},
		},
		{
			name:  "higher priority master keeps us backup",
			steps: []step{start(), every(time.Second, 10, recv("192.0.2.2", 150))},
			want:  []string{"0s INIT->BACKUP: startup"},
		},
		{
			name:  "equal priority master keeps a backup backup",
			steps: []step{start(), every(time.Second, 10, recv("192.0.2.0", 100))},
			want:  []string{"0s INIT->BACKUP: startup"},
		},
		{
			name:  "preempt a lower priority master",
			steps: []step{start(), every(time.Second, 5, recv("192.0.2.2", 50))},
			want: []string{
				"0s INIT->BACKUP: startup",
				"3.609375s send priority 100",
				"3.609375s BACKUP->MASTER: preempting lower priority master 192.0.2.2 (priority 50)",
				// keepalived-style reassertion on the lower advert at 4s
				"4s send priority 100",
				"5s send priority 100",
			},
		},
		{
			name:   "nopreempt holds",
			config: func(c *vrrp.Config) { c.NoPreempt = true },
			steps:  []step{start(), every(time.Second, 20, recv("192.0.2.2", 50))},
			want:   []string{"0s INIT->BACKUP: startup"},
		},
		{
			// Lower master seen first at 0s: tolerated until 10s; the
			// advert at 10s is discarded, the one at 9s armed the down
			// timer for 9s + 3.609375s.
			name:   "preempt delay",
			config: func(c *vrrp.Config) { c.PreemptDelay = 10 * time.Second },
			steps:  []step{start(), every(time.Second, 12, recv("192.0.2.2", 50)), advance(time.Second)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"12.609375s send priority 100",
				"12.609375s BACKUP->MASTER: preempting lower priority master 192.0.2.2 (priority 50) after preempt delay",
			},
		},
		{
			// Skew = 156/256 * 1s = 609.375ms.
			name: "priority 0 from the master: take over after skew time",
			steps: []step{start(), every(time.Second, 3, recv("192.0.2.2", 150)), recv("192.0.2.2", 0),
				advance(609 * ms), mark("still backup"), advance(ms)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"3.609s still backup",
				"3.609375s send priority 100",
				"3.609375s BACKUP->MASTER: master 192.0.2.2 stopped (priority 0 advert)",
			},
		},
		{
			// Master advertises every 100ms: Master_Down_Interval becomes
			// 300ms + 156/256*100ms = 360.9375ms.
			name: "VRRPv3 backup learns the master's interval",
			steps: []step{start(), recv("192.0.2.2", 150, 100*ms), advance(360 * ms), mark("still backup"),
				advance(ms)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"360ms still backup",
				"360.9375ms send priority 100",
				"360.9375ms BACKUP->MASTER: master down timer expired",
			},
		},
		{
			name:   "master steps down for a higher priority advert",
			config: func(c *vrrp.Config) { c.AdvertInterval = 100 * ms },
			steps: []step{start(), advance(361 * ms), recv("192.0.2.2", 200, 200*ms), advance(600 * ms),
				mark("still backup"), advance(200 * ms)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"360.9375ms send priority 100",
				"360.9375ms BACKUP->MASTER: master down timer expired",
				"361ms MASTER->BACKUP: higher priority advert from 192.0.2.2 (priority 200)",
				// learned 200ms: 600ms + 156/256*200ms = 721.875ms
				"961ms still backup",
				"1.082875s send priority 100",
				"1.082875s BACKUP->MASTER: master down timer expired",
			},
		},
		{
			name:   "equal priority: the higher address wins",
			config: func(c *vrrp.Config) { c.Priority = 255 },
			steps:  []step{start(), recv("192.0.2.0", 255), recv("192.0.2.2", 255)},
			want: []string{
				"0s send priority 255",
				"0s INIT->MASTER: startup: address owner (priority 255)",
				"0s send priority 255",
				"0s MASTER->BACKUP: equal priority advert from higher address 192.0.2.2",
			},
		},
		{
			name: "master shutdown sends priority 0",
			steps: []step{start(), advance(3700 * ms), shutdown(), advance(10 * time.Second),
				recv("192.0.2.2", 200)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"3.609375s send priority 100",
				"3.609375s BACKUP->MASTER: master down timer expired",
				"3.7s send priority 0",
				"3.7s MASTER->INIT: shutdown",
			},
		},
		{
			name:  "master answers priority 0 from another router at once",
			steps: []step{start(), advance(3700 * ms), recv("192.0.2.2", 0), advance(time.Second)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"3.609375s send priority 100",
				"3.609375s BACKUP->MASTER: master down timer expired",
				"3.7s send priority 100",
				"4.7s send priority 100",
			},
		},
		{
			name: "fault from master sends priority 0; recovery starts as backup",
			steps: []step{start(), advance(3700 * ms), setFault(true), every(time.Second, 5, recv("192.0.2.2", 50)),
				setFault(false), advance(3700 * ms)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"3.609375s send priority 100",
				"3.609375s BACKUP->MASTER: master down timer expired",
				"3.7s send priority 0",
				"3.7s MASTER->FAULT: fault: track interface eth1",
				"8.7s FAULT->BACKUP: fault cleared: track interface eth1",
				"12.309375s send priority 100",
				"12.309375s BACKUP->MASTER: master down timer expired",
			},
		},
		{
			name:  "fault before start",
			steps: []step{setFault(true), start(), advance(10 * time.Second), shutdown()},
			want: []string{
				"0s INIT->FAULT: startup with a fault",
				"10s FAULT->INIT: shutdown",
			},
		},
		{
			name:   "track weight lowers the advertised priority",
			config: func(c *vrrp.Config) { c.Priority = 254; c.AdvertInterval = 100 * ms },
			steps:  []step{start(), advance(302 * ms), setPriority(80), advance(100 * ms), setPriority(-5), advance(100 * ms)},
			want: []string{
				"0s INIT->BACKUP: startup",
				"300.78125ms send priority 254",
				"300.78125ms BACKUP->MASTER: master down timer expired",
				"400.78125ms send priority 80",
				"500.78125ms send priority 1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.config != nil {
				tt.config(&cfg)
			}
			h := &harness{t: t, clock: fake.NewClock(epoch)}
			in, err := vrrp.NewInstance(cfg, h.clock, h, nil)
			if err != nil {
				t.Fatal(err)
			}
			h.in = in
			for _, s := range tt.steps {
				s(h)
			}
			if diff := cmp.Diff(tt.want, h.log); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInstanceDrops(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.2")
	group := netip.MustParseAddr("224.0.0.18")
	v2 := func(c *vrrp.Config) {
		c.Version, c.AuthType, c.AuthPass = 2, vrrp.AuthSimple, "secret"
	}
	good := func(c vrrp.Config) vrrp.Advertisement {
		a := vrrp.Advertisement{Version: c.Version, Type: 1, VRID: c.VRID, Priority: 150,
			AdverInt: c.AdvertInterval, Addresses: c.Addresses, AuthType: c.AuthType}
		if c.AuthType == vrrp.AuthSimple {
			a.AuthData = vrrp.AuthPass(c.AuthPass)
		}
		return a
	}
	tests := []struct {
		name   string
		config func(*vrrp.Config)
		src    netip.Addr
		ttl    int
		adv    func(a *vrrp.Advertisement) // edits the advert before marshalling
		bytes  func(b []byte) []byte       // edits the marshalled bytes
		want   vrrp.DropReason             // "" means accepted
	}{
		{name: "accepted", src: src, ttl: 255},
		{name: "accepted v2", config: v2, src: src, ttl: 255},
		{name: "ttl 254", src: src, ttl: 254, want: vrrp.ErrTTL},
		{name: "ttl 1", src: src, ttl: 1, want: vrrp.ErrTTL},
		{name: "checksum", src: src, ttl: 255, want: vrrp.ErrChecksum,
			bytes: func(b []byte) []byte { b[2]++; return b }},
		{name: "truncated", src: src, ttl: 255, want: vrrp.ErrLength,
			bytes: func(b []byte) []byte { return b[:len(b)-1] }},
		{name: "version", src: src, ttl: 255, want: vrrp.ErrVersion,
			adv: func(a *vrrp.Advertisement) { a.Version = 2; a.AdverInt = time.Second }},
		{name: "vrid", src: src, ttl: 255, want: vrrp.ErrVRID,
			adv: func(a *vrrp.Advertisement) { a.VRID = 52 }},
		{name: "v2 wrong password", config: v2, src: src, ttl: 255, want: vrrp.ErrAuth,
			adv: func(a *vrrp.Advertisement) { a.AuthData = vrrp.AuthPass("secreT") }},
		{name: "v2 no auth", config: v2, src: src, ttl: 255, want: vrrp.ErrAuth,
			adv: func(a *vrrp.Advertisement) { a.AuthType = 0; a.AuthData = [8]byte{} }},
		{name: "v2 interval mismatch", config: v2, src: src, ttl: 255, want: vrrp.ErrInterval,
			adv: func(a *vrrp.Advertisement) { a.AdverInt = 2 * time.Second }},
		{name: "v3 interval mismatch is learned, not dropped", src: src, ttl: 255,
			adv: func(a *vrrp.Advertisement) { a.AdverInt = 20 * time.Millisecond }},
		{name: "address list", src: src, ttl: 255, want: vrrp.ErrAddrList,
			adv: func(a *vrrp.Advertisement) { a.Addresses = []netip.Addr{netip.MustParseAddr("192.0.2.101")} }},
		{name: "address list from the owner is accepted", src: src, ttl: 255,
			adv: func(a *vrrp.Advertisement) { a.Addresses = nil; a.Priority = 255 }},
		{name: "own address", src: netip.MustParseAddr("192.0.2.1"), ttl: 255, want: vrrp.ErrOwnAddr},
		{name: "unicast: unknown peer", src: netip.MustParseAddr("192.0.2.9"), ttl: 255, want: vrrp.ErrPeer,
			config: func(c *vrrp.Config) { c.Peers = []netip.Addr{src} }},
		{name: "unicast: known peer", src: src, ttl: 255,
			config: func(c *vrrp.Config) { c.Peers = []netip.Addr{src} }},
		{name: "unicast: ttl 64 is dropped by default", src: src, ttl: 64, want: vrrp.ErrTTL,
			config: func(c *vrrp.Config) { c.Peers = []netip.Addr{src} }},
		{name: "unicast: ttl 64 inside min_ttl 60", src: src, ttl: 64,
			config: func(c *vrrp.Config) { c.Peers, c.UnicastMinTTL = []netip.Addr{src}, 60 }},
		{name: "unicast: ttl 64 outside 250..255", src: src, ttl: 64, want: vrrp.ErrTTL,
			config: func(c *vrrp.Config) { c.Peers, c.UnicastMinTTL, c.UnicastMaxTTL = []netip.Addr{src}, 250, 255 }},
		{name: "unicast: ttl 254 above max_ttl 200", src: src, ttl: 254, want: vrrp.ErrTTL,
			config: func(c *vrrp.Config) { c.Peers, c.UnicastMaxTTL = []netip.Addr{src}, 200 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.config != nil {
				tt.config(&cfg)
			}
			h := &harness{t: t, clock: fake.NewClock(epoch)}
			in, err := vrrp.NewInstance(cfg, h.clock, h, nil)
			if err != nil {
				t.Fatal(err)
			}
			in.Start()
			adv := good(cfg)
			if tt.adv != nil {
				tt.adv(&adv)
			}
			b, err := adv.Marshal(tt.src, group)
			if err != nil {
				t.Fatal(err)
			}
			if tt.bytes != nil {
				b = tt.bytes(b)
			}
			err = in.HandlePacket(runtime.VRRPPacket{Src: tt.src, Dst: group, TTL: tt.ttl, Payload: b})
			st := in.Stats()
			wantDrops := map[vrrp.DropReason]uint64{}
			wantReceived := uint64(1)
			if tt.want != "" {
				wantDrops[tt.want] = 1
				wantReceived = 0
				if !errors.Is(err, tt.want) {
					t.Errorf("HandlePacket error = %v, want %v", err, tt.want)
				}
			} else if err != nil {
				t.Errorf("HandlePacket error = %v, want accepted", err)
			}
			if diff := cmp.Diff(wantDrops, st.Drops); diff != "" {
				t.Errorf("drop counters (-want +got):\n%s", diff)
			}
			if st.AdvertsReceived != wantReceived {
				t.Errorf("AdvertsReceived = %d, want %d", st.AdvertsReceived, wantReceived)
			}
		})
	}
}

func TestSyncMasterAndBackup(t *testing.T) {
	clock := fake.NewClock(time.Unix(0, 0))
	out := &syncRecorder{}
	in, err := vrrp.NewInstance(vrrp.Config{Name: "VI_1", Version: 3, VRID: 1, Priority: 100, AdvertInterval: time.Second,
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.10")}, Source: netip.MustParseAddr("192.0.2.1")}, clock, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	in.SyncMaster("ignored before start")
	in.Start()
	if in.State() != vrrp.StateBackup {
		t.Fatalf("state %v", in.State())
	}
	in.SyncMaster("sync group VG became master")
	if in.State() != vrrp.StateMaster || out.sent != 1 {
		t.Fatalf("after SyncMaster: state %v, %d adverts sent", in.State(), out.sent)
	}
	in.SyncMaster("again")
	if out.transitions != 2 {
		t.Fatalf("SyncMaster on a master made a transition (%d)", out.transitions)
	}
	in.SyncBackup("sync group VG left master")
	if in.State() != vrrp.StateBackup || out.last.Reason != "sync group VG left master" {
		t.Fatalf("after SyncBackup: %v %+v", in.State(), out.last)
	}
	// As a backup it takes over again after Master_Down_Interval.
	clock.Advance(in.MasterDownInterval() + time.Millisecond)
	if in.State() != vrrp.StateMaster {
		t.Fatalf("backup after SyncBackup did not take over: %v", in.State())
	}
}

type syncRecorder struct {
	sent, transitions int
	last              vrrp.Transition
}

func (r *syncRecorder) SendAdvertisement(*vrrp.Advertisement) { r.sent++ }
func (r *syncRecorder) StateChanged(t vrrp.Transition)        { r.transitions++; r.last = t }

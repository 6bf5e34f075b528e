package linux

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// The batch encoder and the dump parser speak the same attributes: what
// one writes, the other must read back (the kernel answers in the same
// layout, with 16-byte addresses, which parse the same way).
func TestIPVSAttrRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		svc  runtime.Service
		dest runtime.Destination
	}{
		{
			name: "tcp ipv4, direct routing",
			svc:  runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "wrr"},
			dest: runtime.Destination{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Weight: 3, Forward: runtime.ForwardDR},
		},
		{
			name: "udp ipv6, persistent, one-packet, NAT with thresholds",
			svc: runtime.Service{Protocol: runtime.ProtocolUDP, Addr: netip.MustParseAddr("2001:db8::10"), Port: 53, Scheduler: "rr",
				Timeout: 300 * time.Second, Netmask: 64, Flags: runtime.FlagOnePacket},
			dest: runtime.Destination{Addr: netip.MustParseAddr("2001:db8:1::5"), Port: 5353, Weight: 65535, Forward: runtime.ForwardNAT,
				UpperThreshold: 100, LowerThreshold: 10},
		},
		{
			name: "fwmark ipv4, persistence netmask, scheduler flags, tunnel",
			svc: runtime.Service{FwMark: 7, Family: runtime.FamilyV4, Scheduler: "mh", Timeout: time.Minute, Netmask: 24,
				Flags: runtime.FlagSched1 | runtime.FlagSched2},
			dest: runtime.Destination{Addr: netip.MustParseAddr("198.51.100.8"), Weight: 0, Forward: runtime.ForwardTunnel},
		},
		{
			name: "fwmark ipv6, unknown scheduler name kept",
			svc:  runtime.Service{FwMark: 8, Family: runtime.FamilyV6, Scheduler: "custom"},
			dest: runtime.Destination{Addr: netip.MustParseAddr("2001:db8::8"), Weight: 1, Forward: runtime.ForwardDR},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svcAttrs := appendService(nil, tt.svc, true)
			got, err := parseService(svcAttrs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.svc.Normalize(), got, addrCmp); diff != "" {
				t.Errorf("service (-want +got):\n%s", diff)
			}
			destAttrs := appendDest(nil, tt.dest, true)
			gotD, err := parseDest(destAttrs, uint16(tt.svc.Normalize().Family))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.dest, gotD, addrCmp); diff != "" {
				t.Errorf("destination (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendIPVSOp(t *testing.T) {
	web := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "wrr"}
	d := runtime.Destination{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Weight: 2, Forward: runtime.ForwardDR}
	tests := []struct {
		name    string
		op      runtime.IPVSOp
		cmd     uint8
		hasDest bool
		wantErr error
	}{
		{"add service", runtime.IPVSOp{Kind: runtime.IPVSAddService, Service: web}, ipvsCmdNewService, false, nil},
		{"update service", runtime.IPVSOp{Kind: runtime.IPVSUpdateService, Service: web}, ipvsCmdSetService, false, nil},
		{"delete service", runtime.IPVSOp{Kind: runtime.IPVSDelService, Key: web.Key()}, ipvsCmdDelService, false, nil},
		{"add destination", runtime.IPVSOp{Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d}, ipvsCmdNewDest, true, nil},
		{"update destination", runtime.IPVSOp{Kind: runtime.IPVSUpdateDestination, Key: web.Key(), Destination: d}, ipvsCmdSetDest, true, nil},
		{"delete destination", runtime.IPVSOp{Kind: runtime.IPVSDelDestination, Key: web.Key(), Destination: d}, ipvsCmdDelDest, true, nil},
		{"other family", runtime.IPVSOp{Kind: runtime.IPVSAddDestination, Key: web.Key(),
			Destination: runtime.Destination{Addr: netip.MustParseAddr("2001:db8::5"), Port: 80}}, 0, false, unix.EAFNOSUPPORT},
		{"unknown kind", runtime.IPVSOp{Kind: 99}, 0, false, runtime.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendIPVSOp([]byte{1, 2, 3, 4}, 0x1234, 42, tt.op)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(b) != 4 {
					t.Fatalf("err = %v (buffer %d bytes), want %v and the buffer untouched", err, len(b), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := b[4:] // after an earlier message
			if l := binary.NativeEndian.Uint32(m); int(l) != len(m) {
				t.Errorf("length %d, message %d bytes", l, len(m))
			}
			if typ := binary.NativeEndian.Uint16(m[4:]); typ != 0x1234 {
				t.Errorf("type %#x, want the family 0x1234", typ)
			}
			if f := binary.NativeEndian.Uint16(m[6:]); f != unix.NLM_F_REQUEST {
				t.Errorf("flags %#x, want NLM_F_REQUEST only", f)
			}
			if seq := binary.NativeEndian.Uint32(m[8:]); seq != 42 {
				t.Errorf("seq %d, want 42", seq)
			}
			if cmd := m[16]; cmd != tt.cmd {
				t.Errorf("cmd %d, want %d", cmd, tt.cmd)
			}
			attrs := m[unix.NLMSG_HDRLEN+genlHdrLen:]
			svc, err := parseService(attrs)
			if err != nil || svc.Key() != web.Key() {
				t.Errorf("service key %v (%v), want %v", svc.Key(), err, web.Key())
			}
			if got := nested(attrs, ipvsCmdAttrDest) != nil; got != tt.hasDest {
				t.Errorf("destination attribute present = %v, want %v", got, tt.hasDest)
			}
		})
	}
}

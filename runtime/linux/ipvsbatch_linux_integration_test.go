//go:build linux

package linux_test

import (
	"errors"
	"net/netip"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/linux"
)

// ktListAllSorted returns ListAll with services and destinations sorted.
func ktListAllSorted(t *testing.T, k *linux.Kernel) []runtime.VirtualServer {
	t.Helper()
	all, err := k.ListAll()
	ktMust(t, err)
	for i := range all {
		all[i].Destinations = ktSortDests(all[i].Destinations)
	}
	slices.SortFunc(all, func(a, b runtime.VirtualServer) int {
		return strings.Compare(a.Service.Key().String(), b.Service.Key().String())
	})
	return all
}

func TestIntegrationIPVSBatch(t *testing.T) {
	k := ktOpenIPVS(t)
	web := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "wrr"}
	dns6 := runtime.Service{Protocol: runtime.ProtocolUDP, Addr: netip.MustParseAddr("2001:db8::10"), Port: 53, Scheduler: "rr",
		Timeout: 300 * time.Second, Netmask: 64, Flags: runtime.FlagOnePacket}
	mark := runtime.Service{FwMark: 7, Family: runtime.FamilyV4, Scheduler: "sh", Flags: runtime.FlagSched1 | runtime.FlagSched2}
	d1 := runtime.Destination{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Weight: 1, Forward: runtime.ForwardDR}
	d2 := runtime.Destination{Addr: netip.MustParseAddr("203.0.113.6"), Port: 8080, Weight: 2, Forward: runtime.ForwardNAT, UpperThreshold: 100, LowerThreshold: 10}
	d3 := runtime.Destination{Addr: netip.MustParseAddr("203.0.113.7"), Port: 80, Weight: 3, Forward: runtime.ForwardTunnel}
	d6 := runtime.Destination{Addr: netip.MustParseAddr("2001:db8:1::5"), Port: 53, Weight: 5, Forward: runtime.ForwardDR}
	dm := runtime.Destination{Addr: netip.MustParseAddr("198.51.100.8"), Weight: 1, Forward: runtime.ForwardDR}
	missing := runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.99"), Port: 80}

	d1w := d1
	d1w.Weight = 9
	webRR := web
	webRR.Scheduler = "rr"
	ops := []runtime.IPVSOp{
		{Kind: runtime.IPVSAddService, Service: web},
		{Kind: runtime.IPVSAddService, Service: dns6},
		{Kind: runtime.IPVSAddService, Service: mark},
		{Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d1},
		{Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d2},
		{Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d3},
		{Kind: runtime.IPVSAddDestination, Key: dns6.Key(), Destination: d6},
		{Kind: runtime.IPVSAddDestination, Key: mark.Key(), Destination: dm},
		{Kind: runtime.IPVSAddDestination, Key: missing, Destination: d1}, // fails
		{Kind: runtime.IPVSUpdateDestination, Key: web.Key(), Destination: d1w},
		{Kind: runtime.IPVSDelDestination, Key: web.Key(), Destination: runtime.Destination{Addr: d3.Addr, Port: d3.Port}},
		{Kind: runtime.IPVSUpdateService, Service: webRR},
		{Kind: runtime.IPVSAddService, Service: web}, // fails: exists
	}
	errs := k.IPVSBatch(ops)
	if len(errs) != len(ops) {
		t.Fatalf("IPVSBatch returned %d results for %d ops sent together: %v", len(errs), len(ops), errs)
	}
	for i, err := range errs {
		var want error
		switch i {
		case 8:
			want = runtime.ErrNotExist
		case 12:
			want = runtime.ErrExist
		}
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Errorf("op %d: err = %v, want %v", i, err, want)
		}
	}
	if err := errs[8]; err != nil && !strings.Contains(err.Error(), "ipvs: add destination tcp/192.0.2.99:80/203.0.113.5:80") {
		t.Errorf("error %q does not name the op", err)
	}
	// Ops after the failed one landed too.
	want := []runtime.VirtualServer{
		{Service: mark.Normalize(), Destinations: []runtime.Destination{dm}},
		{Service: webRR.Normalize(), Destinations: ktSortDests([]runtime.Destination{d1w, d2})},
		{Service: dns6.Normalize(), Destinations: []runtime.Destination{d6}},
	}
	if diff := cmp.Diff(want, ktListAllSorted(t, k), ktCmp); diff != "" {
		t.Errorf("ListAll after the batch (-want +got):\n%s", diff)
	}

	// A destination of another family is refused before sending: the ops
	// before it land, it fails, nothing after it is attempted.
	bad := runtime.Destination{Addr: netip.MustParseAddr("2001:db8::6"), Port: 80, Forward: runtime.ForwardTunnel}
	errs = k.IPVSBatch([]runtime.IPVSOp{
		{Kind: runtime.IPVSDelDestination, Key: web.Key(), Destination: d2},
		{Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: bad},
		{Kind: runtime.IPVSDelService, Key: mark.Key()},
	})
	if len(errs) != 2 || errs[0] != nil || !errors.Is(errs[1], runtime.ErrInvalid) {
		t.Errorf("mixed family batch: %v, want [nil, invalid]", errs)
	}
	want[1].Destinations = []runtime.Destination{d1w}
	if diff := cmp.Diff(want, ktListAllSorted(t, k), ktCmp); diff != "" {
		t.Errorf("ListAll after the refused op (-want +got):\n%s", diff)
	}
}

// TestIntegrationIPVSBatchLarge sends more ops than one sendmsg carries
// and checks that a failure stops the batch after its group, with every
// result true to the kernel.
func TestIntegrationIPVSBatchLarge(t *testing.T) {
	k := ktOpenIPVS(t)
	var ops []runtime.IPVSOp
	var want []runtime.VirtualServer
	for i := range 3 {
		svc := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), Port: 80, Scheduler: "wlc"}
		ops = append(ops, runtime.IPVSOp{Kind: runtime.IPVSAddService, Service: svc})
		vs := runtime.VirtualServer{Service: svc.Normalize()}
		for j := range 400 {
			d := runtime.Destination{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(j%250 + 1)}), Port: uint16(8000 + j/250), Weight: j%7 + 1, Forward: runtime.ForwardNAT}
			ops = append(ops, runtime.IPVSOp{Kind: runtime.IPVSAddDestination, Key: svc.Key(), Destination: d})
			vs.Destinations = append(vs.Destinations, d)
		}
		vs.Destinations = ktSortDests(vs.Destinations)
		want = append(want, vs)
	}
	errs := k.IPVSBatch(ops)
	if len(errs) != len(ops) {
		t.Fatalf("%d results for %d ops", len(errs), len(ops))
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	if diff := cmp.Diff(want, ktListAllSorted(t, k), ktCmp); diff != "" {
		t.Errorf("ListAll (-want +got):\n%s", diff)
	}

	// Delete everything again, with a failure early on (a destination
	// that does not exist): later groups are not sent.
	var del []runtime.IPVSOp
	for _, vs := range want {
		for _, d := range vs.Destinations {
			del = append(del, runtime.IPVSOp{Kind: runtime.IPVSDelDestination, Key: vs.Service.Key(), Destination: d})
		}
	}
	del[10].Destination.Port = 1 // no such destination
	errs = k.IPVSBatch(del)
	if len(errs) >= len(del) || len(errs) <= 10 {
		t.Fatalf("%d results for %d ops with a failure at 10: want the batch to stop after the failure's group", len(errs), len(del))
	}
	gone := map[runtime.DestinationKey]bool{}
	for i, err := range errs {
		if i == 10 {
			if !errors.Is(err, runtime.ErrNotExist) {
				t.Errorf("op 10: err = %v, want ErrNotExist", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		gone[del[i].Destination.Key(del[i].Key)] = true
	}
	for _, vs := range ktListAllSorted(t, k) {
		for _, d := range vs.Destinations {
			if gone[d.Key(vs.Service.Key())] {
				t.Errorf("%s reported deleted but still there", d.Key(vs.Service.Key()))
			}
		}
	}
	var left int
	for _, vs := range ktListAllSorted(t, k) {
		left += len(vs.Destinations)
	}
	if wantLeft := 1200 - (len(errs) - 1); left != wantLeft {
		t.Errorf("%d destinations left, want %d", left, wantLeft)
	}
}

// TestIntegrationIPVSListAllLarge lists a table large enough for ListAll
// to share the destination dumps among several sockets, and checks it
// against what was written and against ListDestinations.
func TestIntegrationIPVSListAllLarge(t *testing.T) {
	k := ktOpenIPVS(t)
	// Several sockets even on a one-CPU VM.
	prev := goruntime.GOMAXPROCS(4)
	t.Cleanup(func() { goruntime.GOMAXPROCS(prev) })
	var ops []runtime.IPVSOp
	var want []runtime.VirtualServer
	for i := range 600 {
		svc := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i%250 + 1)}), Port: uint16(1000 + i/250), Scheduler: "wrr"}
		if i%5 == 4 {
			svc = runtime.Service{Protocol: runtime.ProtocolUDP, Addr: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), Port: 53, Scheduler: "rr"}
		}
		ops = append(ops, runtime.IPVSOp{Kind: runtime.IPVSAddService, Service: svc})
		vs := runtime.VirtualServer{Service: svc.Normalize()}
		for j := range i % 4 {
			d := runtime.Destination{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(j + 1)}), Port: svc.Port, Weight: i%9 + j, Forward: runtime.ForwardDR}
			if svc.Addr.Is6() {
				d.Addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(j + 1)})
			}
			ops = append(ops, runtime.IPVSOp{Kind: runtime.IPVSAddDestination, Key: svc.Key(), Destination: d})
			vs.Destinations = append(vs.Destinations, d)
		}
		vs.Destinations = ktSortDests(vs.Destinations)
		want = append(want, vs)
	}
	for i, err := range k.IPVSBatch(ops) {
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	slices.SortFunc(want, func(a, b runtime.VirtualServer) int {
		return strings.Compare(a.Service.Key().String(), b.Service.Key().String())
	})
	got := ktListAllSorted(t, k)
	for i := range got {
		if len(got[i].Destinations) == 0 {
			got[i].Destinations = nil
		}
	}
	if diff := cmp.Diff(want, got, ktCmp); diff != "" {
		t.Errorf("ListAll (-want +got):\n%s", diff)
	}
	for _, vs := range want[:20] {
		ds, err := k.ListDestinations(vs.Service.Key())
		ktMust(t, err)
		if len(ds) == 0 {
			ds = nil
		}
		if diff := cmp.Diff(vs.Destinations, ktSortDests(ds), ktCmp); diff != "" {
			t.Errorf("ListDestinations(%s) (-want +got):\n%s", vs.Service.Key(), diff)
		}
	}
}

// TestIntegrationIPVSBatchHold: batches made while HoldIPVSBatch holds
// share one socket, kept after a successful batch, dropped after a failed
// one and at release; their results are as without a hold.
func TestIntegrationIPVSBatchHold(t *testing.T) {
	k := ktOpenIPVS(t)
	web := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.20"), Port: 80, Scheduler: "wrr"}
	d := func(i int) runtime.Destination {
		return runtime.Destination{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), Port: 80, Weight: 1, Forward: runtime.ForwardDR}
	}
	if linux.BatchSocketHeld(k) {
		t.Fatal("a batch socket is open before any hold")
	}
	release := k.HoldIPVSBatch()
	errs := k.IPVSBatch([]runtime.IPVSOp{{Kind: runtime.IPVSAddService, Service: web}, {Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d(1)}})
	if len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("first batch: %v", errs)
	}
	if !linux.BatchSocketHeld(k) {
		t.Error("no socket kept for the hold after a batch")
	}
	errs = k.IPVSBatch([]runtime.IPVSOp{{Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d(2)}, {Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d(3)}})
	if len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("second batch on the held socket: %v", errs)
	}
	// A failure drops the socket; the next batch opens another.
	errs = k.IPVSBatch([]runtime.IPVSOp{{Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d(3)}, {Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d(4)}})
	if len(errs) != 2 || !errors.Is(errs[0], runtime.ErrExist) || errs[1] != nil {
		t.Fatalf("batch with a failure: %v, want [exists, nil]", errs)
	}
	if linux.BatchSocketHeld(k) {
		t.Error("the socket of a failed batch is kept")
	}
	errs = k.IPVSBatch([]runtime.IPVSOp{{Kind: runtime.IPVSDelDestination, Key: web.Key(), Destination: d(4)}, {Kind: runtime.IPVSAddDestination, Key: web.Key(), Destination: d(5)}})
	if len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("batch after the failure: %v", errs)
	}
	release()
	release() // once only
	if linux.BatchSocketHeld(k) {
		t.Error("the socket outlives the hold")
	}
	want := []runtime.VirtualServer{{Service: web.Normalize(), Destinations: ktSortDests([]runtime.Destination{d(1), d(2), d(3), d(5)})}}
	if diff := cmp.Diff(want, ktListAllSorted(t, k), ktCmp); diff != "" {
		t.Errorf("ListAll after the held batches (-want +got):\n%s", diff)
	}
}

// TestIntegrationIPVSListSome: ListSome reads the services named, in their
// order, with their destinations, skips a key naming none, and works the
// same with and without a held batch socket (which it then keeps).
func TestIntegrationIPVSListSome(t *testing.T) {
	k := ktOpenIPVS(t)
	web := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.30"), Port: 80, Scheduler: "wrr"}
	dns6 := runtime.Service{Protocol: runtime.ProtocolUDP, Addr: netip.MustParseAddr("2001:db8::30"), Port: 53, Scheduler: "rr", Timeout: 60 * time.Second}
	mark := runtime.Service{FwMark: 9, Family: runtime.FamilyV4, Scheduler: "sh"}
	empty := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.31"), Port: 443, Scheduler: "rr"}
	other := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.32"), Port: 80, Scheduler: "rr"}
	missing := runtime.ServiceKey{Protocol: runtime.ProtocolTCP, Addr: netip.MustParseAddr("192.0.2.99"), Port: 80}
	d := func(i int) runtime.Destination {
		return runtime.Destination{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), Port: 80, Weight: i, Forward: runtime.ForwardDR}
	}
	d6 := runtime.Destination{Addr: netip.MustParseAddr("2001:db8:1::30"), Port: 53, Weight: 2, Forward: runtime.ForwardDR}
	ops := []runtime.IPVSOp{
		{Kind: runtime.IPVSAddService, Service: web}, {Kind: runtime.IPVSAddService, Service: dns6},
		{Kind: runtime.IPVSAddService, Service: mark}, {Kind: runtime.IPVSAddService, Service: empty},
		{Kind: runtime.IPVSAddService, Service: other},
		{Kind: runtime.IPVSAddDestination, Key: dns6.Key(), Destination: d6},
		{Kind: runtime.IPVSAddDestination, Key: mark.Key(), Destination: d(9)},
		{Kind: runtime.IPVSAddDestination, Key: other.Key(), Destination: d(8)},
	}
	for i := 1; i <= 300; i++ { // more than one read buffer of answers
		ops = append(ops, runtime.IPVSOp{Kind: runtime.IPVSAddDestination, Key: web.Key(),
			Destination: runtime.Destination{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 250)}), Port: uint16(1000 + i), Weight: 1, Forward: runtime.ForwardNAT}})
	}
	for i, err := range k.IPVSBatch(ops) {
		if err != nil {
			t.Fatalf("setup op %d: %v", i, err)
		}
	}
	all := map[string]runtime.VirtualServer{}
	for _, vs := range ktListAllSorted(t, k) {
		all[vs.Service.Key().String()] = vs
	}
	keys := []runtime.ServiceKey{mark.Key(), missing, web.Key(), empty.Key(), dns6.Key()}
	var want []runtime.VirtualServer
	for _, key := range keys {
		if vs, ok := all[key.String()]; ok {
			want = append(want, vs)
		}
	}
	if len(want) != 4 || len(want[1].Destinations) != 300 {
		t.Fatalf("setup: ListAll has %d of the services listed, want 4 (web with 300 destinations)", len(want))
	}
	list := func(what string) {
		t.Helper()
		got, err := k.ListSome(keys)
		ktMust(t, err)
		for i := range got {
			got[i].Destinations = ktSortDests(got[i].Destinations)
		}
		if diff := cmp.Diff(want, got, ktCmp); diff != "" {
			t.Errorf("ListSome %s (-ListAll +ListSome):\n%s", what, diff)
		}
	}
	list("without a hold")
	if linux.BatchSocketHeld(k) {
		t.Error("ListSome without a hold keeps a socket")
	}
	release := k.HoldIPVSBatch()
	defer release()
	d9w := d(9)
	d9w.Weight = 7
	if errs := k.IPVSBatch([]runtime.IPVSOp{{Kind: runtime.IPVSUpdateDestination, Key: mark.Key(), Destination: d9w}}); errs[0] != nil {
		t.Fatalf("batch on the held socket: %v", errs[0])
	}
	want[0].Destinations[0].Weight = 7
	list("on the held socket")
	list("on the held socket, again")
	if !linux.BatchSocketHeld(k) {
		t.Error("ListSome dropped the held socket")
	}
	if got, err := k.ListSome([]runtime.ServiceKey{missing}); err != nil || len(got) != 0 {
		t.Errorf("ListSome of a missing service = %v, %v; want nothing", got, err)
	}

	// Enough services for ListSome to dump them all rather than ask for
	// each: the same answer.
	ops = ops[:0]
	for i := range 40 {
		svc := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)}), Port: 8080, Scheduler: "rr"}
		ops = append(ops, runtime.IPVSOp{Kind: runtime.IPVSAddService, Service: svc},
			runtime.IPVSOp{Kind: runtime.IPVSAddDestination, Key: svc.Key(), Destination: d(i + 1)})
		keys = append(keys, svc.Key())
	}
	for i, err := range k.IPVSBatch(ops) {
		if err != nil {
			t.Fatalf("setup op %d: %v", i, err)
		}
	}
	for _, vs := range ktListAllSorted(t, k) {
		all[vs.Service.Key().String()] = vs
	}
	want = want[:0]
	for _, key := range keys {
		if vs, ok := all[key.String()]; ok {
			want = append(want, vs)
		}
	}
	if len(keys) < linux.ListSomeDumpMin || len(want) != 44 {
		t.Fatalf("setup: %d keys, %d services; want at least %d keys and 44 services", len(keys), len(want), linux.ListSomeDumpMin)
	}
	list("of many services, on the held socket")
	release()
	list("of many services")
}

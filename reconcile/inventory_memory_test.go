package reconcile

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	goruntime "runtime"
	"testing"
	"unsafe"

	"github.com/hacfg/hacfg/runtime"
)

// memoryObjects are the objects of the agent's steady state in our
// benchmark: services virtual servers of perService destinations each, with
// their IDs and owners made as Desired makes them (one owner string a
// virtual server, shared by its objects).
func memoryObjects(services, perService int) []*Object {
	objs := make([]*Object, 0, services*(1+perService))
	for i := range services {
		st := State{}
		svc := runtime.Service{Protocol: runtime.ProtocolTCP, Addr: netip.AddrFrom4([4]byte{192, 0, byte(2 + i/250), byte(1 + i%250)}),
			Port: 80, Scheduler: "wrr"}
		dests := make([]runtime.Destination, perService)
		for j := range dests {
			n := i*perService + j
			dests[j] = runtime.Destination{Addr: netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), Port: 8080, Weight: 1}
		}
		addServiceObjects(st, VirtualServerOwner(fmt.Sprintf("vs%d", i)), svc, dests)
		objs = append(objs, st[serviceID(svc.Key())])
		for _, d := range dests {
			objs = append(objs, st[destinationID(svc.Key(), d)])
		}
	}
	return objs
}

// inventoryHeap is the heap an inventory of objs keeps, built as applies
// build it (Set, one object at a time), beyond the IDs and owner strings
// the objects already hold.
func inventoryHeap(objs []*Object) int64 {
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	inv := NewInventory()
	for _, o := range objs {
		inv.Set(o.ID, Entry{Owner: o.Owner, Kind: o.Kind})
	}
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	goruntime.KeepAlive(inv)
	goruntime.KeepAlive(objs)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// BenchmarkInventoryMemory reports the heap the inventory keeps per entry
// (bytes/entry) at 1,000 services of 10 destinations each.
func BenchmarkInventoryMemory(b *testing.B) {
	objs := memoryObjects(1000, 10)
	var heap int64
	for b.Loop() {
		heap = inventoryHeap(objs)
	}
	b.ReportMetric(float64(heap)/float64(len(objs)), "bytes/entry")
}

// maxBytesPerEntry bounds the heap the inventory keeps per entry: 71.6
// bytes measured on linux/amd64 with Go 1.26 (the slot of entries, 24
// bytes, over the map's load; an ID in its owner's list, 16 bytes, and
// the list's spare capacity; a share of the owner tables), plus a margin.
// It was 146 when an entry was an Entry in the map and each owner's IDs a
// map of their own.
const maxBytesPerEntry = 80

// TestInventoryMemory: the heap the inventory keeps per entry does not grow
// back (see BenchmarkInventoryMemory).
func TestInventoryMemory(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the bound is for 64-bit systems")
	}
	objs := memoryObjects(1000, 10)
	// The least of three: what the package's other tests left running may
	// allocate or free meanwhile.
	per := math.Inf(1)
	for range 3 {
		heap := inventoryHeap(objs)
		if heap < 0 {
			continue // the heap shrank meanwhile: no measure
		}
		per = min(per, float64(heap)/float64(len(objs)))
	}
	if math.IsInf(per, 1) {
		t.Fatal("no measure: the heap shrank during each of three")
	}
	t.Logf("%.1f bytes an entry", per)
	if per > maxBytesPerEntry {
		t.Errorf("%.1f bytes an entry, want at most %d (slot %d bytes)", per, maxBytesPerEntry, unsafe.Sizeof(slot{}))
	}
}

// BenchmarkInventorySetRemove records the objects of 1,000 virtual servers
// and forgets them in another order, and the same count under one owner
// (as the static blocks own theirs): a teardown of a large owner must not
// cost more per object than one of small owners.
func BenchmarkInventorySetRemove(b *testing.B) {
	objs := memoryObjects(1000, 10)
	one := make([]*Object, len(objs))
	for i, o := range objs {
		c := *o
		c.Owner = ownerStatic
		one[i] = &c
	}
	for _, bc := range []struct {
		name string
		objs []*Object
	}{{"owners=1000", objs}, {"owners=1", one}} {
		b.Run(bc.name, func(b *testing.B) {
			order := rand.New(rand.NewPCG(1, 2)).Perm(len(bc.objs))
			for b.Loop() {
				inv := NewInventory()
				for _, o := range bc.objs {
					inv.Set(o.ID, Entry{Owner: o.Owner, Kind: o.Kind})
				}
				for _, i := range order {
					inv.Remove(bc.objs[i].ID)
				}
				if inv.Len() != 0 {
					b.Fatal("not empty")
				}
			}
		})
	}
}

// BenchmarkInventoryOwned walks the entries of the whole scope, as a full
// reconcile does, and copies those of ten virtual servers, as a scoped one
// does.
func BenchmarkInventoryOwned(b *testing.B) {
	inv := NewInventory()
	for _, o := range memoryObjects(1000, 10) {
		inv.Set(o.ID, Entry{Owner: o.Owner, Kind: o.Kind})
	}
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			n := 0
			inv.ownedIDs(Scope{}, func(string, Entry) { n++ })
			if n != inv.Len() {
				b.Fatal(n)
			}
		}
	})
	b.Run("ten", func(b *testing.B) {
		scope := Scope{}
		for i := range 10 {
			scope.VirtualServers = append(scope.VirtualServers, fmt.Sprintf("vs%d", i*100))
		}
		for b.Loop() {
			if got := inv.snapshot(scope); len(got) != 110 {
				b.Fatal(len(got))
			}
		}
	})
}

// TestLoadedInventoryKeepsNoFile: an inventory read from its file keeps
// its IDs, not the file. Once all but one virtual server's objects are
// removed, it keeps what an inventory built by Set and Remove keeps (the
// maps do not shrink), where IDs pointing into the file's text would keep
// all of it: about 700 KB here.
func TestLoadedInventoryKeepsNoFile(t *testing.T) {
	path := t.TempDir() + "/inventory.json"
	objs := memoryObjects(1000, 10)
	keep := objs[0].Owner
	fill := func(inv *Inventory) {
		for _, o := range objs {
			inv.Set(o.ID, Entry{Owner: o.Owner, Kind: o.Kind})
		}
	}
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	fill(inv)
	if err := inv.Save(); err != nil {
		t.Fatal(err)
	}
	inv = nil
	// kept is the heap that the inventory made by mk keeps once it has
	// only keep's objects left.
	kept := func(mk func() *Inventory) int64 {
		var before, after goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		inv := mk()
		if inv.Len() != len(objs) {
			t.Fatalf("%d objects, want %d", inv.Len(), len(objs))
		}
		for _, id := range inv.IDs() {
			if e, _ := inv.Get(id); e.Owner != keep {
				inv.Remove(id)
			}
		}
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		if inv.Len() != 11 {
			t.Fatalf("%d objects left, want 11", inv.Len())
		}
		goruntime.KeepAlive(inv)
		return int64(after.HeapAlloc) - int64(before.HeapAlloc)
	}
	// The least of three of each: other tests' goroutines may allocate
	// or free meanwhile.
	loaded, built := int64(math.MaxInt64), int64(math.MaxInt64)
	for range 3 {
		loaded = min(loaded, kept(func() *Inventory {
			inv, err := LoadInventory(path)
			if err != nil {
				t.Fatal(err)
			}
			return inv
		}))
		built = min(built, kept(func() *Inventory {
			inv := NewInventory()
			fill(inv)
			return inv
		}))
	}
	t.Logf("with 11 objects left: loaded keeps %d bytes, built %d", loaded, built)
	if loaded-built > 200<<10 {
		t.Errorf("the loaded inventory keeps %d bytes more than one built by Set: the file's text?", loaded-built)
	}
}

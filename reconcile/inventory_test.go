package reconcile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/fake"
)

func TestInventorySaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "inventory.json")
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	drained := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	inv.Set("vip:eth0/192.0.2.10/24", Entry{Owner: "vrrp_instance.VI_1", Kind: KindAddress})
	inv.Set("rs:tcp/192.0.2.10:80/203.0.113.5:80", Entry{Owner: "virtual_server.web", Kind: KindDestination, DrainingSince: &drained})
	inv.Set("ipvs:tcp/192.0.2.10:80", Entry{Owner: "virtual_server.web", Kind: KindService})
	inv.Remove("ipvs:tcp/192.0.2.10:80")
	if err := inv.Save(); err != nil {
		t.Fatal(err)
	}
	back, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inv.IDs(), back.IDs()); diff != "" {
		t.Errorf("ids (-saved +loaded):\n%s", diff)
	}
	if e, _ := back.Get("rs:tcp/192.0.2.10:80/203.0.113.5:80"); e.DrainingSince == nil || !e.DrainingSince.Equal(drained) {
		t.Errorf("drain time lost: %+v", e)
	}
	// The owner index follows sets, owner changes and removals.
	back.Set("vip:eth0/192.0.2.10/24", Entry{Owner: "static", Kind: KindAddress})
	if got := back.snapshot(Scope{Instances: []string{"VI_1"}}); len(got) != 0 {
		t.Errorf("moved entry still under its old owner: %v", got)
	}
	if got := back.snapshot(Scope{Static: true}); len(got) != 1 {
		t.Errorf("static snapshot: %v", got)
	}
	// An unchanged inventory is not rewritten.
	st1, _ := os.Stat(path)
	time.Sleep(10 * time.Millisecond)
	again, _ := LoadInventory(path)
	again.Set("vip:eth0/192.0.2.10/24", Entry{Owner: "vrrp_instance.VI_1", Kind: KindAddress}) // the same
	if err := again.Save(); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("an unchanged inventory was rewritten")
	}
	if _, err := LoadInventory(filepath.Join(t.TempDir(), "missing.json")); err != nil {
		t.Errorf("missing inventory: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadInventory(bad); err == nil {
		t.Error("a corrupt inventory loaded")
	}
}

// TestFactChangesKeepInventory: VRRP and health changes remove and re-add
// kernel objects the config still declares; the inventory keeps them, so
// these hot-path reconciles never rewrite the inventory file. Removing
// them from the config does.
func TestFactChangesKeepInventory(t *testing.T) {
	k := fake.NewKernel("eth0", "eth1")
	r, _ := newTestReconciler(k)
	path := filepath.Join(t.TempDir(), "inventory.json")
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	r.Inventory = inv
	cfg := loadConfig(t, config1, "")
	master := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleMaster}}
	mustReconcile(t, r, cfg, master)
	before := inv.IDs()
	st1, _ := os.Stat(path)
	time.Sleep(10 * time.Millisecond)
	backupDown := runtime.Facts{VRRP: map[string]runtime.VRRPRole{"VI_1": runtime.RoleBackup},
		Health: map[runtime.RealServerID]runtime.Health{{VirtualServer: "web", Addr: netip.MustParseAddrPort("203.0.113.6:80")}: {Up: false, Weight: -1}}}
	p := mustReconcile(t, r, cfg, backupDown)
	if _, _, del := p.Counts(); del != 5 {
		t.Fatalf("backup + real server down deleted %d objects, want 5: %+v", del, p.Changes)
	}
	mustReconcile(t, r, cfg, master)
	if diff := cmp.Diff(before, inv.IDs()); diff != "" {
		t.Errorf("inventory changed (-before +after):\n%s", diff)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("fact changes rewrote the inventory file")
	}
	// Removing the real server from the config removes it from the
	// inventory too.
	mustReconcile(t, r, loadConfig(t, strings.Replace(config1, `  real_server "203.0.113.6:80" {}`+"\n", "", 1), ""), master)
	if _, ok := inv.Get("rs:tcp/192.0.2.10:80/203.0.113.6:80"); ok {
		t.Error("a real server removed from the config stayed in the inventory")
	}
}

func inventoryEntries(inv *Inventory) map[string]Entry {
	out := map[string]Entry{}
	for _, id := range inv.IDs() {
		out[id], _ = inv.Get(id)
	}
	return out
}

// checkIndex reports where the inventory's owner lists and its entries
// disagree.
func checkIndex(inv *Inventory) error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	listed := 0
	free := map[uint32]bool{}
	for _, o := range inv.free {
		free[o] = true
	}
	for i, own := range inv.owners {
		o := uint32(i)
		if len(own.ids) == 0 {
			if !free[o] || own.name != "" {
				return fmt.Errorf("place %d is empty, not free", o)
			}
			continue
		}
		if p, ok := inv.ownerIndex[own.name]; !ok || p != o || free[o] {
			return fmt.Errorf("owner %q at %d: indexed at %d (%v), free %v", own.name, o, p, ok, free[o])
		}
		for pos, id := range own.ids {
			if s, ok := inv.entries[id]; !ok || s != (slot{owner: o, pos: uint32(pos)}) {
				return fmt.Errorf("%q listed at %d/%d, entry %+v (%v)", id, o, pos, s, ok)
			}
		}
		listed += len(own.ids)
	}
	if listed != len(inv.entries) || len(inv.ownerIndex) != len(inv.owners)-len(inv.free) {
		return fmt.Errorf("%d IDs listed, %d entries; %d owners indexed, %d places, %d free",
			listed, len(inv.entries), len(inv.ownerIndex), len(inv.owners), len(inv.free))
	}
	for id, x := range inv.odd {
		if _, ok := inv.entries[id]; !ok {
			return fmt.Errorf("odd %q is not an entry", id)
		}
		if x.kind == kindOfID(id) && x.drainingSince == nil {
			return fmt.Errorf("odd %q is not odd", id)
		}
	}
	return nil
}

// TestInventoryIndex: whatever sets and removals come, in any order, the
// inventory holds what a plain map of entries would, and a scope's walk
// and snapshot find what a scan of that map finds.
func TestInventoryIndex(t *testing.T) {
	drained := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	owners := []string{"static", "", "vrrp_instance.VI_1", "vmac.VI_1", "virtual_server.a", "virtual_server.b", "other"}
	kinds := []Kind{KindLink, KindAddress, KindService, KindDestination, KindRoute, KindRule, "odd kind"}
	prefixes := []string{"link:", "vip:", "ipvs:", "rs:", "route:", "rule:", "", "vip"}
	scopes := []Scope{{}, {Skip: []string{"static", "static"}}, {Static: true}, {Instances: []string{"VI_1"}},
		{VirtualServers: []string{"a", "b", "a"}, Skip: []string{"virtual_server.b"}}, {Instances: []string{"VI_2"}, Static: true}}
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 7))
		inv := NewInventory()
		want := map[string]Entry{}
		for step := range 2000 {
			id := fmt.Sprintf("%s%d", prefixes[rng.IntN(len(prefixes))], rng.IntN(300))
			switch rng.IntN(10) {
			case 0, 1, 2, 3:
				inv.Remove(id)
				delete(want, id)
			default:
				e := Entry{Owner: owners[rng.IntN(len(owners))], Kind: kindOfID(id)}
				if rng.IntN(4) == 0 {
					e.Kind = kinds[rng.IntN(len(kinds))]
				}
				if rng.IntN(8) == 0 {
					e.DrainingSince = &drained
				}
				// A teardown of most of one owner, now and then.
				if rng.IntN(500) == 0 {
					for id, e := range want {
						if e.Owner == "static" && rng.IntN(10) > 0 {
							inv.Remove(id)
							delete(want, id)
						}
					}
				}
				inv.Set(id, e)
				want[id] = e
			}
			if step%250 != 249 {
				continue
			}
			if err := checkIndex(inv); err != nil {
				t.Fatalf("seed %d, step %d: %v", seed, step, err)
			}
			if diff := cmp.Diff(want, inventoryEntries(inv)); diff != "" {
				t.Fatalf("seed %d, step %d: entries (-want +got):\n%s", seed, step, diff)
			}
			for _, scope := range scopes {
				wantScope := map[string]Entry{}
				for id, e := range want {
					if scope.Has(e.Owner) {
						wantScope[id] = e
					}
				}
				if diff := cmp.Diff(wantScope, inv.snapshot(scope)); diff != "" {
					t.Fatalf("seed %d, step %d, scope %+v: snapshot (-want +got):\n%s", seed, step, scope, diff)
				}
				inv.mu.Lock()
				owned := inv.ownedLocked(scope)
				n := owned.n
				for id, e := range want {
					got, ok, inScope := owned.get(id)
					if !ok || inScope != scope.Has(e.Owner) || !cmp.Equal(got, e) {
						t.Errorf("seed %d, step %d, scope %+v: get %q = %+v, %v, %v; want %+v", seed, step, scope, id, got, ok, inScope, e)
					}
				}
				inv.mu.Unlock()
				if n != len(wantScope) {
					t.Fatalf("seed %d, step %d, scope %+v: %d entries in scope, want %d", seed, step, scope, n, len(wantScope))
				}
			}
		}
	}
	// An owner that loses most of its IDs gives back the room of its list.
	inv := NewInventory()
	for i := range 10000 {
		inv.Set(fmt.Sprint("vip:", i), Entry{Owner: "static", Kind: KindAddress})
	}
	for i := range 9990 {
		inv.Remove(fmt.Sprint("vip:", i))
	}
	if err := checkIndex(inv); err != nil {
		t.Fatal(err)
	}
	if c := cap(inv.owners[inv.ownerIndex["static"]].ids); c > 64 {
		t.Errorf("10 IDs left in a list of %d", c)
	}
}

// TestInventoryFileRoundTrip: whatever owners, kinds and IDs hold, the file
// gives back the same inventory, and its owner index.
func TestInventoryFileRoundTrip(t *testing.T) {
	drained := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	entries := map[string]Entry{
		"vip:eth0/192.0.2.10/24":                   {Owner: "vrrp_instance.VI_1", Kind: KindAddress},
		"rule:from all lookup 100 priority 10":     {Owner: "static", Kind: KindRule},
		"rs:tcp/192.0.2.10:80/203.0.113.5:80":      {Owner: "virtual_server.web farm", Kind: KindDestination, DrainingSince: &drained},
		"rs:tcp/192.0.2.10:80/203.0.113.6:80":      {Owner: "virtual_server.web farm", Kind: KindDestination},
		"ipvs:tcp/192.0.2.10:80":                   {Owner: "virtual_server.web farm", Kind: KindService},
		`"quoted" id`:                              {Owner: "", Kind: KindRoute},
		"line\nbreak":                              {Owner: "owner\nwith a break", Kind: "odd kind@"},
		"trailing space ":                          {Owner: `"`, Kind: `"`},
		"ipvs:fwmark/1/inet":                       {Owner: "virtual_server.m", Kind: KindService, DrainingSince: &drained},
		"rs:udp/[2001:db8::1]:53/[2001:db8::2]:53": {Owner: "virtual_server.dns", Kind: KindDestination},
	}
	// And a table larger than the buffer the file is written through.
	for i := range 3000 {
		entries[fmt.Sprintf("rs:tcp/192.0.2.20:80/198.51.100.%d:%d", i%250, 1000+i)] = Entry{Owner: fmt.Sprintf("virtual_server.big%d", i%7), Kind: KindDestination}
	}
	path := filepath.Join(t.TempDir(), "inventory.json")
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	for id, e := range entries {
		inv.Set(id, e)
	}
	if err := inv.Save(); err != nil {
		t.Fatal(err)
	}
	back, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entries, inventoryEntries(back)); diff != "" {
		t.Errorf("entries (-saved +loaded):\n%s", diff)
	}
	got := back.snapshot(Scope{VirtualServers: []string{"web farm"}})
	if diff := cmp.Diff([]string{"ipvs:tcp/192.0.2.10:80", "rs:tcp/192.0.2.10:80/203.0.113.5:80", "rs:tcp/192.0.2.10:80/203.0.113.6:80"}, sortedKeys(got)); diff != "" {
		t.Errorf("owner index (-want +got):\n%s", diff)
	}
	// Equal inventories are equal files.
	b1, _ := os.ReadFile(path)
	back.dirty = true
	if err := back.Save(); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(path)
	if diff := cmp.Diff(string(b1), string(b2)); diff != "" {
		t.Errorf("second save (-first +second):\n%s", diff)
	}
}

// TestInventoryReadsVersion1: an inventory written by an older hacfg (JSON)
// loads, and the next save rewrites it in the current format.
func TestInventoryReadsVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.json")
	v1 := `{
  "version": 1,
  "objects": {
    "ipvs:tcp/192.0.2.10:80": {"owner": "virtual_server.web", "kind": "service"},
    "rs:tcp/192.0.2.10:80/203.0.113.5:80": {"owner": "virtual_server.web", "kind": "destination", "draining_since": "2026-11-25T12:00:00Z"}
  }
}
`
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	drained := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	want := map[string]Entry{
		"ipvs:tcp/192.0.2.10:80":              {Owner: "virtual_server.web", Kind: KindService},
		"rs:tcp/192.0.2.10:80/203.0.113.5:80": {Owner: "virtual_server.web", Kind: KindDestination, DrainingSince: &drained},
	}
	if diff := cmp.Diff(want, inventoryEntries(inv)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if err := inv.Save(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	wantFile := "hacfg inventory 2 2 1\n" +
		"owner 2 virtual_server.web\n" +
		"service ipvs:tcp/192.0.2.10:80\n" +
		"destination@2026-11-25T12:00:00Z rs:tcp/192.0.2.10:80/203.0.113.5:80\n"
	if diff := cmp.Diff(wantFile, string(b)); diff != "" {
		t.Errorf("rewritten file (-want +got):\n%s", diff)
	}
	back, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, inventoryEntries(back)); diff != "" {
		t.Errorf("entries after rewrite (-want +got):\n%s", diff)
	}
}

// TestInventoryCorrupt: a damaged file is a clear error, never a smaller
// inventory (which would make hacfg forget what it owns).
func TestInventoryCorrupt(t *testing.T) {
	good := "hacfg inventory 2 2 1\nowner 2 virtual_server.web\nservice ipvs:tcp/192.0.2.10:80\ndestination rs:tcp/192.0.2.10:80/203.0.113.5:80\n"
	for _, tt := range []struct {
		name, data, want string
	}{
		{"json", "{", "corrupt inventory"},
		{"json version", `{"version": 7, "objects": {}}`, "unknown version 7"},
		{"version", "hacfg inventory 3 0 0\n", `line 1: unknown version "3"`},
		{"header", "hacfg inventory 2 2\n", "line 1: want"},
		{"counts", "hacfg inventory 2 x 1\n", "line 1: bad counts"},
		{"truncated owner", good[:strings.Index(good, "destination")], "truncated: owner \"virtual_server.web\" lists fewer than 2 objects"},
		{"truncated owners", "hacfg inventory 2 2 2\n" + good[len("hacfg inventory 2 2 1\n"):], "truncated: 1 of 2 owners"},
		{"total", strings.Replace(good, "inventory 2 2 1", "inventory 2 3 1", 1), "2 objects, the header says 3"},
		{"trailing", good + "service ipvs:tcp/192.0.2.11:80\n", `line 5: unexpected "service ipvs:tcp/192.0.2.11:80" after the last owner`},
		{"not an owner", strings.Replace(good, "owner 2", "ownr 2", 1), "line 2: want an owner line"},
		{"owner count", strings.Replace(good, "owner 2", "owner two", 1), "line 2: bad owner line"},
		{"entry", strings.Replace(good, "service ipvs", "serviceipvs", 1), "line 3: want KIND ID"},
		{"no id", strings.Replace(good, "service ipvs:tcp/192.0.2.10:80", "service ", 1), "line 3: id: missing value"},
		{"time", strings.Replace(good, "destination rs", "destination@yesterday rs", 1), `line 4: bad draining time "yesterday"`},
		{"quote", strings.Replace(good, "service ipvs:tcp/192.0.2.10:80", `service "ipvs`, 1), "line 3: id: bad quoted value"},
		{"duplicate", strings.Replace(good, "destination rs:tcp/192.0.2.10:80/203.0.113.5:80", "service ipvs:tcp/192.0.2.10:80", 1), `line 4: object "ipvs:tcp/192.0.2.10:80" listed twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "inventory.json")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadInventory(path)
			if err == nil {
				t.Fatal("loaded")
			}
			if !errors.Is(err, ErrCorruptInventory) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q: want ErrCorruptInventory, the path and %q", err, tt.want)
			}
		})
	}
	// The good file itself loads.
	path := filepath.Join(t.TempDir(), "inventory.json")
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if inv, err := LoadInventory(path); err != nil || inv.Len() != 2 {
		t.Errorf("good file: %v", err)
	}
}

func sortedKeys(m map[string]Entry) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

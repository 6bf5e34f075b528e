package reconcile

import (
	"net/netip"
	"os"
	"path/filepath"
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

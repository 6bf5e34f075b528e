package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// DefaultInventoryPath is where the inventory lives on a node.
const DefaultInventoryPath = "/var/lib/hacfg/inventory.json"

// Inventory records which kernel objects hacfg created or adopted. It is the
// authority for deletion: only inventory members missing from the desired
// state are ever removed. It is safe for concurrent use.
type Inventory struct {
	path string // "" keeps it in memory only

	mu      sync.Mutex
	entries map[string]Entry
	// byOwner indexes entries by owner, so that a scoped reconcile reads
	// only its owners' entries, not the whole inventory.
	byOwner map[string]map[string]struct{}
	// dirty is set when entries changed since the last Save.
	dirty bool
}

// Entry is one owned object.
type Entry struct {
	Owner string `json:"owner"`
	Kind  Kind   `json:"kind"`
	// DrainingSince is set while a destination is being drained (weight 0,
	// waiting for its connections to end before it is deleted).
	DrainingSince *time.Time `json:"draining_since,omitempty"`
}

// inventoryFile is the JSON form of version 1, still read so that an
// upgrade keeps what an older hacfg recorded.
type inventoryFile struct {
	Version int              `json:"version"`
	Objects map[string]Entry `json:"objects"`
}

// NewInventory returns an empty in-memory inventory.
func NewInventory() *Inventory {
	return &Inventory{entries: map[string]Entry{}, byOwner: map[string]map[string]struct{}{}}
}

// ErrCorruptInventory is wrapped by LoadInventory's error when the file is
// not an inventory it can read.
var ErrCorruptInventory = errors.New("corrupt inventory")

// LoadInventory reads the inventory at path; a missing file is an empty
// inventory that Save will create. It reads the current format (see
// inventoryfile.go) and the JSON of version 1.
func LoadInventory(path string) (*Inventory, error) {
	inv := NewInventory()
	inv.path = path
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return inv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	if bytes.HasPrefix(b, []byte(inventoryMagic)) {
		if err := inv.decode(string(b)); err != nil {
			return nil, fmt.Errorf("read inventory %s: %w", path, err)
		}
		return inv, nil
	}
	var f inventoryFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read inventory %s: %w: %w", path, ErrCorruptInventory, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("read inventory %s: %w: unknown version %d", path, ErrCorruptInventory, f.Version)
	}
	for id, e := range f.Objects {
		inv.setLocked(id, e)
	}
	// Rewritten in the current format by the next Save.
	inv.dirty = len(f.Objects) > 0
	return inv, nil
}

// Save writes the inventory atomically (temporary file, fsync, rename). An
// in-memory inventory saves nothing.
func (inv *Inventory) Save() error {
	if inv.path == "" {
		return nil
	}
	inv.mu.Lock()
	if !inv.dirty {
		inv.mu.Unlock()
		return nil
	}
	inv.dirty = false
	inv.mu.Unlock()
	saved := false
	defer func() {
		if !saved {
			inv.mu.Lock()
			inv.dirty = true // try again next time
			inv.mu.Unlock()
		}
	}()
	dir := filepath.Dir(inv.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".inventory-*")
	if err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	defer os.Remove(tmp.Name())
	// Written from the entries as they stand, under the lock: into the
	// page cache, a few milliseconds for 100,000 objects.
	inv.mu.Lock()
	err = inv.writeLocked(tmp)
	inv.mu.Unlock()
	if err != nil {
		tmp.Close()
		return fmt.Errorf("save inventory: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save inventory: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	if err := os.Rename(tmp.Name(), inv.path); err != nil {
		return fmt.Errorf("save inventory: %w", err)
	}
	saved = true
	return nil
}

// Get returns the entry for id.
func (inv *Inventory) Get(id string) (Entry, bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	e, ok := inv.entries[id]
	return e, ok
}

// Set records id as owned.
func (inv *Inventory) Set(id string, e Entry) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.setLocked(id, e)
}

func (inv *Inventory) setLocked(id string, e Entry) {
	old, ok := inv.entries[id]
	if ok && old == e {
		return
	}
	inv.dirty = true
	if ok && old.Owner != e.Owner {
		inv.unindexLocked(id, old.Owner)
	}
	inv.entries[id] = e
	ids := inv.byOwner[e.Owner]
	if ids == nil {
		ids = map[string]struct{}{}
		inv.byOwner[e.Owner] = ids
	}
	ids[id] = struct{}{}
}

func (inv *Inventory) unindexLocked(id, owner string) {
	if ids := inv.byOwner[owner]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(inv.byOwner, owner)
		}
	}
}

// Remove forgets id.
func (inv *Inventory) Remove(id string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if old, ok := inv.entries[id]; ok {
		inv.unindexLocked(id, old.Owner)
		delete(inv.entries, id)
		inv.dirty = true
	}
}

// IDs returns the owned IDs, sorted.
func (inv *Inventory) IDs() []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	ids := make([]string, 0, len(inv.entries))
	for id := range inv.entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Len returns the number of owned objects.
func (inv *Inventory) Len() int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return len(inv.entries)
}

// snapshot copies the entries whose owner is in scope. A scope naming
// owners costs what those owners own, not the size of the inventory.
func (inv *Inventory) snapshot(scope Scope) map[string]Entry {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.snapshotLocked(scope)
}

func (inv *Inventory) snapshotLocked(scope Scope) map[string]Entry {
	var out map[string]Entry
	if scope.All() {
		out = make(map[string]Entry, len(inv.entries))
	} else {
		out = map[string]Entry{}
	}
	inv.ownedIDsLocked(scope, func(id string, e Entry) { out[id] = e })
	return out
}

// ownedIDs calls f with each entry whose owner is in scope, without
// copying them as snapshot does: a full reconcile in parts asks for each
// part's services twice.
func (inv *Inventory) ownedIDs(scope Scope, f func(id string, e Entry)) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.ownedIDsLocked(scope, f)
}

// ownedIDsLocked is ownedIDs with inv.mu held. A scope naming owners
// costs what those owners own, not the size of the inventory.
func (inv *Inventory) ownedIDsLocked(scope Scope, f func(id string, e Entry)) {
	if scope.All() {
		for id, e := range inv.entries {
			if scope.Has(e.Owner) {
				f(id, e)
			}
		}
		return
	}
	for _, owner := range scope.owners() {
		if !scope.Has(owner) {
			continue
		}
		for id := range inv.byOwner[owner] {
			f(id, inv.entries[id])
		}
	}
}

// ownedLocked returns the entries whose owner is in scope. For the whole
// scope that is the inventory's own map, not a copy: callers hold inv.mu
// and only read it.
func (inv *Inventory) ownedLocked(scope Scope) map[string]Entry {
	if scope.All() && len(scope.Skip) == 0 {
		return inv.entries
	}
	return inv.snapshotLocked(scope)
}

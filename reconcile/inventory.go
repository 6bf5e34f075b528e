package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

	mu sync.Mutex
	// entries places each owned ID in its owner's list: 8 bytes beside
	// the key where an Entry took 40, for each of the tens of thousands
	// of objects of a large table.
	entries map[string]slot
	// owners lists the IDs of each owner, so that a scoped reconcile reads
	// only its owners' entries, not the whole inventory. The IDs are the
	// strings that key entries, not copies. ownerIndex finds an owner's
	// place; a place emptied by a removal is in free until a new owner
	// takes it.
	owners     []ownerIDs
	ownerIndex map[string]uint32
	free       []uint32
	// odd holds what few entries have besides an owner: a drain time, or
	// a kind other than the one their ID's prefix names (see kindOfID).
	// The others' kind is read from their ID, so they take no room for it.
	odd map[string]oddEntry
	// dirty is set when entries changed since the last Save.
	dirty bool
}

// slot is where an ID is listed: owners[owner].ids[pos].
type slot struct{ owner, pos uint32 }

// ownerIDs is an owner and the IDs it owns, in no order: a removal moves
// the last one into the place it empties.
type ownerIDs struct {
	name string
	ids  []string
}

// oddEntry is what Entry holds for an ID beyond its owner, stored only
// when its ID does not say it all.
type oddEntry struct {
	kind          Kind
	drainingSince *time.Time
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
	return &Inventory{entries: map[string]slot{}, ownerIndex: map[string]uint32{}}
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
	s, ok := inv.entries[id]
	if !ok {
		return Entry{}, false
	}
	return inv.entryLocked(id, s.owner), true
}

// entryLocked returns the entry of id, listed under owners[owner].
func (inv *Inventory) entryLocked(id string, owner uint32) Entry {
	e := Entry{Owner: inv.owners[owner].name, Kind: kindOfID(id)}
	if len(inv.odd) > 0 {
		if x, ok := inv.odd[id]; ok {
			e.Kind, e.DrainingSince = x.kind, x.drainingSince
		}
	}
	return e
}

// Set records id as owned.
func (inv *Inventory) Set(id string, e Entry) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.setLocked(id, e)
}

func (inv *Inventory) setLocked(id string, e Entry) {
	s, ok := inv.entries[id]
	if ok && inv.entryLocked(id, s.owner) == e {
		return
	}
	inv.dirty = true
	if ok && inv.owners[s.owner].name != e.Owner {
		inv.unindexLocked(s)
		ok = false
	}
	if !ok {
		// The ID joins the end of its owner's list. An ID that stays
		// with its owner keeps its place and its string.
		o := inv.internLocked(e.Owner)
		ids := inv.owners[o].ids
		inv.entries[id] = slot{owner: o, pos: uint32(len(ids))}
		inv.owners[o].ids = append(ids, id)
	}
	inv.setOddLocked(id, e.Kind, e.DrainingSince)
}

// setOddLocked records the kind and drain time of id where its ID does not
// say them, and forgets any it had otherwise.
func (inv *Inventory) setOddLocked(id string, kind Kind, drainingSince *time.Time) {
	if kind == kindOfID(id) && drainingSince == nil {
		delete(inv.odd, id)
		return
	}
	if inv.odd == nil {
		inv.odd = map[string]oddEntry{}
	}
	inv.odd[id] = oddEntry{kind: kind, drainingSince: drainingSince}
}

// internLocked returns the place of owner, making one if it owns nothing
// yet.
func (inv *Inventory) internLocked(owner string) uint32 {
	if o, ok := inv.ownerIndex[owner]; ok {
		return o
	}
	var o uint32
	if n := len(inv.free); n > 0 {
		o = inv.free[n-1]
		inv.free = inv.free[:n-1]
	} else {
		o = uint32(len(inv.owners))
		inv.owners = append(inv.owners, ownerIDs{})
	}
	inv.owners[o].name = owner
	inv.ownerIndex[owner] = o
	return o
}

// unindexLocked takes the ID at s out of its owner's list: the list's last
// ID moves into its place, so that a teardown of an owner of thousands of
// IDs costs the same per ID as one of small owners.
func (inv *Inventory) unindexLocked(s slot) {
	own := &inv.owners[s.owner]
	last := len(own.ids) - 1
	if int(s.pos) != last {
		moved := own.ids[last]
		own.ids[s.pos] = moved
		inv.entries[moved] = s
	}
	own.ids[last] = "" // the spare capacity does not keep it alive
	own.ids = own.ids[:last]
	switch {
	case last == 0:
		delete(inv.ownerIndex, own.name)
		*own = ownerIDs{}
		if len(inv.ownerIndex) == 0 {
			inv.owners, inv.free = nil, nil
		} else {
			inv.free = append(inv.free, s.owner)
		}
	case cap(own.ids) > 64 && last < cap(own.ids)/4:
		// An owner that lost most of its IDs gives back the memory of
		// the list; halving each time keeps removals O(1) amortized.
		own.ids = slices.Clone(own.ids)
	}
}

// Remove forgets id.
func (inv *Inventory) Remove(id string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if s, ok := inv.entries[id]; ok {
		inv.unindexLocked(s)
		delete(inv.entries, id)
		delete(inv.odd, id)
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
// costs what those owners own, not the size of the inventory. f must not
// change the inventory.
func (inv *Inventory) ownedIDsLocked(scope Scope, f func(id string, e Entry)) {
	if scope.All() {
		for i := range inv.owners {
			o := uint32(i)
			// A free place has no IDs (and an empty name, which is
			// also a possible owner's).
			if len(inv.owners[o].ids) == 0 || !scope.Has(inv.owners[o].name) {
				continue
			}
			for _, id := range inv.owners[o].ids {
				f(id, inv.entryLocked(id, o))
			}
		}
		return
	}
	for _, owner := range scope.owners() {
		if !scope.Has(owner) {
			continue
		}
		if o, ok := inv.ownerIndex[owner]; ok {
			for _, id := range inv.owners[o].ids {
				f(id, inv.entryLocked(id, o))
			}
		}
	}
}

// owned is what an inventory owns in a scope, read in place rather than
// copied: its user holds inv.mu throughout and only reads.
type owned struct {
	inv   *Inventory
	scope Scope
	// owners are the places of the owners in scope if in is set (a
	// scope that names owners), else of those the whole scope skips.
	owners map[uint32]bool
	in     bool
	// n counts the entries in scope.
	n int
}

// ownedLocked returns the entries whose owner is in scope, not a copy:
// for a scope naming owners it costs what those owners own, and for the
// whole scope what it skips.
func (inv *Inventory) ownedLocked(scope Scope) owned {
	w := owned{inv: inv, scope: scope}
	if scope.All() {
		w.n = len(inv.entries)
		for _, name := range scope.Skip {
			if o, ok := inv.ownerIndex[name]; ok && !w.owners[o] {
				w.owners = mapSet(w.owners, o)
				w.n -= len(inv.owners[o].ids)
			}
		}
		return w
	}
	w.in = true
	for _, name := range scope.owners() {
		if o, ok := inv.ownerIndex[name]; ok && !w.owners[o] && scope.Has(name) {
			w.owners = mapSet(w.owners, o)
			w.n += len(inv.owners[o].ids)
		}
	}
	return w
}

// mapSet sets m[o], making m if it is nil: the whole scope without Skip,
// the agent's usual one, needs no map.
func mapSet(m map[uint32]bool, o uint32) map[uint32]bool {
	if m == nil {
		m = map[uint32]bool{}
	}
	m[o] = true
	return m
}

// get returns the entry of id, whether the inventory owns id (in scope or
// not), and whether its owner is in scope.
func (w owned) get(id string) (e Entry, ok, inScope bool) {
	s, ok := w.inv.entries[id]
	if !ok {
		return Entry{}, false, false
	}
	// In scope: listed in a scope that names owners, or not listed (not
	// skipped) in the whole scope.
	return w.inv.entryLocked(id, s.owner), true, w.owners[s.owner] == w.in
}

// each calls f with each entry in scope, in no order.
func (w owned) each(f func(id string, e Entry)) {
	if !w.in {
		w.inv.ownedIDsLocked(w.scope, f)
		return
	}
	for o := range w.owners {
		for _, id := range w.inv.owners[o].ids {
			f(id, w.inv.entryLocked(id, o))
		}
	}
}

package reconcile

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The inventory file, version 2: lines of text grouped by owner, cheap to
// read for a table of 100,000 objects (the IDs are substrings of the file,
// not one allocation each, and every map is sized up front) and still
// readable with less and grep.
//
//	hacfg inventory 2 TOTAL OWNERS
//	owner N NAME
//	KIND ID
//	KIND@DRAINING_SINCE ID
//
// The header counts the objects and owners; each owner line counts the
// objects listed under it, so a truncated file is an error, not a smaller
// inventory. NAME and ID run to the end of the line; a value that is empty,
// starts with a double quote or holds a line break is written as a Go
// quoted string instead, as is a KIND that is not a plain word.
// DRAINING_SINCE is RFC 3339 with nanoseconds. Owners and the objects of
// each owner are sorted, so equal inventories are equal files.
const (
	inventoryMagic   = "hacfg inventory "
	inventoryVersion = 2
)

// writeLocked writes the inventory in the current format to w, a line at
// a time through a small buffer: the file of a large table (64 bytes an
// object) is never whole in memory.
func (inv *Inventory) writeLocked(w io.Writer) error {
	owners := make([]string, 0, len(inv.ownerIndex))
	for o := range inv.ownerIndex {
		owners = append(owners, o)
	}
	sort.Strings(owners)
	bw := bufio.NewWriterSize(w, 16<<10)
	b := make([]byte, 0, 256)
	b = fmt.Appendf(b, "%s%d %d %d\n", inventoryMagic, inventoryVersion, len(inv.entries), len(owners))
	ids := make([]string, 0, 64)
	flush := func() error {
		_, err := bw.Write(b)
		b = b[:0]
		return err
	}
	for _, o := range owners {
		place := inv.ownerIndex[o]
		ids = append(ids[:0], inv.owners[place].ids...)
		sort.Strings(ids)
		b = append(b, "owner "...)
		b = strconv.AppendInt(b, int64(len(ids)), 10)
		b = append(b, ' ')
		b = appendRest(b, o)
		b = append(b, '\n')
		for _, id := range ids {
			e := inv.entryLocked(id, place)
			if plainWord(string(e.Kind)) {
				b = append(b, e.Kind...)
			} else {
				b = strconv.AppendQuote(b, string(e.Kind))
			}
			if e.DrainingSince != nil {
				b = append(b, '@')
				b = e.DrainingSince.AppendFormat(b, time.RFC3339Nano)
			}
			b = append(b, ' ')
			b = appendRest(b, id)
			b = append(b, '\n')
			if err := flush(); err != nil {
				return err
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// plainWord reports whether s can be written as a bare KIND.
func plainWord(s string) bool {
	if s == "" || s[0] == '"' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '@' || c >= 0x7f {
			return false
		}
	}
	return true
}

// appendRest appends s as a value that runs to the end of the line.
func appendRest(b []byte, s string) []byte {
	if s == "" || s[0] == '"' || strings.ContainsAny(s, "\r\n") {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// parseRest reads a value written by appendRest.
func parseRest(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("missing value")
	}
	if s[0] != '"' {
		return s, nil
	}
	v, err := strconv.Unquote(s)
	if err != nil {
		return "", fmt.Errorf("bad quoted value %s", s)
	}
	return v, nil
}

// decode fills an empty inventory from data in the current format.
func (inv *Inventory) decode(data string) error {
	ln := 0
	next := func() (string, bool) {
		if data == "" {
			return "", false
		}
		ln++
		i := strings.IndexByte(data, '\n')
		if i < 0 {
			line := data
			data = ""
			return line, true
		}
		line := data[:i]
		data = data[i+1:]
		return line, true
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: line %d: %s", ErrCorruptInventory, ln, fmt.Sprintf(format, args...))
	}
	header, _ := next()
	f := strings.Fields(strings.TrimPrefix(header, inventoryMagic))
	if len(f) < 1 {
		return corrupt("no version")
	}
	if v, err := strconv.Atoi(f[0]); err != nil || v != inventoryVersion {
		return corrupt("unknown version %q", f[0])
	}
	if len(f) != 3 {
		return corrupt("want \"%s%d TOTAL OWNERS\"", inventoryMagic, inventoryVersion)
	}
	total, err1 := strconv.Atoi(f[1])
	nOwners, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || total < 0 || nOwners < 0 || total > len(data) || nOwners > len(data) {
		return corrupt("bad counts %q %q", f[1], f[2])
	}
	inv.entries = make(map[string]slot, total)
	inv.ownerIndex = make(map[string]uint32, nOwners)
	inv.owners = make([]ownerIDs, 0, nOwners)
	for range nOwners {
		line, ok := next()
		if !ok {
			return fmt.Errorf("%w: truncated: %d of %d owners", ErrCorruptInventory, len(inv.owners), nOwners)
		}
		rest, ok := strings.CutPrefix(line, "owner ")
		if !ok {
			return corrupt("want an owner line, got %q", line)
		}
		count, name, ok := strings.Cut(rest, " ")
		n, err := strconv.Atoi(count)
		if !ok || err != nil || n < 1 || n > len(data) {
			return corrupt("bad owner line %q", line)
		}
		owner, err := parseRest(name)
		if err != nil {
			return corrupt("owner: %v", err)
		}
		if _, dup := inv.ownerIndex[owner]; dup {
			return corrupt("owner %q listed twice", owner)
		}
		owner = strings.Clone(owner)
		o := uint32(len(inv.owners))
		inv.ownerIndex[owner] = o
		inv.owners = append(inv.owners, ownerIDs{name: owner, ids: make([]string, 0, n)})
		for range n {
			line, ok := next()
			if !ok {
				return fmt.Errorf("%w: truncated: owner %q lists fewer than %d objects", ErrCorruptInventory, owner, n)
			}
			e, id, err := parseEntry(line)
			if err != nil {
				return corrupt("%v", err)
			}
			if _, dup := inv.entries[id]; dup {
				return corrupt("object %q listed twice", id)
			}
			// The ID is kept for as long as the object is owned, and
			// the entry whose ID stays the same keeps its string: a
			// piece of data would keep the whole file alive.
			id = strings.Clone(id)
			ids := inv.owners[o].ids
			inv.entries[id] = slot{owner: o, pos: uint32(len(ids))}
			inv.owners[o].ids = append(ids, id)
			inv.setOddLocked(id, e.Kind, e.DrainingSince)
		}
	}
	if len(inv.entries) != total {
		return fmt.Errorf("%w: %d objects, the header says %d", ErrCorruptInventory, len(inv.entries), total)
	}
	if line, ok := next(); ok {
		return corrupt("unexpected %q after the last owner", line)
	}
	return nil
}

// parseEntry reads "KIND ID" or "KIND@DRAINING_SINCE ID".
func parseEntry(line string) (Entry, string, error) {
	var e Entry
	var kind string
	if strings.HasPrefix(line, `"`) {
		q, err := strconv.QuotedPrefix(line)
		if err != nil {
			return e, "", fmt.Errorf("bad quoted kind in %q", line)
		}
		kind, _ = strconv.Unquote(q)
		line = line[len(q):]
	} else {
		i := strings.IndexAny(line, " @")
		if i <= 0 {
			return e, "", fmt.Errorf("want KIND ID, got %q", line)
		}
		kind, line = line[:i], line[i:]
	}
	e.Kind = Kind(kind)
	if rest, ok := strings.CutPrefix(line, "@"); ok {
		ts, after, ok := strings.Cut(rest, " ")
		if !ok {
			return e, "", fmt.Errorf("want KIND@TIME ID, got %q", line)
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return e, "", fmt.Errorf("bad draining time %q", ts)
		}
		e.DrainingSince = &t
		line = " " + after
	}
	rest, ok := strings.CutPrefix(line, " ")
	if !ok {
		return e, "", fmt.Errorf("want KIND ID, got %q", line)
	}
	id, err := parseRest(rest)
	if err != nil {
		return e, "", fmt.Errorf("id: %w", err)
	}
	return e, id, nil
}

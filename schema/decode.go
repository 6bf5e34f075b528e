package schema

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
)

// sourceMap remembers where each decoded value came from, keyed by a pointer
// to the field (or struct) that holds it. A large config has one entry a
// line or so (77,000 for 10,000 real servers), held while the config is
// validated: each is 40 bytes in chunks of a few thousand, sorted by key
// when first read, where a map keyed by the pointer itself took 95 bytes
// an entry (an interface key, and a hash table's free slots).
type sourceMap struct {
	// mu serializes reads, which sort: a decoded config may be read
	// from several goroutines.
	mu     sync.Mutex
	chunks [][]srcEntry
	// sorted is how many entries of each chunk are known sorted.
	sorted []int
	// types numbers the pointers' types: a struct and its first field
	// share an address, and the type tells them apart.
	types map[reflect.Type]uint32
	files []string
	// lean keeps the ranges of values decoded as their zero value only:
	// enough to tell what was written (see Config.written), for a config
	// whose ranges are wanted only if it has problems (see LoadLean).
	lean bool
}

// srcEntry is one value's range: its key (address and type number) and
// the range packed in 32-bit numbers, its file an index into files.
type srcEntry struct {
	addr uintptr
	typ  uint32
	r    packedRange
}

// packedRange is an hcl.Range in 32-bit numbers.
type packedRange struct {
	file                   uint32
	line, col, byte        uint32
	endLine, endCol, endAt uint32
}

// srcChunk is the most entries a chunk holds (160 KiB).
const srcChunk = 4096

func newSourceMap(hint int, lean bool) *sourceMap {
	s := &sourceMap{types: map[reflect.Type]uint32{}, lean: lean}
	s.chunks = [][]srcEntry{make([]srcEntry, 0, min(max(hint, 64), srcChunk))}
	s.sorted = []int{0}
	return s
}

// key returns the address and type number of ptr, a pointer; ok is false
// for anything else, and for a type put has not seen when add is false.
func (s *sourceMap) key(ptr any, add bool) (addr uintptr, typ uint32, ok bool) {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return 0, 0, false
	}
	t := v.Type()
	typ, ok = s.types[t]
	if !ok {
		if !add {
			return 0, 0, false
		}
		if s.types == nil {
			s.types = map[reflect.Type]uint32{}
		}
		typ = uint32(len(s.types))
		s.types[t] = typ
	}
	return v.Pointer(), typ, true
}

func (s *sourceMap) put(ptr any, r hcl.Range) {
	if s.lean && !reflect.ValueOf(ptr).Elem().IsZero() {
		return
	}
	addr, typ, ok := s.key(ptr, true)
	if !ok {
		return
	}
	f := len(s.files) - 1
	for f >= 0 && s.files[f] != r.Filename {
		f--
	}
	if f < 0 {
		s.files = append(s.files, r.Filename)
		f = len(s.files) - 1
	}
	last := len(s.chunks) - 1
	if last < 0 || len(s.chunks[last]) == cap(s.chunks[last]) {
		n := srcChunk
		if last < 0 {
			n = 64
		}
		s.chunks = append(s.chunks, make([]srcEntry, 0, n))
		s.sorted = append(s.sorted, 0)
		last++
	}
	s.chunks[last] = append(s.chunks[last], srcEntry{addr: addr, typ: typ, r: packedRange{file: uint32(f),
		line: uint32(r.Start.Line), col: uint32(r.Start.Column), byte: uint32(r.Start.Byte),
		endLine: uint32(r.End.Line), endCol: uint32(r.End.Column), endAt: uint32(r.End.Byte)}})
}

func compareSrc(a srcEntry, addr uintptr, typ uint32) int {
	if a.addr != addr {
		if a.addr < addr {
			return -1
		}
		return 1
	}
	return int(a.typ) - int(typ)
}

// sort sorts the chunks that had entries added since the last read.
// Entries of one key keep their order (the last put wins).
func (s *sourceMap) sort() {
	for i, c := range s.chunks {
		if s.sorted[i] != len(c) {
			slices.SortStableFunc(c, func(a, b srcEntry) int { return compareSrc(a, b.addr, b.typ) })
			s.sorted[i] = len(c)
		}
	}
}

// find returns the last entry put for the key, newest chunk first.
func (s *sourceMap) find(addr uintptr, typ uint32) (packedRange, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sort()
	for i := len(s.chunks) - 1; i >= 0; i-- {
		c := s.chunks[i]
		// The first entry past the key; the one before it is the last
		// entry of the key, if any.
		j := sort.Search(len(c), func(j int) bool { return compareSrc(c[j], addr, typ) > 0 })
		if j > 0 && compareSrc(c[j-1], addr, typ) == 0 {
			return c[j-1].r, true
		}
	}
	return packedRange{}, false
}

// len is the number of values with a range.
func (s *sourceMap) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sort()
	seen := map[srcEntry]bool{}
	for _, c := range s.chunks {
		for _, e := range c {
			seen[srcEntry{addr: e.addr, typ: e.typ}] = true
		}
	}
	return len(seen)
}

func (s *sourceMap) get(ptr any) (hcl.Range, bool) {
	addr, typ, ok := s.key(ptr, false)
	if !ok {
		return hcl.Range{}, false
	}
	p, ok := s.find(addr, typ)
	if !ok {
		return hcl.Range{}, false
	}
	return hcl.Range{Filename: s.files[p.file],
		Start: hcl.Pos{Line: int(p.line), Column: int(p.col), Byte: int(p.byte)},
		End:   hcl.Pos{Line: int(p.endLine), Column: int(p.endCol), Byte: int(p.endAt)}}, true
}

// Range returns the source range of the value behind ptr — a pointer to a
// field of a decoded struct (&inst.Priority), to an element of a decoded
// slice (&inst.VirtualAddresses[0]), or a decoded block (inst) — and whether
// it is known. Values that were not written in the config have no range,
// nor, in a config loaded by LoadLean, those written as anything but their
// zero value.
func (c *Config) Range(ptr any) (hcl.Range, bool) {
	if c == nil || c.src == nil {
		return hcl.Range{}, false
	}
	return c.src.get(ptr)
}

// written reports whether the value behind ptr (as for Range) was written
// in the config. A lean source map keeps the ranges of zero values only:
// a value decoded as anything else was written.
func (c *Config) written(ptr any) bool {
	if _, ok := c.Range(ptr); ok {
		return true
	}
	return c != nil && c.src != nil && c.src.lean && !reflect.ValueOf(ptr).Elem().IsZero()
}

// rangeOf returns the range of the first of ptrs that has one.
func (c *Config) rangeOf(ptrs ...any) *hcl.Range {
	for _, p := range ptrs {
		if r, ok := c.Range(p); ok {
			return &r
		}
	}
	return nil
}

// stringDecoder is implemented by field types written as a string.
type stringDecoder interface {
	decodeString(s string) error
}

// decoder fills structs from the neutral tree.
type decoder struct {
	src   *sourceMap
	diags hcl.Diagnostics
}

func (d *decoder) errorf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

// decodeBody fills the struct rv from object v. what names the block for
// messages ("vrrp_instance \"VI_1\"", "the top level").
func (d *decoder) decodeBody(v *value, rv reflect.Value, what string) {
	if v.kind != kindObject {
		d.errorf(v.rng, "Incorrect type", "Expected the body of %s (an object with keys), found a %s.", what, v.kind)
		return
	}
	b := d.body(rv, what)
	for _, e := range v.entries {
		b.entry(e)
	}
}

// bodyDecoder fills a struct from the entries of a body, one at a time:
// the top level is decoded as it is parsed (see Decode).
type bodyDecoder struct {
	d      *decoder
	rv     reflect.Value
	what   string
	si     *structInfo
	seen   map[string]hcl.Range
	labels map[string]map[string]hcl.Range
}

func (d *decoder) body(rv reflect.Value, what string) *bodyDecoder {
	return &bodyDecoder{d: d, rv: rv, what: what, si: infoOf(rv.Type()),
		seen: map[string]hcl.Range{}, labels: map[string]map[string]hcl.Range{}}
}

// entry decodes one entry of the body.
func (b *bodyDecoder) entry(e *entry) {
	d, rv, what, si, seen, labels := b.d, b.rv, b.what, b.si, b.seen, b.labels
	f := si.byName[e.key]
	if f == nil {
		kindWord := "argument"
		if e.val.block {
			kindWord = "block type"
		}
		d.errorf(e.keyRange, "Unknown "+kindWord,
			"%q is not expected in %s.%s", e.key, what, didYouMean(e.key, si.names()))
		return
	}
	fv := fieldOf(rv, f.index)
	switch f.kind {
	case fieldAttr, fieldBlock:
		if first, dup := seen[e.key]; dup {
			word := "argument"
			if f.kind == fieldBlock {
				word = "block"
			}
			d.errorf(e.keyRange, "Duplicate "+word,
				"%q is already set in %s at %s; give it once.", e.key, what, shortPos(first))
			return
		}
		seen[e.key] = e.keyRange
		if f.kind == fieldAttr {
			d.decodeValue(e.val, fv, f, e.key)
		} else {
			d.decodeBlock(e.val, fv, e.key, e.keyRange)
		}
	case fieldBlocks:
		items := []*value{e.val}
		if e.val.kind == kindList {
			items = e.val.list
		}
		for _, it := range items {
			elem := reflect.New(fv.Type().Elem()).Elem()
			d.decodeBlock(it, elem, e.key, it.rng)
			fv.Set(reflect.Append(fv, elem))
		}
	case fieldLabeled:
		if e.val.kind != kindObject {
			d.errorf(e.val.rng, "Incorrect type",
				"%q holds named blocks: write %s \"NAME\" { … } in HCL, or a map from name to settings in YAML; found a %s.",
				e.key, e.key, e.val.kind)
			return
		}
		if labels[e.key] == nil {
			labels[e.key] = map[string]hcl.Range{}
		}
		for _, le := range e.val.entries {
			if first, dup := labels[e.key][le.key]; dup {
				d.errorf(le.keyRange, "Duplicate "+e.key,
					"%s %q is already defined at %s.", e.key, le.key, shortPos(first))
				continue
			}
			labels[e.key][le.key] = le.keyRange
			elem := reflect.New(fv.Type().Elem().Elem())
			d.decodeLabel(le, elem.Elem(), e.key)
			d.decodeBody(le.val, elem.Elem(), fmt.Sprintf("%s %q", e.key, le.key))
			d.src.put(elem.Interface(), le.keyRange)
			fv.Set(reflect.Append(fv, elem))
		}
	}
}

func (d *decoder) decodeBlock(v *value, fv reflect.Value, name string, rng hcl.Range) {
	target := fv
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			fv.Set(reflect.New(fv.Type().Elem()))
		}
		target = fv.Elem()
		// After the body: a lean source map looks at what was decoded.
		defer d.src.put(fv.Interface(), rng)
	}
	d.decodeBody(v, target, name)
}

func (d *decoder) decodeLabel(le *entry, elem reflect.Value, blockType string) {
	si := infoOf(elem.Type())
	if si.label == nil {
		panic("schema: labeled block type without label field: " + elem.Type().String())
	}
	lv := elem.FieldByIndex(si.label.index)
	d.decodeValue(&value{kind: kindString, text: le.key, rng: le.keyRange}, lv, si.label, blockType+" label")
}

// decodeValue decodes an attribute value into fv.
func (d *decoder) decodeValue(v *value, fv reflect.Value, f *field, name string) {
	if v.kind == kindNull {
		switch {
		case strings.HasPrefix(v.text, "\x00bare:"):
			word := strings.TrimPrefix(v.text, "\x00bare:")
			d.errorf(v.rng, "Unquoted string", "Strings are quoted in HCL: write %s = %q.", name, word)
		case v.text != "":
			d.errorf(v.rng, "Not a literal value", "hacfg configs hold literal values only: no variables, functions or interpolation.")
		}
		return
	}
	if fv.CanAddr() {
		defer func() { d.src.put(fv.Addr().Interface(), v.rng) }()
	}
	// Types with their own string form.
	if fv.CanAddr() {
		if sd, ok := fv.Addr().Interface().(stringDecoder); ok {
			s, ok := d.scalarString(v, name)
			if !ok {
				return
			}
			if err := sd.decodeString(s); err != nil {
				d.errorf(v.rng, "Invalid value for "+name, "%s.", upperFirst(err.Error()))
			}
			return
		}
	}
	switch fv.Type() {
	case reflect.TypeFor[netip.Addr]():
		if s, ok := d.scalarString(v, name); ok {
			a, err := parseAddr(s)
			if err != nil {
				d.errorf(v.rng, "Invalid address for "+name, "%s.", upperFirst(err.Error()))
				return
			}
			fv.Set(reflect.ValueOf(a))
		}
		return
	case reflect.TypeFor[netip.Prefix]():
		if s, ok := d.scalarString(v, name); ok {
			p, err := parseHostPrefix(s)
			if err != nil {
				d.errorf(v.rng, "Invalid address for "+name, "%s.", upperFirst(err.Error()))
				return
			}
			fv.Set(reflect.ValueOf(p))
		}
		return
	case reflect.TypeFor[netip.AddrPort]():
		if s, ok := d.scalarString(v, name); ok {
			ap, err := parseAddrPort(s)
			if err != nil {
				d.errorf(v.rng, "Invalid address for "+name, "%s.", upperFirst(err.Error()))
				return
			}
			fv.Set(reflect.ValueOf(ap))
		}
		return
	case reflect.TypeFor[StatusCodes]():
		d.decodeStatusCodes(v, fv, name)
		return
	}
	switch fv.Kind() {
	case reflect.Pointer:
		nv := reflect.New(fv.Type().Elem())
		d.decodeValue(v, nv.Elem(), f, name)
		fv.Set(nv)
	case reflect.String:
		s, ok := d.scalarString(v, name)
		if !ok {
			return
		}
		if f != nil && len(f.enum) > 0 && !contains(f.enum, s) {
			d.errorf(v.rng, "Invalid value for "+name, "%q is not one of %s.%s", s, quoteList(f.enum), didYouMean(s, f.enum))
			return
		}
		fv.SetString(s)
	case reflect.Int:
		if v.kind != kindNumber {
			d.errorf(v.rng, "Incorrect type", "%s must be a whole number, found a %s.", name, v.kind)
			return
		}
		n, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil || n > 1<<31-1 || n < -(1<<31) {
			d.errorf(v.rng, "Incorrect type", "%s must be a whole number, found %s.", name, v.text)
			return
		}
		fv.SetInt(n)
	case reflect.Bool:
		if v.kind != kindBool {
			d.errorf(v.rng, "Incorrect type", "%s must be true or false, found a %s.", name, v.kind)
			return
		}
		fv.SetBool(v.boolean)
	case reflect.Slice:
		if v.kind != kindList {
			d.errorf(v.rng, "Incorrect type", "%s must be a list, like [%s], found a %s.", name, exampleOf(fv.Type().Elem()), v.kind)
			return
		}
		out := reflect.MakeSlice(fv.Type(), len(v.list), len(v.list))
		fv.Set(out)
		for i, el := range v.list {
			d.decodeValue(el, out.Index(i), f, name)
		}
	case reflect.Struct:
		switch v.kind {
		case kindString, kindNumber:
			d.decodeShorthand(v, fv, name)
		case kindObject:
			d.decodeBody(v, fv, name)
		default:
			d.errorf(v.rng, "Incorrect type", "%s must be a string or an object, found a %s.", name, v.kind)
		}
	default:
		panic("schema: unsupported field type " + fv.Type().String())
	}
}

// decodeShorthand decodes the string form of a struct-typed list element:
// "192.0.2.10/24" for a VirtualAddress, "eth1" for a TrackRef.
func (d *decoder) decodeShorthand(v *value, fv reflect.Value, name string) {
	s := v.text
	switch p := fv.Addr().Interface().(type) {
	case *VirtualAddress:
		pfx, err := parseHostPrefix(s)
		if err != nil {
			d.errorf(v.rng, "Invalid address for "+name, "%s.", upperFirst(err.Error()))
			return
		}
		p.Address = pfx
		d.src.put(&p.Address, v.rng)
	case *TrackRef:
		p.Name = s
		d.src.put(&p.Name, v.rng)
	case *Route:
		p.To = s
		d.src.put(&p.To, v.rng)
	default:
		d.errorf(v.rng, "Incorrect type", "%s must be an object, found a %s.", name, v.kind)
	}
}

func (d *decoder) decodeStatusCodes(v *value, fv reflect.Value, name string) {
	items := []*value{v}
	if v.kind == kindList {
		items = v.list
	}
	var out StatusCodes
	for _, it := range items {
		s, ok := d.scalarString(it, name)
		if !ok {
			continue
		}
		r, err := parseStatusRange(s)
		if err != nil {
			d.errorf(it.rng, "Invalid value for "+name, "%s.", upperFirst(err.Error()))
			continue
		}
		out = append(out, r)
	}
	fv.Set(reflect.ValueOf(out))
}

// scalarString returns a string or number value as text.
func (d *decoder) scalarString(v *value, name string) (string, bool) {
	switch v.kind {
	case kindString, kindNumber:
		return v.text, true
	}
	d.errorf(v.rng, "Incorrect type", "%s must be a string, found a %s.", name, v.kind)
	return "", false
}

func shortPos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

func exampleOf(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[netip.Addr]():
		return `"192.0.2.1"`
	case reflect.TypeFor[netip.AddrPort]():
		return `"192.0.2.10:80"`
	case reflect.TypeFor[VirtualAddress]():
		return `"192.0.2.10/24"`
	case reflect.TypeFor[TrackRef]():
		return `"eth1"`
	}
	switch t.Kind() {
	case reflect.Int:
		return "1, 2"
	case reflect.String:
		return `"a", "b"`
	}
	return "…"
}

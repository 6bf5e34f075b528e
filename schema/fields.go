package schema

import (
	"reflect"
	"strings"
	"sync"
)

// fieldKind says how a struct field appears in the config.
type fieldKind int

const (
	fieldAttr    fieldKind = iota // name = value
	fieldBlock                    // name { … }, at most once
	fieldBlocks                   // name { … }, repeated (a list in YAML)
	fieldLabeled                  // name "label" { … } (a map in YAML)
	fieldLabel                    // the label of a labeled block
)

type field struct {
	name  string
	kind  fieldKind
	index []int
	typ   reflect.Type
	enum  []string
	doc   string
}

type structInfo struct {
	fields []field // in declaration order, squashed structs flattened
	byName map[string]*field
	label  *field
}

var structCache sync.Map // reflect.Type → *structInfo; read-only after first use

// infoOf returns the config fields of struct type t.
func infoOf(t reflect.Type) *structInfo {
	if v, ok := structCache.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{byName: map[string]*field{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag, ok := sf.Tag.Lookup("hacfg")
			if !ok {
				continue
			}
			name, opt, _ := strings.Cut(tag, ",")
			index := append(append([]int(nil), prefix...), i)
			if opt == "squash" {
				// A squashed struct may be behind a pointer: its fields
				// are read through it (a nil pointer reads as zero) and
				// written by allocating it (see fieldOf).
				st := sf.Type
				if st.Kind() == reflect.Pointer {
					st = st.Elem()
				}
				walk(st, index)
				continue
			}
			f := field{name: name, index: index, typ: sf.Type, doc: sf.Tag.Get("doc")}
			if e := sf.Tag.Get("enum"); e != "" {
				f.enum = strings.Split(e, "|")
			}
			switch opt {
			case "":
				f.kind = fieldAttr
			case "block":
				f.kind = fieldBlock
			case "blocks":
				f.kind = fieldBlocks
			case "labeled":
				f.kind = fieldLabeled
			case "label":
				f.kind = fieldLabel
			default:
				panic("schema: bad hacfg tag option " + opt + " on " + t.String() + "." + sf.Name)
			}
			si.fields = append(si.fields, f)
		}
	}
	walk(t, nil)
	for i := range si.fields {
		f := &si.fields[i]
		if f.kind == fieldLabel {
			si.label = f
			continue
		}
		if _, dup := si.byName[f.name]; dup {
			panic("schema: duplicate config name " + f.name + " in " + t.String())
		}
		si.byName[f.name] = f
	}
	v, _ := structCache.LoadOrStore(t, si)
	return v.(*structInfo)
}

// names returns the config names of t's fields, for suggestions.
func (si *structInfo) names() []string {
	var out []string
	for _, f := range si.fields {
		if f.kind != fieldLabel {
			out = append(out, f.name)
		}
	}
	return out
}

// elemStruct returns the struct type behind t ([]*T, *T, []T or T).
func elemStruct(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

// fieldOf returns the field of struct v at index for writing, allocating
// any nil pointer to a squashed struct on the way.
func fieldOf(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// fieldIn returns the field of struct v at index for reading, and false
// if a nil pointer to a squashed struct is on the way (the field is then
// unset).
func fieldIn(v reflect.Value, index []int) (reflect.Value, bool) {
	fv, err := v.FieldByIndexErr(index)
	return fv, err == nil
}

package schema

import (
	"encoding/json"
	"net/netip"
	"reflect"
)

// JSONSchema returns a JSON Schema (draft 2020-12) of the YAML form of the
// config, generated from the same struct tags the decoder uses, so editors
// can validate and complete hacfg YAML files.
func JSONSchema() ([]byte, error) {
	s := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     "https://hacfg.dev/schema/config.json",
		"title":   "hacfg configuration",
	}
	for k, v := range structSchema(reflect.TypeFor[Config]()) {
		s[k] = v
	}
	return json.MarshalIndent(s, "", "  ")
}

func structSchema(t reflect.Type) map[string]any {
	si := infoOf(t)
	props := map[string]any{}
	for _, f := range si.fields {
		if f.kind == fieldLabel {
			continue
		}
		var p map[string]any
		et := elemStruct(f.typ)
		switch f.kind {
		case fieldAttr:
			p = typeSchema(f.typ, f.enum)
		case fieldBlock:
			p = structSchema(et)
		case fieldBlocks:
			p = map[string]any{"type": "array", "items": structSchema(et)}
		case fieldLabeled:
			p = map[string]any{"type": "object", "additionalProperties": structSchema(et)}
			if lf := infoOf(et).label; lf != nil && lf.typ == reflect.TypeFor[netip.AddrPort]() {
				p["propertyNames"] = map[string]any{"description": "address:port of the real server"}
			}
		}
		if f.doc != "" {
			p["description"] = f.doc
		}
		props[f.name] = p
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

func typeSchema(t reflect.Type, enum []string) map[string]any {
	switch t {
	case reflect.TypeFor[Duration]():
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, "description": "A duration such as \"1s\" or \"100ms\"."}
	case reflect.TypeFor[netip.Addr]():
		return map[string]any{"type": "string", "description": "An IP address."}
	case reflect.TypeFor[netip.Prefix]():
		return map[string]any{"type": "string", "description": "An address with optional prefix length, like 192.0.2.10/24."}
	case reflect.TypeFor[netip.AddrPort]():
		return map[string]any{"type": "string", "description": "address:port, like 192.0.2.10:80 or [2001:db8::10]:80."}
	case reflect.TypeFor[StatusCodes]():
		one := map[string]any{"oneOf": []any{
			map[string]any{"type": "integer", "minimum": 100, "maximum": 599},
			map[string]any{"type": "string", "pattern": `^[1-5][0-9][0-9](-[1-5][0-9][0-9])?$`},
		}}
		return map[string]any{"oneOf": []any{one, map[string]any{"type": "array", "items": one}}}
	case reflect.TypeFor[VirtualAddress](), reflect.TypeFor[TrackRef](), reflect.TypeFor[Route]():
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, structSchema(t)}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeSchema(t.Elem(), enum)
	case reflect.String:
		if len(enum) > 0 {
			return map[string]any{"type": "string", "enum": enum}
		}
		return map[string]any{"type": "string"}
	case reflect.Int:
		return map[string]any{"type": "integer"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem(), enum)}
	case reflect.Struct:
		return structSchema(t)
	}
	panic("schema: no JSON schema for " + t.String())
}

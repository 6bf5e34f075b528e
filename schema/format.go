package schema

import (
	"bytes"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"gopkg.in/yaml.v3"
)

// FormatSource returns the canonical formatting of one config file: hclwrite
// formatting for HCL; for YAML, two-space indentation with the keys of every
// block in schema order (comments kept). Source that does not parse is
// returned with its diagnostics and no output.
func FormatSource(filename string, src []byte) ([]byte, hcl.Diagnostics) {
	switch FormatOf(filename) {
	case FormatHCL:
		if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
			return nil, diags
		}
		return hclwrite.Format(src), nil
	case FormatYAML:
		return formatYAML(filename, src)
	}
	_, diags := parseFile(filename, src)
	return nil, diags
}

func formatYAML(filename string, src []byte) ([]byte, hcl.Diagnostics) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, hcl.Diagnostics{yamlErrorDiag(filename, src, err)}
	}
	if doc.Kind == 0 {
		return []byte{}, nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		r := newLineIndex(src).rangeAt(filename, doc.Line, doc.Column, 1)
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect type",
			Detail: "A config file holds a map of settings at its top level.", Subject: &r}}
	}
	orderYAML(doc.Content[0], reflect.TypeFor[Config]())
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot format YAML", Detail: err.Error()}}
	}
	_ = enc.Close()
	return separateTopLevel(buf.Bytes()), nil
}

// separateTopLevel puts one blank line before each top-level key after the
// first (before its head comment, if it has one); yaml.v3 drops blank lines.
func separateTopLevel(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	var out []string
	seenKey := false
	for _, l := range lines {
		isKey := l != "" && l[0] != ' ' && l[0] != '#' && l[0] != '-'
		if isKey {
			if seenKey {
				// Move above the head comment block that precedes this key.
				j := len(out)
				for j > 0 && strings.HasPrefix(out[j-1], "#") {
					j--
				}
				if j > 0 && out[j-1] != "" {
					out = append(out[:j], append([]string{""}, out[j:]...)...)
				}
			}
			seenKey = true
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n"))
}

// orderYAML sorts the keys of mapping n, which decodes into struct type t,
// into the schema's field order (unknown keys last, in their order), and
// recurses into blocks.
func orderYAML(n *yaml.Node, t reflect.Type) {
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return
	}
	si := infoOf(t)
	pos := map[string]int{}
	for i, f := range si.fields {
		pos[f.name] = i
	}
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		pairs = append(pairs, pair{n.Content[i], n.Content[i+1]})
	}
	rank := func(p pair) int {
		if r, ok := pos[p.k.Value]; ok {
			return r
		}
		return len(si.fields)
	}
	sort.SliceStable(pairs, func(i, j int) bool { return rank(pairs[i]) < rank(pairs[j]) })
	n.Content = n.Content[:0]
	for _, p := range pairs {
		n.Content = append(n.Content, p.k, p.v)
		f := si.byName[p.k.Value]
		if f == nil {
			continue
		}
		et := elemStruct(f.typ)
		switch f.kind {
		case fieldBlock:
			orderYAML(p.v, et)
		case fieldBlocks:
			if p.v.Kind == yaml.SequenceNode {
				for _, c := range p.v.Content {
					orderYAML(c, et)
				}
			} else {
				orderYAML(p.v, et)
			}
		case fieldLabeled:
			if p.v.Kind == yaml.MappingNode {
				for i := 1; i < len(p.v.Content); i += 2 {
					orderYAML(p.v.Content[i], et)
				}
			}
		case fieldAttr:
			if et.Kind() == reflect.Struct && p.v.Kind == yaml.SequenceNode {
				for _, c := range p.v.Content {
					orderYAML(c, et)
				}
			}
		}
	}
}

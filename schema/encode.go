package schema

import (
	"bytes"
	"fmt"
	"math/big"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

// EncodeOptions tune encoding.
type EncodeOptions struct {
	// Comments are written before the block or attribute they belong to,
	// keyed like Config.Range: a pointer to a block (an *VRRPInstance) or to
	// a field (&inst.Priority). Each string is one comment line, without
	// the comment marker.
	Comments map[any][]string
	// Header is written at the top of the file as comment lines.
	Header []string
}

// Encode writes cfg in the given format, canonically formatted (as hacfg
// fmt would). Decoding the result gives back an equal Config.
func Encode(cfg *Config, format Format, opts EncodeOptions) ([]byte, error) {
	root := encodeStruct(reflect.ValueOf(cfg).Elem(), &opts)
	switch format {
	case FormatHCL:
		f := hclwrite.NewEmptyFile()
		writeHCLComments(f.Body(), opts.Header)
		if len(opts.Header) > 0 {
			f.Body().AppendNewline()
		}
		writeHCLBody(f.Body(), root, true)
		return hclwrite.Format(f.Bytes()), nil
	case FormatYAML:
		n := yamlNode(root)
		if len(opts.Header) > 0 {
			n.HeadComment = commentText(opts.Header)
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(n); err != nil {
			return nil, fmt.Errorf("encode yaml: %w", err)
		}
		_ = enc.Close()
		return separateTopLevel(buf.Bytes()), nil
	}
	return nil, fmt.Errorf("encode: unknown format %q", format)
}

// enode is the encoder's tree: the neutral tree plus comments and the
// block/attribute distinction of each entry.
type enode struct {
	v       *value
	entries []eentry
	list    []*enode
}

type eentry struct {
	key      string
	labels   []string // for labeled blocks
	block    bool
	node     *enode
	comments []string
}

func encodeStruct(rv reflect.Value, opts *EncodeOptions) *enode {
	si := infoOf(rv.Type())
	n := &enode{v: &value{kind: kindObject}}
	for _, f := range si.fields {
		fv, ok := fieldIn(rv, f.index)
		if !ok || f.kind == fieldLabel || fv.IsZero() {
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Len() == 0 {
			continue
		}
		comments := opts.Comments[fv.Addr().Interface()]
		switch f.kind {
		case fieldAttr:
			n.entries = append(n.entries, eentry{key: f.name, node: encodeValue(fv, opts), comments: comments})
		case fieldBlock:
			n.entries = append(n.entries, eentry{key: f.name, block: true, node: encodeStruct(fv.Elem(), opts), comments: append(comments, opts.Comments[fv.Interface()]...)})
		case fieldBlocks:
			for i := 0; i < fv.Len(); i++ {
				el := fv.Index(i)
				c := comments
				if i > 0 {
					c = nil
				}
				if el.Kind() == reflect.Pointer {
					c = append(c, opts.Comments[el.Interface()]...)
					el = el.Elem()
				}
				n.entries = append(n.entries, eentry{key: f.name, block: true, node: encodeStruct(el, opts), comments: c})
			}
		case fieldLabeled:
			for i := 0; i < fv.Len(); i++ {
				el := fv.Index(i)
				c := opts.Comments[el.Interface()]
				el = el.Elem()
				lsi := infoOf(el.Type())
				label := scalarText(el.FieldByIndex(lsi.label.index))
				n.entries = append(n.entries, eentry{key: f.name, labels: []string{label}, block: true, node: encodeStruct(el, opts), comments: c})
			}
		}
	}
	return n
}

// scalarText formats a label value.
func scalarText(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case string:
		return x
	case netip.AddrPort:
		return x.String()
	}
	return fmt.Sprint(v.Interface())
}

func encodeValue(fv reflect.Value, opts *EncodeOptions) *enode {
	str := func(s string) *enode { return &enode{v: &value{kind: kindString, text: s}} }
	switch x := fv.Interface().(type) {
	case Duration:
		return str(x.String())
	case netip.Addr:
		return str(x.String())
	case netip.Prefix:
		return str(FormatPrefix(x))
	case netip.AddrPort:
		return str(x.String())
	case StatusCodes:
		one := func(r StatusRange) *enode {
			if r.Min == r.Max {
				return &enode{v: &value{kind: kindNumber, text: strconv.Itoa(r.Min)}}
			}
			return str(r.String())
		}
		if len(x) == 1 {
			return one(x[0])
		}
		n := &enode{v: &value{kind: kindList}}
		for _, r := range x {
			n.list = append(n.list, one(r))
		}
		return n
	case VirtualAddress:
		if (x == VirtualAddress{Address: x.Address}) {
			return str(FormatPrefix(x.Address))
		}
	case TrackRef:
		if x.Weight == nil {
			return str(x.Name)
		}
	}
	switch fv.Kind() {
	case reflect.Pointer:
		return encodeValue(fv.Elem(), opts)
	case reflect.String:
		return str(fv.String())
	case reflect.Int:
		return &enode{v: &value{kind: kindNumber, text: strconv.FormatInt(fv.Int(), 10)}}
	case reflect.Bool:
		return &enode{v: &value{kind: kindBool, boolean: fv.Bool()}}
	case reflect.Slice:
		n := &enode{v: &value{kind: kindList}}
		for i := 0; i < fv.Len(); i++ {
			n.list = append(n.list, encodeValue(fv.Index(i), opts))
		}
		return n
	case reflect.Struct:
		return encodeStruct(fv, opts)
	}
	panic("schema: cannot encode " + fv.Type().String())
}

func writeHCLComments(body *hclwrite.Body, lines []string) {
	for _, l := range lines {
		body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(strings.TrimRight("# "+l, " ") + "\n")}})
	}
}

func writeHCLBody(body *hclwrite.Body, n *enode, top bool) {
	prevBlock := false
	for i, e := range n.entries {
		if e.block && i > 0 && (top || !prevBlock || len(e.comments) > 0) {
			body.AppendNewline()
		} else if !e.block && prevBlock {
			body.AppendNewline()
		}
		writeHCLComments(body, e.comments)
		if e.block {
			b := body.AppendNewBlock(e.key, e.labels)
			writeHCLBody(b.Body(), e.node, false)
		} else {
			body.SetAttributeValue(e.key, ctyOf(e.node))
		}
		prevBlock = e.block
	}
}

func ctyOf(n *enode) cty.Value {
	switch n.v.kind {
	case kindString:
		return cty.StringVal(n.v.text)
	case kindNumber:
		f, _, err := big.ParseFloat(n.v.text, 10, 512, big.ToNearestEven)
		if err != nil {
			panic("schema: bad number " + n.v.text)
		}
		return cty.NumberVal(f)
	case kindBool:
		return cty.BoolVal(n.v.boolean)
	case kindList:
		vals := make([]cty.Value, len(n.list))
		for i, el := range n.list {
			vals[i] = ctyOf(el)
		}
		return cty.TupleVal(vals)
	case kindObject:
		m := map[string]cty.Value{}
		for _, e := range n.entries {
			m[e.key] = ctyOf(e.node)
		}
		return cty.ObjectVal(m)
	}
	return cty.NullVal(cty.DynamicPseudoType)
}

func commentText(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimRight("# "+l, " ")
	}
	return strings.Join(out, "\n")
}

func yamlNode(n *enode) *yaml.Node {
	switch n.v.kind {
	case kindString:
		s := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: n.v.text}
		return s
	case kindNumber:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: n.v.text}
	case kindBool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(n.v.boolean)}
	case kindList:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		flow := true
		for _, el := range n.list {
			if el.v.kind == kindObject {
				flow = false
			}
			seq.Content = append(seq.Content, yamlNode(el))
		}
		if flow {
			seq.Style = yaml.FlowStyle
		}
		return seq
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	// Labeled and repeated blocks gather under one key.
	index := map[string]*yaml.Node{}
	for _, e := range n.entries {
		var val *yaml.Node
		switch {
		case e.block && len(e.labels) > 0:
			holder := index[e.key]
			if holder == nil {
				holder = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				index[e.key] = holder
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.key}, holder)
			}
			k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.labels[0], HeadComment: commentText(e.comments)}
			holder.Content = append(holder.Content, k, yamlNode(e.node))
			continue
		case e.block && repeatedKeys[e.key]:
			holder := index[e.key]
			if holder == nil {
				holder = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
				index[e.key] = holder
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.key, HeadComment: commentText(e.comments)}, holder)
			}
			holder.Content = append(holder.Content, yamlNode(e.node))
			continue
		default:
			val = yamlNode(e.node)
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.key, HeadComment: commentText(e.comments)}, val)
	}
	return m
}

// repeatedKeys are the names of repeated-block fields (lists in YAML),
// gathered from the schema once and only read after.
var repeatedKeys = func() map[string]bool {
	m := map[string]bool{}
	var walk func(t reflect.Type, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		for _, f := range infoOf(t).fields {
			et := elemStruct(f.typ)
			if f.kind == fieldBlocks {
				m[f.name] = true
			}
			if et.Kind() == reflect.Struct && f.kind != fieldLabel && f.kind != fieldAttr {
				walk(et, seen)
			}
		}
	}
	walk(reflect.TypeFor[Config](), map[reflect.Type]bool{})
	return m
}()

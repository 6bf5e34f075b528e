package schema

import (
	"bytes"
	"fmt"
	"math/big"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// parseHCL parses HCL source into the neutral tree.
//
// A large file is parsed in chunks of whole top-level blocks, each from its
// own position: hclsyntax holds every token of what it parses at once, and
// a config of 10,000 virtual servers is millions of tokens. The result and
// every position are the same as for one parse.
func parseHCL(filename string, src []byte) (*value, hcl.Diagnostics) {
	if v, ok := fastHCL(filename, src); ok {
		return v, nil
	}
	return parseHCLChunks(filename, src, chunkSize)
}

func parseHCLChunks(filename string, src []byte, size int) (*value, hcl.Diagnostics) {
	root := &value{kind: kindObject, block: true}
	for _, ch := range hclChunks(src, size) {
		start := hcl.Pos{Line: ch.line, Column: 1, Byte: ch.off}
		f, diags := hclsyntax.ParseConfig(src[ch.off:ch.end], filename, start)
		if diags.HasErrors() {
			return nil, diags
		}
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok {
			panic("schema: hclsyntax returned a foreign body type")
		}
		part := hclBody(body)
		root.entries = append(root.entries, part.entries...)
	}
	root.rng = wholeFile(filename, src)
	return root, nil
}

// wholeFile is the range of all of src.
func wholeFile(filename string, src []byte) hcl.Range {
	line, col := 1, 1
	for _, c := range src {
		if c == '\n' {
			line, col = line+1, 1
		} else if c < 0x80 || c >= 0xC0 {
			col++ // count code points, not continuation bytes
		}
	}
	return hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.Pos{Line: line, Column: col, Byte: len(src)}}
}

// chunkSize is the size of source, in bytes, above which HCL is parsed in
// chunks.
const chunkSize = 256 << 10

type hclChunk struct{ off, end, line int }

// hclChunks cuts src into pieces of about size bytes that end after a
// top-level closing brace. Only plain configs are cut: anything that makes
// the brace depth hard to follow without a full lexer (heredocs,
// interpolation, block comments) keeps the file in one piece, as does a
// file smaller than size.
func hclChunks(src []byte, size int) []hclChunk {
	whole := []hclChunk{{0, len(src), 1}}
	if len(src) <= size || bytes.Contains(src, []byte("<<")) || bytes.Contains(src, []byte("${")) ||
		bytes.Contains(src, []byte("%{")) || bytes.Contains(src, []byte("/*")) {
		return whole
	}
	var chunks []hclChunk
	start, startLine, line, depth := 0, 1, 1, 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '\n':
			line++
		case '"':
			// Skip the string; a newline inside one is a syntax error the
			// whole-file parse reports.
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' {
					i++
				} else if src[i] == '\n' {
					return whole
				}
			}
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
				i--
			}
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
			if depth < 0 {
				return whole
			}
			if depth == 0 && c == '}' && i+1-start >= size {
				// Cut after the end of this line.
				end := i + 1
				for end < len(src) && src[end] != '\n' {
					end++
				}
				if end < len(src) {
					end++
				}
				if len(bytes.TrimSpace(src[i+1:end])) > 0 {
					continue // something follows the brace on its line
				}
				chunks = append(chunks, hclChunk{start, end, startLine})
				if end < len(src) {
					line++
				}
				start, startLine, i = end, line, end-1
			}
		}
	}
	if depth != 0 {
		return whole
	}
	if start < len(src) {
		chunks = append(chunks, hclChunk{start, len(src), startLine})
	}
	return chunks
}

func hclBody(body *hclsyntax.Body) *value {
	obj := &value{kind: kindObject, rng: body.SrcRange, block: true}
	for _, a := range body.Attributes {
		obj.entries = append(obj.entries, &entry{key: a.Name, keyRange: a.NameRange, val: hclExpr(a.Expr)})
	}
	for _, b := range body.Blocks {
		inner := hclBody(b.Body)
		inner.rng = b.DefRange()
		v := inner
		// Labels nest: vrrp_instance "VI_1" { … } is vrrp_instance: {VI_1: {…}}.
		for i := len(b.Labels) - 1; i >= 0; i-- {
			v = &value{
				kind:    kindObject,
				rng:     b.DefRange(),
				block:   true,
				entries: []*entry{{key: b.Labels[i], keyRange: b.LabelRanges[i], val: v}},
			}
		}
		obj.entries = append(obj.entries, &entry{key: b.Type, keyRange: b.TypeRange, val: v})
	}
	sort.SliceStable(obj.entries, func(i, j int) bool {
		return obj.entries[i].keyRange.Start.Byte < obj.entries[j].keyRange.Start.Byte
	})
	return obj
}

// hclExpr turns a literal HCL expression into a value. Anything that needs
// evaluation (variables, functions, interpolation) becomes an invalid value
// carrying its own diagnostic text.
func hclExpr(expr hclsyntax.Expression) *value {
	rng := expr.Range()
	switch e := expr.(type) {
	case *hclsyntax.TupleConsExpr:
		v := &value{kind: kindList, rng: rng}
		for _, el := range e.Exprs {
			v.list = append(v.list, hclExpr(el))
		}
		return v
	case *hclsyntax.ObjectConsExpr:
		v := &value{kind: kindObject, rng: rng}
		for _, item := range e.Items {
			key, keyRange := hclKey(item.KeyExpr)
			v.entries = append(v.entries, &entry{key: key, keyRange: keyRange, val: hclExpr(item.ValueExpr)})
		}
		return v
	case *hclsyntax.ScopeTraversalExpr:
		name := e.Traversal.RootName()
		return &value{kind: kindNull, rng: rng, text: "\x00bare:" + name}
	case *hclsyntax.TemplateWrapExpr:
		return &value{kind: kindNull, rng: rng, text: "\x00expr"}
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() || !val.IsWhollyKnown() {
		return &value{kind: kindNull, rng: rng, text: "\x00expr"}
	}
	return ctyValue(val, rng)
}

func hclKey(expr hclsyntax.Expression) (string, hcl.Range) {
	if k, ok := expr.(*hclsyntax.ObjectConsKeyExpr); ok {
		if kw := hcl.ExprAsKeyword(k.Wrapped); kw != "" {
			return kw, k.Range()
		}
		expr = k.Wrapped
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", expr.Range()
	}
	return v.AsString(), expr.Range()
}

func ctyValue(v cty.Value, rng hcl.Range) *value {
	if v.IsNull() {
		return &value{kind: kindNull, rng: rng}
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return &value{kind: kindString, text: v.AsString(), rng: rng}
	case t == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			// Fast path: big.Float.Text is slow, and configs are mostly
			// whole numbers.
			if i, acc := bf.Int64(); acc == big.Exact {
				return &value{kind: kindNumber, text: strconv.FormatInt(i, 10), rng: rng}
			}
		}
		return &value{kind: kindNumber, text: bf.Text('f', -1), rng: rng}
	case t == cty.Bool:
		return &value{kind: kindBool, boolean: v.True(), rng: rng}
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := &value{kind: kindList, rng: rng}
		for it := v.ElementIterator(); it.Next(); {
			_, el := it.Element()
			out.list = append(out.list, ctyValue(el, rng))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := &value{kind: kindObject, rng: rng}
		for it := v.ElementIterator(); it.Next(); {
			k, el := it.Element()
			out.entries = append(out.entries, &entry{key: k.AsString(), keyRange: rng, val: ctyValue(el, rng)})
		}
		return out
	}
	return &value{kind: kindNull, rng: rng, text: fmt.Sprintf("\x00type:%s", t.FriendlyName())}
}

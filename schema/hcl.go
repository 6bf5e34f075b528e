package schema

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// parseHCL parses HCL source into the neutral tree.
func parseHCL(filename string, src []byte) (*value, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		panic("schema: hclsyntax returned a foreign body type")
	}
	return hclBody(body), nil
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

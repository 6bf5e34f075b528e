package schema

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"
)

// parseYAML parses YAML source into the neutral tree. yaml.v3's struct
// decoding is not used: it loses KnownFields inside custom unmarshalers
// (go-yaml#460) and reports only the first error; walking yaml.Node keeps
// every position.
func parseYAML(filename string, src []byte) (*value, hcl.Diagnostics) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, hcl.Diagnostics{yamlErrorDiag(filename, src, err)}
	}
	lines := newLineIndex(src)
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &value{kind: kindObject, rng: lines.rangeAt(filename, 1, 1, 0)}, nil
	}
	w := yamlWalker{file: filename, lines: lines}
	return w.node(doc.Content[0], 0), w.diags
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrorDiag(filename string, src []byte, err error) *hcl.Diagnostic {
	line := 1
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	lines := newLineIndex(src)
	r := lines.rangeAt(filename, line, 1, 0)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid YAML",
		Detail:   msg,
		Subject:  &r,
	}
}

type yamlWalker struct {
	file  string
	lines lineIndex
	diags hcl.Diagnostics
}

const maxYAMLDepth = 64

func (w *yamlWalker) rng(n *yaml.Node) hcl.Range {
	width := 0
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && !bytes.ContainsAny([]byte(n.Value), "\n") {
		width = utf8.RuneCountInString(n.Value)
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			width += 2
		}
	}
	if width == 0 {
		width = 1
	}
	return w.lines.rangeAt(w.file, n.Line, n.Column, width)
}

func (w *yamlWalker) node(n *yaml.Node, depth int) *value {
	if depth > maxYAMLDepth {
		r := w.rng(n)
		w.diags = append(w.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Too deeply nested", Detail: "The YAML document nests deeper than any hacfg config can.", Subject: &r})
		return &value{kind: kindNull, rng: r}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return &value{kind: kindNull, rng: w.rng(n)}
		}
		return w.node(n.Alias, depth+1)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &value{kind: kindObject, rng: w.rng(n)}
		}
		return w.node(n.Content[0], depth+1)
	case yaml.SequenceNode:
		v := &value{kind: kindList, rng: w.rng(n)}
		for _, c := range n.Content {
			v.list = append(v.list, w.node(c, depth+1))
		}
		return v
	case yaml.MappingNode:
		v := &value{kind: kindObject, rng: w.rng(n)}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				merged := w.node(val, depth+1)
				if merged.kind == kindObject {
					v.entries = append(v.entries, merged.entries...)
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				r := w.rng(k)
				w.diags = append(w.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid key", Detail: "Keys must be plain strings.", Subject: &r})
				continue
			}
			v.entries = append(v.entries, &entry{key: k.Value, keyRange: w.rng(k), val: w.node(val, depth+1)})
		}
		return v
	case yaml.ScalarNode:
		r := w.rng(n)
		switch n.ShortTag() {
		case "!!null":
			return &value{kind: kindNull, rng: r}
		case "!!bool":
			b, err := strconv.ParseBool(n.Value)
			if err != nil {
				// YAML 1.1 spellings yaml.v3 still tags as bool.
				b = n.Value == "yes" || n.Value == "on" || n.Value == "Yes" || n.Value == "On" || n.Value == "YES" || n.Value == "ON"
			}
			return &value{kind: kindBool, boolean: b, rng: r}
		case "!!int", "!!float":
			return &value{kind: kindNumber, text: n.Value, rng: r}
		default:
			return &value{kind: kindString, text: n.Value, rng: r}
		}
	}
	return &value{kind: kindNull, rng: w.rng(n), text: fmt.Sprintf("\x00type:yaml kind %d", n.Kind)}
}

// lineIndex maps line/column positions to byte offsets.
type lineIndex []int

func newLineIndex(src []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range src {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

// rangeAt builds a range starting at line:col spanning width columns on
// that line.
func (l lineIndex) rangeAt(file string, line, col, width int) hcl.Range {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	off := 0
	if line-1 < len(l) {
		off = l[line-1] + col - 1
	}
	return hcl.Range{
		Filename: file,
		Start:    hcl.Pos{Line: line, Column: col, Byte: off},
		End:      hcl.Pos{Line: line, Column: col + width, Byte: off + width},
	}
}

package schema

import (
	"strconv"

	"github.com/hashicorp/hcl/v2"
)

// fastHCL parses the plain subset of HCL that large, generated configs are
// written in — blocks with quoted or bare labels, attributes whose values
// are strings without escapes or templates, whole numbers, booleans, null,
// lists and objects of those, and comments — straight into the neutral
// tree, with the same ranges hclsyntax gives. It reports false on anything
// else (templates, heredocs, expressions, non-ASCII text, syntax errors),
// and the caller parses the file with hclsyntax instead, which also gives
// the diagnostics. A test compares both parsers on every config it can.
func fastHCL(filename string, src []byte) (*value, bool) {
	root := &value{kind: kindObject, block: true}
	if !fastHCLEntries(filename, src, func(e *entry) { root.entries = append(root.entries, e) }) {
		return nil, false
	}
	root.rng = wholeFile(filename, src)
	return root, true
}

// fastHCLEntries is fastHCL handing each top-level entry to sink as soon
// as it is parsed, so that the caller can decode it and let its tree go
// (see Decode). When it reports false, sink may have had some entries.
func fastHCLEntries(filename string, src []byte, sink func(*entry)) bool {
	for i, c := range src {
		switch {
		case c >= 0x80:
			return false // columns count grapheme clusters
		case c < 0x20 && c != '\n' && c != '\t' && (c != '\r' || i+1 >= len(src) || src[i+1] != '\n'):
			return false // control characters: hclsyntax has its rules
		case c == 0x7f:
			return false
		}
	}
	p := &fastParser{file: filename, src: src, line: 1, lineStart: 0, sink: sink}
	return p.body(&value{kind: kindObject, block: true}, true)
}

type fastParser struct {
	file      string
	src       []byte
	off       int
	line      int
	lineStart int
	sink      func(*entry) // takes the top level's entries
}

// add appends e to obj, or hands it to the sink at the top level.
func (p *fastParser) add(obj *value, top bool, e *entry) {
	if top {
		p.sink(e)
		return
	}
	obj.entries = append(obj.entries, e)
}

func (p *fastParser) pos() hcl.Pos {
	return hcl.Pos{Line: p.line, Column: p.off - p.lineStart + 1, Byte: p.off}
}

func (p *fastParser) rangeFrom(start hcl.Pos) hcl.Range {
	return hcl.Range{Filename: p.file, Start: start, End: p.pos()}
}

// skip passes blanks and comments; with newlines, newlines too. It reports
// whether it passed a newline (a comment running to the end of a line
// counts).
func (p *fastParser) skip(newlines bool) (sawNewline, ok bool) {
	for p.off < len(p.src) {
		switch c := p.src[p.off]; {
		case c == ' ' || c == '\t' || c == '\r':
			p.off++
		case c == '\n':
			if !newlines {
				return sawNewline, true
			}
			p.newline()
			sawNewline = true
		case c == '#' || (c == '/' && p.peek(1) == '/'):
			for p.off < len(p.src) && p.src[p.off] != '\n' {
				p.off++
			}
		case c == '/' && p.peek(1) == '*':
			return sawNewline, false
		default:
			return sawNewline, true
		}
	}
	return sawNewline, true
}

func (p *fastParser) newline() {
	p.off++
	p.line++
	p.lineStart = p.off
}

func (p *fastParser) peek(n int) byte {
	if p.off+n < len(p.src) {
		return p.src[p.off+n]
	}
	return 0
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c == '-' || (c >= '0' && c <= '9') }

func (p *fastParser) ident() (string, hcl.Range, bool) {
	if p.off >= len(p.src) || !isIdentStart(p.src[p.off]) {
		return "", hcl.Range{}, false
	}
	start := p.pos()
	for p.off < len(p.src) && isIdentChar(p.src[p.off]) {
		p.off++
	}
	return string(p.src[start.Byte:p.off]), p.rangeFrom(start), true
}

// str reads a quoted string without templates; \" and \\ are the only
// escapes taken.
func (p *fastParser) str() (string, hcl.Range, bool) {
	start := p.pos()
	p.off++ // opening quote
	var buf []byte
	plain := true
	from := p.off
	for p.off < len(p.src) {
		switch c := p.src[p.off]; c {
		case '"':
			var s string
			if plain {
				s = string(p.src[from:p.off])
			} else {
				s = string(append(buf, p.src[from:p.off]...))
			}
			p.off++
			return s, p.rangeFrom(start), true
		case '\\':
			n := p.peek(1)
			if n != '"' && n != '\\' {
				return "", hcl.Range{}, false
			}
			buf = append(buf, p.src[from:p.off]...)
			buf = append(buf, n)
			plain = false
			p.off += 2
			from = p.off
		case '\n':
			return "", hcl.Range{}, false
		case '$', '%':
			if p.peek(1) == '{' {
				return "", hcl.Range{}, false
			}
			p.off++
		default:
			p.off++
		}
	}
	return "", hcl.Range{}, false
}

// body reads attributes and blocks until EOF (top) or a closing brace.
func (p *fastParser) body(obj *value, top bool) bool {
	var attrs map[string]bool // hclsyntax reports a repeated attribute
	for {
		if _, ok := p.skip(true); !ok {
			return false
		}
		if p.off >= len(p.src) {
			return top
		}
		if p.src[p.off] == '}' {
			return !top
		}
		name, nameRange, ok := p.ident()
		if !ok {
			return false
		}
		if _, ok := p.skip(false); !ok || p.off >= len(p.src) {
			return false
		}
		if p.src[p.off] == '=' {
			p.off++
			if _, ok := p.skip(false); !ok {
				return false
			}
			v, ok := p.expr()
			if !ok || !p.endOfLine() || attrs[name] {
				return false
			}
			if attrs == nil {
				attrs = map[string]bool{}
			}
			attrs[name] = true
			p.add(obj, top, &entry{key: name, keyRange: nameRange, val: v})
			continue
		}
		if !p.block(obj, top, name, nameRange) {
			return false
		}
	}
}

// endOfLine accepts what may follow an attribute or a closing brace: a
// comment, a newline or the end of the file.
func (p *fastParser) endOfLine() bool {
	if _, ok := p.skip(false); !ok {
		return false
	}
	return p.off >= len(p.src) || p.src[p.off] == '\n'
}

func (p *fastParser) block(obj *value, top bool, typ string, typeRange hcl.Range) bool {
	var labels []string
	var labelRanges []hcl.Range
	for {
		if _, ok := p.skip(false); !ok || p.off >= len(p.src) {
			return false
		}
		c := p.src[p.off]
		if c == '{' {
			break
		}
		var l string
		var r hcl.Range
		var ok bool
		if c == '"' {
			l, r, ok = p.str()
		} else {
			l, r, ok = p.ident()
		}
		if !ok {
			return false
		}
		labels = append(labels, l)
		labelRanges = append(labelRanges, r)
	}
	def := typeRange
	if len(labelRanges) > 0 {
		def = hcl.RangeBetween(typeRange, labelRanges[len(labelRanges)-1])
	}
	p.off++ // {
	inner := &value{kind: kindObject, rng: def, block: true}
	if _, ok := p.skip(false); !ok || p.off >= len(p.src) {
		return false
	}
	if p.src[p.off] == '}' {
		p.off++ // an empty block on one line
	} else {
		if p.src[p.off] != '\n' || !p.body(inner, false) {
			return false // single-line blocks with content: hclsyntax
		}
		// The closing brace must stand on its own line.
		if p.off < len(p.src) && p.src[p.off] == '}' {
			for i := p.off - 1; i >= p.lineStart; i-- {
				if c := p.src[i]; c != ' ' && c != '\t' && c != '\r' {
					return false
				}
			}
		}
		p.off++
	}
	if !p.endOfLine() {
		return false
	}
	v := inner
	for i := len(labels) - 1; i >= 0; i-- {
		v = &value{kind: kindObject, rng: def, block: true, entries: []*entry{{key: labels[i], keyRange: labelRanges[i], val: v}}}
	}
	p.add(obj, top, &entry{key: typ, keyRange: typeRange, val: v})
	return true
}

// expr reads a literal value.
func (p *fastParser) expr() (*value, bool) {
	if p.off >= len(p.src) {
		return nil, false
	}
	start := p.pos()
	switch c := p.src[p.off]; {
	case c == '"':
		s, r, ok := p.str()
		return &value{kind: kindString, text: s, rng: r}, ok
	case c == '-' || (c >= '0' && c <= '9'):
		p.off++
		for p.off < len(p.src) && p.src[p.off] >= '0' && p.src[p.off] <= '9' {
			p.off++
		}
		if p.off < len(p.src) && (p.src[p.off] == '.' || p.src[p.off] == 'e' || p.src[p.off] == 'E' || isIdentChar(p.src[p.off])) {
			return nil, false // decimals and exponents: hclsyntax
		}
		n, err := strconv.ParseInt(string(p.src[start.Byte:p.off]), 10, 64)
		if err != nil {
			return nil, false
		}
		return &value{kind: kindNumber, text: strconv.FormatInt(n, 10), rng: p.rangeFrom(start)}, true
	case isIdentStart(c):
		word, r, _ := p.ident()
		switch word {
		case "true", "false":
			return &value{kind: kindBool, boolean: word == "true", rng: r}, true
		case "null":
			return &value{kind: kindNull, rng: r}, true
		}
		return nil, false // a variable or function: hclsyntax reports it
	case c == '[':
		p.off++
		list := &value{kind: kindList}
		for {
			if _, ok := p.skip(true); !ok || p.off >= len(p.src) {
				return nil, false
			}
			if p.src[p.off] == ']' {
				p.off++
				list.rng = p.rangeFrom(start)
				return list, true
			}
			el, ok := p.expr()
			if !ok {
				return nil, false
			}
			list.list = append(list.list, el)
			if _, ok := p.skip(true); !ok || p.off >= len(p.src) {
				return nil, false
			}
			switch p.src[p.off] {
			case ',':
				p.off++
			case ']':
			default:
				return nil, false
			}
		}
	case c == '{':
		p.off++
		obj := &value{kind: kindObject}
		for {
			if _, ok := p.skip(true); !ok || p.off >= len(p.src) {
				return nil, false
			}
			if p.src[p.off] == '}' {
				p.off++
				obj.rng = p.rangeFrom(start)
				return obj, true
			}
			var key string
			var keyRange hcl.Range
			var ok bool
			if p.src[p.off] == '"' {
				key, keyRange, ok = p.str()
			} else {
				key, keyRange, ok = p.ident()
			}
			if !ok {
				return nil, false
			}
			if _, ok := p.skip(false); !ok || p.off >= len(p.src) || (p.src[p.off] != '=' && p.src[p.off] != ':') {
				return nil, false
			}
			p.off++
			if _, ok := p.skip(false); !ok {
				return nil, false
			}
			v, ok := p.expr()
			if !ok {
				return nil, false
			}
			obj.entries = append(obj.entries, &entry{key: key, keyRange: keyRange, val: v})
			// Items end with a comma or a newline (not a newline, then a
			// comma).
			if _, ok := p.skip(false); !ok || p.off >= len(p.src) {
				return nil, false
			}
			switch p.src[p.off] {
			case ',':
				p.off++
			case '}', '\n':
			default:
				return nil, false
			}
		}
	}
	return nil, false
}

package importer

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Limits that keep hostile or broken input from running away.
const (
	maxIncludeDepth  = 32         // nested include levels
	maxLines         = 200_000    // logical lines produced, expansions included (or twice the source lines, if more)
	maxLineLen       = 65_536     // code points in one line after substitution
	maxSubstitutions = 1_000      // $NAME replacements in one line
	maxExpandDepth   = 64         // nesting of ~SEQ/~LST/residue/multi-line expansion
	maxWork          = 200_000    // logical lines processed, including ones that produce nothing (or twice the source lines, if more)
	maxCells         = 20_000_000 // code points built by substitution, in total
)

// cell is one code point of a line with the source position it came from.
// It is kept small (a file is held as cells while it is read): a code point
// read from the file stores its start and derives its end; one that stands
// for a wider range (substituted text) points at that range.
type cell struct {
	r              rune
	line, col, off int32
	file           string
	wide           *hcl.Range
}

func (c cell) fileName() string {
	if c.wide != nil {
		return c.wide.Filename
	}
	return c.file
}

func (c cell) startPos() hcl.Pos {
	if c.wide != nil {
		return c.wide.Start
	}
	return hcl.Pos{Line: int(c.line), Column: int(c.col), Byte: int(c.off)}
}

func (c cell) endPos() hcl.Pos {
	if c.wide != nil {
		return c.wide.End
	}
	return hcl.Pos{Line: int(c.line), Column: int(c.col) + 1, Byte: int(c.off) + utf8.RuneLen(c.r)}
}

type text []cell

func (t text) String() string {
	var b strings.Builder
	for _, c := range t {
		b.WriteRune(c.r)
	}
	return b.String()
}

// rng is the source range covered by t; t must not be empty.
func (t text) rng() hcl.Range {
	return hcl.Range{Filename: t[0].fileName(), Start: t[0].startPos(), End: t[len(t)-1].endPos()}
}

func (t text) hasPrefix(s string) bool {
	i := 0
	for _, r := range s {
		if i >= len(t) || t[i].r != r {
			return false
		}
		i++
	}
	return true
}

func (t text) index(r rune) int {
	for i, c := range t {
		if c.r == r {
			return i
		}
	}
	return -1
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' }

// isSpace is keepalived's WHITE_SPACE set.
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\f' || r == '\n' || r == '\r' || r == '\v'
}

func trimBlanks(t text) text {
	for len(t) > 0 && isBlank(t[0].r) {
		t = t[1:]
	}
	for len(t) > 0 && isBlank(t[len(t)-1].r) {
		t = t[:len(t)-1]
	}
	return t
}

// physLine is one line of a file, end-of-line characters removed.
type physLine struct {
	cells text
	end   hcl.Pos // position just after the line's last character
}

// eachLine cuts src into lines, computing every code point's position, and
// calls f with each line in turn until f returns false; only one line is
// held as cells at a time. A UTF-8 byte order mark at the start is skipped;
// "\r\n" and trailing "\r" are line ends, as keepalived strips them.
func eachLine(file string, src []byte, f func(physLine) bool) {
	off := 0
	if strings.HasPrefix(string(src[:min(3, len(src))]), "\uFEFF") {
		off = 3
	}
	line := 1
	for off < len(src) {
		end := bytes.IndexByte(src[off:], '\n')
		last := end < 0
		if last {
			end = len(src) - off
		}
		cur := make(text, 0, end)
		col := 1
		for i := off; i < off+end; {
			r, w := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && w == 1 {
				// Keep the end position exact for an invalid byte.
				rr := hcl.Range{Filename: file, Start: hcl.Pos{Line: line, Column: col, Byte: i}, End: hcl.Pos{Line: line, Column: col + 1, Byte: i + 1}}
				cur = append(cur, cell{r: r, wide: &rr})
			} else {
				cur = append(cur, cell{r: r, file: file, line: int32(line), col: int32(col), off: int32(i)})
			}
			i += w
			col++
		}
		for len(cur) > 0 && cur[len(cur)-1].r == '\r' {
			cur = cur[:len(cur)-1]
		}
		if !f(physLine{cells: cur, end: posAfter(cur, line, off+end)}) {
			return
		}
		if last {
			return
		}
		off += end + 1
		line++
	}
}

func posAfter(cur text, line, off int) hcl.Pos {
	if len(cur) == 0 {
		return hcl.Pos{Line: line, Column: 1, Byte: off}
	}
	return cur[len(cur)-1].endPos()
}

// decomment removes comments and leading/trailing blanks from a line, as
// keepalived's decomment() does: '!' and '#' outside double quotes start a
// comment, "\#" and "\!" outside quotes stand for the characters themselves,
// and a final '\' marks a continuation line. It returns the remaining text,
// the comment (without its marker), whether the line continues, and whether
// a double quote is left open.
func decomment(in text) (out text, comment string, cont, openQuote bool) {
	for len(in) > 0 && isBlank(in[0].r) {
		in = in[1:]
	}
	quote := false
	skip := -1
	var contCell cell
	// out is written over in: each cell is read before anything is
	// written at or past its index.
	out = in[:0]
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c.r == '"':
			if skip < 0 {
				quote = !quote
			}
			out = append(out, c)
		case c.r == '\\':
			if i+1 >= len(in) {
				cont = true
				contCell = c
				break
			}
			if !quote && skip < 0 && (in[i+1].r == '#' || in[i+1].r == '!') {
				out = append(out, in[i+1])
			} else {
				out = append(out, c, in[i+1])
			}
			i++
		case (c.r == '!' || c.r == '#') && !quote && skip < 0:
			skip = len(out)
			comment = strings.TrimSpace(in[i+1:].String())
			if strings.HasSuffix(comment, "\\") {
				comment = strings.TrimSpace(strings.TrimSuffix(comment, "\\"))
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	if skip >= 0 {
		out = out[:skip]
	}
	openQuote = quote
	for len(out) > 0 && isBlank(out[len(out)-1].r) {
		out = out[:len(out)-1]
	}
	if cont {
		out = append(out, contCell)
	}
	return out, comment, cont, openQuote
}

// tline is a logical line ready for the parser: its words, and the
// full-line comments seen before it.
type tline struct {
	toks     []Token
	comments []string
}

// def is a $NAME definition.
type def struct {
	name      string
	value     text   // single-line value
	lines     []text // multi-line value, one entry per line
	multiline bool
	std       string // pre-defined: "_PWD", "_INSTANCE", "_RANDOM", "_HASH", "_BANG"
}

type lexer struct {
	rd       reader
	configID string
	diags    hcl.Diagnostics
	sources  map[string][]byte
	defs     map[string]*def
	out      []tline
	pending  []string // comments waiting for the next line
	stack    []string // files being read, for include loop detection
	curFile  string
	collect  *def // multi-line definition being read
	produced int  // logical lines produced, for maxLines
	work     int  // logical lines processed, for maxWork
	srcLines int  // physical lines read from files: large files get larger budgets
	cells    int  // code points built by substitution, for maxCells
	stopped  bool // a limit was hit; stop producing
}

func (lx *lexer) errorf(sev hcl.DiagnosticSeverity, rng hcl.Range, summary, detailFmt string, args ...any) {
	r := rng
	lx.diags = append(lx.diags, &hcl.Diagnostic{
		Severity: sev,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFmt, args...),
		Subject:  &r,
	})
}

// readFile reads one file and feeds its lines through the preprocessor.
func (lx *lexer) readFile(name string) {
	src, err := lx.rd.readFile(name)
	if err != nil {
		lx.diags = append(lx.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration file",
			Detail:   fmt.Sprintf("read %s: %v", name, err),
		})
		return
	}
	lx.sources[name] = src
	prev := lx.curFile
	lx.curFile = name
	lx.stack = append(lx.stack, name)
	lx.srcLines += bytes.Count(src, []byte("\n")) + 1
	eachLine(name, src, func(pl physLine) bool {
		if lx.stopped {
			return false
		}
		lx.physical(pl)
		return true
	})
	lx.finishCollect()
	lx.stack = lx.stack[:len(lx.stack)-1]
	lx.curFile = prev
}

func (lx *lexer) finishCollect() {
	if lx.collect != nil && len(lx.collect.lines) == 0 {
		lx.collect.multiline = false
	}
	lx.collect = nil
}

func (lx *lexer) physical(pl physLine) {
	content, comment, cont, openQuote := decomment(pl.cells)
	if openQuote && lx.collect == nil {
		lx.errorf(hcl.DiagError, content.rng(), "Unterminated quote",
			"this line has an opening '\"' without a closing one; keepalived reports \"Unterminated quote\"")
	}
	if lx.collect != nil {
		d := lx.collect
		if cont {
			content = trimBlanks(content[:len(content)-1])
		}
		if len(content) > 0 {
			d.lines = append(d.lines, content)
		}
		if !cont {
			lx.finishCollect()
		}
		return
	}
	if len(content) == 0 {
		if comment != "" {
			lx.pending = append(lx.pending, comment)
		}
		return
	}
	lx.logical(content, 0)
}

// logical applies conditional lines, definitions, sequences and
// substitution to one line, then handles include and brace splitting.
func (lx *lexer) logical(t text, depth int) {
	if lx.stopped || !lx.spend(t) {
		return
	}
	if depth > maxExpandDepth {
		lx.errorf(hcl.DiagError, t.rng(), "Expansion too deep",
			"expansions (~SEQ, ~LST, multi-line definitions) nest more than %d levels", maxExpandDepth)
		return
	}
	var tail []text
	for pass := 0; ; pass++ {
		if len(t) > 0 && t[0].r == '@' {
			var keep bool
			t, keep = lx.conditional(t)
			if !keep {
				return
			}
		}
		if len(t) == 0 {
			return
		}
		if t[0].r == '$' && lx.definition(t) {
			return
		}
		if t.hasPrefix("~SEQ") {
			lx.seq(t, depth)
			return
		}
		if t.hasPrefix("~LST") {
			lx.lst(t, depth)
			return
		}
		if t[0].r == '~' || t.index('$') < 0 {
			break
		}
		nt, more, replaced, undefined := lx.substitute(t)
		if more != nil {
			tail = append(more, tail...)
		}
		if !replaced || pass >= 10 {
			for _, u := range undefined {
				lx.undefinedRef(u)
			}
			break
		}
		t = nt
		if len(t) == 0 || (t[0].r != '@' && t.index('$') < 0) {
			break
		}
	}
	t = trimBlanks(t)
	if len(t) > 0 {
		if !lx.include(t) {
			lx.braces(t, depth)
		}
	}
	for _, l := range tail {
		lx.logical(l, depth+1)
	}
}

func (lx *lexer) undefinedRef(ref text) {
	inQuotes := false
	// A reference inside a quoted string is most likely meant for a
	// script's shell; keepalived keeps it literally.
	if len(ref) > 0 && ref[0].fileName() != "" {
		inQuotes = ref[0].startPos().Line > 0 && lx.quotedAt(ref)
	}
	sev := hcl.DiagError
	detail := fmt.Sprintf("%s is not defined (define it with a line \"%s=value\" before this line); keepalived would leave the text unchanged.",
		ref.String(), "$"+strings.Trim(strings.TrimPrefix(ref.String(), "$"), "{}"))
	if inQuotes {
		sev = hcl.DiagWarning
		detail += " It is inside a quoted string, so it may be meant for a script's shell."
	}
	lx.errorf(sev, ref.rng(), "Undefined parameter", "%s", detail)
}

// quotedAt reports whether ref starts inside a double-quoted string on its
// source line (best effort, for choosing a diagnostic's severity).
func (lx *lexer) quotedAt(ref text) bool {
	src, ok := lx.sources[ref[0].fileName()]
	if !ok {
		return false
	}
	b := ref[0].startPos().Byte
	ls := strings.LastIndexByte(string(src[:b]), '\n') + 1
	return strings.Count(string(src[ls:b]), "\"")%2 == 1
}

// budget is a line limit: base, or twice the source lines read so far when
// that is more, so that large configurations are read whole while small
// inputs cannot expand without bound.
func (lx *lexer) budget(base int) int {
	return max(base, 2*lx.srcLines)
}

// spend counts one unit of work and stops the lexer when the budget is
// exhausted; t (non-empty) locates the diagnostic.
func (lx *lexer) spend(t text) bool {
	lx.work++
	if lx.work > lx.budget(maxWork) {
		lx.errorf(hcl.DiagError, t.rng(), "Configuration expands too much",
			"more than %d lines are processed after ~SEQ, ~LST and definition expansion", lx.budget(maxWork))
		lx.stopped = true
		return false
	}
	return true
}

// conditional handles "@ID rest" and "@^ID rest".
func (lx *lexer) conditional(t text) (text, bool) {
	ofs, rev := 1, false
	if len(t) > 1 && t[1].r == '^' {
		ofs, rev = 2, true
	}
	sp := -1
	for i := ofs; i < len(t); i++ {
		if isBlank(t[i].r) {
			sp = i
			break
		}
	}
	if sp < 0 {
		return nil, false
	}
	id := t[ofs:sp].String()
	match := lx.configID != "" && id == lx.configID
	if match == rev {
		return nil, false
	}
	return trimBlanks(t[sp:]), true
}

func isNameStart(r rune) bool {
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

func isNameChar(r rune) bool { return isNameStart(r) || (r >= '0' && r <= '9') }

// definition handles "$NAME=value"; it reports whether t was one.
func (lx *lexer) definition(t text) bool {
	if len(t) < 2 || !isNameStart(t[1].r) {
		return false
	}
	i := 2
	for i < len(t) && isNameChar(t[i].r) {
		i++
	}
	if i >= len(t) || t[i].r != '=' {
		return false
	}
	name := t[1:i].String()
	val := t[i+1:]
	for len(val) > 0 && isBlank(val[0].r) {
		val = val[1:]
	}
	d := &def{name: name}
	if len(val) > 0 && val[len(val)-1].r == '\\' {
		d.multiline = true
		first := trimBlanks(val[:len(val)-1])
		if len(first) > 0 {
			d.lines = append(d.lines, first)
		}
		lx.collect = d
	} else {
		d.value = append(text(nil), val...)
	}
	lx.defs[name] = d
	return true
}

// substitute replaces $NAME and ${NAME} references, rescanning replaced
// text as keepalived does. A multi-line definition referenced at the end of
// the line contributes its first line here and its other lines as more.
func (lx *lexer) substitute(t text) (out text, more []text, replaced bool, undefined []text) {
	out = append(text(nil), t...)
	count := 0
	for i := 0; i < len(out); i++ {
		if out[i].r != '$' || i+1 >= len(out) {
			continue
		}
		name, refEnd, ok := refAt(out, i)
		if !ok {
			continue
		}
		atEnd := refEnd == len(out)
		d := lx.lookupDef(name)
		if d == nil || (d.multiline && !atEnd) {
			undefined = append(undefined, append(text(nil), out[i:refEnd]...))
			continue
		}
		count++
		lx.cells += len(out)
		if lx.cells > maxCells {
			lx.errorf(hcl.DiagError, out[i:refEnd].rng(), "Configuration expands too much",
				"substitution builds more than %d characters in total", maxCells)
			lx.stopped = true
			return out, nil, false, nil
		}
		if count > maxSubstitutions || len(out) > maxLineLen {
			lx.errorf(hcl.DiagError, out[i:refEnd].rng(), "Substitution does not terminate",
				"more than %d substitutions or %d characters on one line; is a parameter defined in terms of itself?",
				maxSubstitutions, maxLineLen)
			return out, nil, false, nil
		}
		ref := out[i:refEnd].rng()
		var val text
		if d.multiline {
			if len(d.lines) > 0 {
				val = d.lines[0]
				more = append(append([]text(nil), d.lines[1:]...), more...)
			}
		} else {
			val = lx.defValue(d, ref)
		}
		nv := make(text, 0, len(out)-(refEnd-i)+len(val))
		nv = append(nv, out[:i]...)
		nv = append(nv, val...)
		nv = append(nv, out[refEnd:]...)
		out = nv
		replaced = true
		i-- // rescan from the replacement's start
		if strings.HasPrefix(strings.TrimLeft(text(val).String(), " \t"), "~") {
			break
		}
	}
	return out, more, replaced, undefined
}

// refAt parses a reference starting at out[i] == '$'.
func refAt(out text, i int) (name string, end int, ok bool) {
	j := i + 1
	braces := out[j].r == '{'
	if braces {
		j++
	}
	if j >= len(out) || !isNameStart(out[j].r) {
		return "", 0, false
	}
	k := j + 1
	for k < len(out) && isNameChar(out[k].r) {
		k++
	}
	name = out[j:k].String()
	if braces {
		// ${_RANDOM 1 10} style parameters
		p := k
		for p < len(out) && (out[p].r == ' ' || (out[p].r >= '0' && out[p].r <= '9')) {
			p++
		}
		if p >= len(out) || out[p].r != '}' {
			return "", 0, false
		}
		if p != k && name != "_RANDOM" {
			return "", 0, false
		}
		return name, p + 1, true
	}
	if k < len(out) {
		switch out[k].r {
		case ' ', '\t', ',', ')':
		default:
			return "", 0, false
		}
	}
	return name, k, true
}

func (lx *lexer) lookupDef(name string) *def {
	if d, ok := lx.defs[name]; ok {
		return d
	}
	switch name {
	case "_PWD", "_INSTANCE", "_RANDOM", "_HASH", "_BANG":
		return &def{name: name, std: name}
	}
	return nil
}

// defValue returns a single-line value positioned at the reference.
func (lx *lexer) defValue(d *def, ref hcl.Range) text {
	var s string
	switch d.std {
	case "":
		v := make(text, len(d.value))
		at := ref
		for i, c := range d.value {
			v[i] = cell{r: c.r, wide: &at}
		}
		return v
	case "_PWD":
		s = lx.rd.dir(lx.curFile)
	case "_INSTANCE":
		s = lx.configID
	case "_RANDOM":
		lx.errorf(hcl.DiagWarning, ref, "Random value", "keepalived replaces ${_RANDOM} with a random number each time it reads the file; the importer uses its lower bound")
		s = "0"
	case "_HASH":
		s = "#"
	case "_BANG":
		s = "!"
	}
	v := make(text, 0, len(s))
	at := ref
	for _, r := range s {
		v = append(v, cell{r: r, wide: &at})
	}
	return v
}

// setVar defines a sequence/list variable with a value positioned at at.
func (lx *lexer) setVar(name, value string, at hcl.Range) {
	v := make(text, 0, len(value))
	for _, r := range value {
		v = append(v, cell{r: r, wide: &at})
	}
	lx.defs[name] = &def{name: name, value: v}
}

// seq expands "~SEQ(var, start, step, end) rest" and "~SEQx(...)".
func (lx *lexer) seq(t text, depth int) {
	p := 4
	hex := false
	if p < len(t) && t[p].r == 'x' {
		hex = true
		p++
	}
	for p < len(t) && isBlank(t[p].r) {
		p++
	}
	bad := func(why string) {
		lx.errorf(hcl.DiagError, t.rng(), "Invalid ~SEQ", "%s; the form is ~SEQ(VAR, START, STEP, END) TEXT (START and STEP optional)", why)
	}
	if p >= len(t) || t[p].r != '(' {
		bad("missing '('")
		return
	}
	close := -1
	for i := p; i < len(t); i++ {
		if t[i].r == ')' {
			close = i
			break
		}
	}
	if close < 0 {
		bad("missing ')'")
		return
	}
	params := t[p+1 : close]
	if s, _, ok, _ := lx.substitute(params); ok {
		params = s
	}
	parts := strings.Split(params.String(), ",")
	varName := strings.TrimSpace(parts[0])
	if varName == "" || len(parts) < 2 || len(parts) > 4 {
		bad("wrong number of parameters")
		return
	}
	var nums []int64
	for _, s := range parts[1:] {
		n, ok := parseCLong(strings.TrimSpace(s))
		if !ok {
			bad(fmt.Sprintf("%q is not a number", strings.TrimSpace(s)))
			return
		}
		nums = append(nums, n)
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		step, start = 1, 1
		if end < 1 {
			step = -1
		}
		if end < 0 {
			start = -1
		}
	case 2:
		start, end = nums[0], nums[1]
		step = 1
		if start > end {
			step = -1
		}
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
		if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
			bad("the step is zero or goes away from the end")
			return
		}
	}
	if hex && (start < 0 || end < 0) {
		bad("~SEQx is only valid for positive numbers")
		return
	}
	n := (end-start)/step + 1
	if n < 0 || n > int64(lx.budget(maxLines)) || int64(lx.produced)+n > int64(lx.budget(maxLines)) {
		lx.errorf(hcl.DiagError, t.rng(), "~SEQ too long", "this ~SEQ produces %d lines; at most %d lines are read in total", n, lx.budget(maxLines))
		lx.stopped = true
		return
	}
	rest := trimBlanks(t[close+1:])
	at := t[:close+1].rng()
	for v, i := start, int64(0); i < n; v, i = v+step, i+1 {
		val := strconv.FormatInt(v, 10)
		if hex {
			val = strconv.FormatInt(v, 16)
		}
		lx.setVar(varName, val, at)
		if !lx.spend(t) {
			return
		}
		if len(rest) > 0 {
			lx.logical(rest, depth+1)
		}
		if lx.stopped {
			return
		}
	}
}

// parseCLong parses a number like C's strtol with base 0.
func parseCLong(s string) (int64, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	n, err := strconv.ParseInt(s, base, 64)
	if err != nil || n > 1<<40 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// lst expands "~LST(var, v1, v2, ...) rest" and "~LST({a, b}, {1, 2}, ...) rest".
func (lx *lexer) lst(t text, depth int) {
	bad := func(why string) {
		lx.errorf(hcl.DiagError, t.rng(), "Invalid ~LST", "%s; the form is ~LST(VAR, V1, V2, ...) TEXT or ~LST({VAR1, VAR2}, {V1, V2}, ...) TEXT", why)
	}
	p := 4
	for p < len(t) && isBlank(t[p].r) {
		p++
	}
	if p >= len(t) || t[p].r != '(' {
		bad("missing '('")
		return
	}
	level := 0
	close := -1
	for i := p + 1; i < len(t) && close < 0; i++ {
		switch t[i].r {
		case '{':
			level++
		case '}':
			level--
		case ')':
			if level == 0 {
				close = i
			}
		}
	}
	if close < 0 {
		bad("missing ')'")
		return
	}
	params := t[p+1 : close]
	if s, _, ok, _ := lx.substitute(params); ok {
		params = s
	}
	groups := splitTopLevel(params.String())
	if len(groups) < 2 {
		bad("at least one value is needed")
		return
	}
	vars := splitGroup(groups[0])
	at := t[:close+1].rng()
	rest := trimBlanks(t[close+1:])
	if lx.produced+len(groups) > lx.budget(maxLines) {
		lx.stopped = true
		return
	}
	for _, g := range groups[1:] {
		vals := splitGroup(g)
		if len(vals) != len(vars) {
			bad(fmt.Sprintf("%d variables but %d values in %s", len(vars), len(vals), strings.TrimSpace(g)))
			return
		}
		for i, v := range vars {
			lx.setVar(v, vals[i], at)
		}
		if !lx.spend(t) {
			return
		}
		if len(rest) > 0 {
			lx.logical(rest, depth+1)
		}
		if lx.stopped {
			return
		}
	}
}

func splitTopLevel(s string) []string {
	var parts []string
	level, start := 0, 0
	for i, r := range s {
		switch r {
		case '{':
			level++
		case '}':
			level--
		case ',':
			if level == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func splitGroup(g string) []string {
	g = strings.TrimSpace(g)
	g = strings.TrimSuffix(strings.TrimPrefix(g, "{"), "}")
	parts := strings.Split(g, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// braces splits a line at its first '{' or '}' outside quotes, as
// keepalived's read_line does, so that each brace is a line of its own.
func (lx *lexer) braces(t text, depth int) {
	p := -1
	if t[0].r == '{' || t[0].r == '}' {
		p = 0
	} else {
		for i := 0; i < len(t); i++ {
			r := t[i].r
			if r == '"' {
				j := i + 1
				for j < len(t) && t[j].r != '"' {
					j++
				}
				if j >= len(t) {
					break
				}
				i = j
				continue
			}
			if r == '{' || r == '}' {
				p = i
				break
			}
		}
	}
	if p < 0 {
		lx.emit(t)
		return
	}
	var line, residue text
	if p == 0 {
		line, residue = t[:1], trimBlanks(t[1:])
	} else {
		line, residue = trimBlanks(t[:p]), trimBlanks(t[p:])
	}
	lx.emit(line)
	if len(residue) > 0 {
		lx.logical(residue, depth+1)
	}
}

// emit tokenizes a final line (keepalived's alloc_strvec).
func (lx *lexer) emit(t text) {
	toks := lx.tokenize(t)
	if len(toks) == 0 {
		return
	}
	lx.produced++
	if lx.produced > lx.budget(maxLines) {
		lx.errorf(hcl.DiagError, t.rng(), "Configuration too long", "more than %d lines after expansion", lx.budget(maxLines))
		lx.stopped = true
		return
	}
	lx.out = append(lx.out, tline{toks: toks, comments: lx.pending})
	lx.pending = nil
}

func (lx *lexer) tokenize(t text) []Token {
	var toks []Token
	i := 0
	for {
		for i < len(t) && isSpace(t[i].r) {
			i++
		}
		if i >= len(t) {
			return toks
		}
		if t[i].r == '"' {
			j := i + 1
			for j < len(t) && t[j].r != '"' {
				j++
			}
			if j >= len(t) {
				lx.errorf(hcl.DiagError, t[i:].rng(), "Unmatched quote",
					"the '\"' here has no closing quote; keepalived ignores the rest of the line")
				return toks
			}
			toks = append(toks, Token{Text: t[i+1 : j].String(), Quoted: true, Range: t[i : j+1].rng()})
			i = j + 1
			continue
		}
		if t[i].r == '!' || t[i].r == '#' {
			return toks // a comment character produced by substitution
		}
		j := i
		for j < len(t) && !isSpace(t[j].r) && t[j].r != '"' {
			j++
		}
		toks = append(toks, Token{Text: t[i:j].String(), Range: t[i:j].rng()})
		i = j
	}
}

// include handles "include PATTERN" (and keepalived's includer, includem,
// includew, includeb, includea variants); it reports whether t was one.
func (lx *lexer) include(t text) bool {
	if !t.hasPrefix("include") {
		return false
	}
	toks := lx.tokenizeQuiet(t)
	if len(toks) != 2 {
		return false
	}
	switch toks[0].Text {
	case "include", "includer", "includem", "includew", "includeb", "includea":
	default:
		return false
	}
	at := t.rng()
	if len(lx.stack) >= maxIncludeDepth {
		lx.errorf(hcl.DiagError, at, "Includes nested too deeply", "includes are nested more than %d levels deep", maxIncludeDepth)
		return true
	}
	pattern := lx.rd.join(lx.rd.dir(lx.curFile), toks[1].Text)
	names, err := lx.rd.glob(pattern)
	if err != nil {
		lx.errorf(hcl.DiagError, toks[1].Range, "Cannot expand include pattern", "glob %s: %v", pattern, err)
		return true
	}
	if len(names) == 0 {
		sev := hcl.DiagWarning
		if toks[0].Text == "includea" || toks[0].Text == "includem" {
			sev = hcl.DiagError
		}
		lx.errorf(sev, toks[1].Range, "No file matches include pattern", "no file matches %q (looked for %s)", toks[1].Text, pattern)
		return true
	}
	for _, n := range names {
		if lx.stopped {
			break
		}
		loop := false
		for _, s := range lx.stack {
			if s == n {
				loop = true
			}
		}
		if loop {
			lx.errorf(hcl.DiagError, at, "Include loop",
				"%s is already being read (include chain: %s -> %s); keepalived would include it again until it runs out of files",
				n, strings.Join(lx.stack, " -> "), n)
			continue
		}
		lx.readFile(n)
	}
	return true
}

func (lx *lexer) tokenizeQuiet(t text) []Token {
	saved := len(lx.diags)
	toks := lx.tokenize(t)
	lx.diags = lx.diags[:saved]
	return toks
}

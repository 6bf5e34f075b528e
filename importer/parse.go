package importer

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Parse reads the keepalived configuration at path, with its includes, and
// returns its syntax tree. Diagnostics carry the file, line and column of
// each problem; the tree is returned even when there are errors.
func Parse(path string, opts Options) (*File, hcl.Diagnostics) {
	lx := &lexer{
		rd:       newReader(opts),
		configID: opts.ConfigID,
		sources:  map[string][]byte{},
		defs:     map[string]*def{},
	}
	lx.readFile(path)
	body, diags := build(lx.out)
	return &File{Path: path, Body: body, Sources: lx.sources}, append(lx.diags, diags...)
}

// frame is an open block while building the tree.
type frame struct {
	stmt *Stmt  // nil for the top level
	ctx  string // keyword context ("" when unknown, valueCtx for value blocks)
}

const valueCtx = "\x00value"

// build turns logical lines into a tree. Braces pair structurally, with
// keepalived's rules where it matters: a keyword keepalived knows as a block
// opens its block even when the '{' is missing (after an error, as keepalived
// does), and a '{' after a keyword keepalived knows takes no block is
// ignored (keepalived: "Unexpected '{' - ignoring").
func build(lines []tline) ([]*Stmt, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	root := &Stmt{}
	stack := []frame{{stmt: root, ctx: "root"}}
	var pending *Stmt // statement whose block may open on the next line
	var pendingCtx string
	pendingRequired := false
	var lastLeaf *Stmt // known leaf keyword on the previous line

	add := func(s *Stmt) {
		top := stack[len(stack)-1].stmt
		top.Block = append(top.Block, s)
	}
	open := func(s *Stmt, ctx string) {
		s.HasBlock = true
		if s.Block == nil {
			s.Block = []*Stmt{}
		}
		stack = append(stack, frame{stmt: s, ctx: ctx})
	}
	missingOpen := func(s *Stmt) {
		r := s.Range
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing '{'",
			Detail:   fmt.Sprintf("%q starts a block, but no '{' follows it; keepalived reads the following lines as its contents anyway.", s.Keyword.Text),
			Subject:  &r,
		})
	}

	for _, l := range lines {
		first := l.toks[0]
		isBrace := len(l.toks) == 1 && !first.Quoted && (first.Text == "{" || first.Text == "}")
		if isBrace && first.Text == "{" {
			switch {
			case pending != nil:
				open(pending, pendingCtx)
			case lastLeaf != nil:
				r := first.Range
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Unexpected '{'",
					Detail:   fmt.Sprintf("%q takes no block; keepalived ignores this '{' and reads the lines after it as part of the enclosing block.", lastLeaf.Keyword.Text),
					Subject:  &r,
				})
			default:
				r := first.Range
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Unexpected '{'",
					Detail:   "this '{' does not follow a keyword; keepalived ignores it.",
					Subject:  &r,
				})
			}
			pending, lastLeaf = nil, nil
			continue
		}
		if pending != nil && pendingRequired {
			missingOpen(pending)
			open(pending, pendingCtx)
		}
		pending, lastLeaf = nil, nil
		if isBrace { // "}"
			if len(stack) == 1 {
				r := first.Range
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Extra '}'",
					Detail:   "this '}' closes no block (keepalived: \"Extra '}' found\").",
					Subject:  &r,
				})
				continue
			}
			s := stack[len(stack)-1].stmt
			s.Range.End = first.Range.End
			stack = stack[:len(stack)-1]
			continue
		}
		s := &Stmt{Keyword: first, Args: l.toks[1:], Comments: l.comments}
		s.Range = hcl.RangeBetween(first.Range, l.toks[len(l.toks)-1].Range)
		add(s)
		ctx := stack[len(stack)-1].ctx
		switch {
		case ctx == valueCtx || ctx == "":
			pending, pendingCtx, pendingRequired = s, ctx, false
		default:
			info, ok := lookupKeyword(ctx, first.Text)
			switch {
			case !ok:
				pending, pendingCtx, pendingRequired = s, "", false
			case info.kind == kindLeaf:
				lastLeaf = s
			case info.kind == kindValueBlock:
				pending, pendingCtx, pendingRequired = s, valueCtx, true
			default:
				pending, pendingCtx, pendingRequired = s, info.sub, true
			}
		}
	}
	if pending != nil && pendingRequired {
		missingOpen(pending)
	}
	for i := len(stack) - 1; i > 0; i-- {
		s := stack[i].stmt
		r := s.Keyword.Range
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing '}'",
			Detail:   fmt.Sprintf("the block of %q opened here is not closed before the end of the configuration.", s.Keyword.Text),
			Subject:  &r,
		})
	}
	return root.Block, diags
}

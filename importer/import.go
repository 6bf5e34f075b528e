package importer

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hacfg/hacfg/schema"
	"github.com/hashicorp/hcl/v2"
)

// ImportOptions controls Import.
type ImportOptions struct {
	// Nodes names the node each file belongs to, in the order of the files.
	// With several files it is required; with one file it is optional (a
	// config with one node block is written when it is given).
	Nodes []string
	// ConfigID selects conditional lines (@ID / @^ID), like keepalived's -i.
	ConfigID string
	// Strict turns every warning into an error.
	Strict bool
	// ReadFile and Glob, when set, replace the operating system's files
	// (see Options).
	ReadFile func(name string) ([]byte, error)
	Glob     func(pattern string) ([]string, error)
	// Sources, when not nil, receives the bytes of every file read, keyed by
	// the names used in diagnostics, for schema.RenderString.
	Sources schema.Sources
}

// Import reads keepalived configuration files, one per node of a cluster,
// and returns the equivalent hacfg config, the comments of the sources
// attached to the values they annotated (for schema.Encode), and
// diagnostics at keepalived file positions: warnings for what keepalived
// does not know and for what hacfg does not carry, errors for values that do
// not parse and for differences between the files that are not per-node.
// The config is returned even when there are errors, as far as it could be
// built; callers must not use it if diags.HasErrors().
func Import(files []string, opts ImportOptions) (*schema.Config, schema.EncodeOptions, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	eo := schema.EncodeOptions{Comments: map[any][]string{}}
	if len(files) == 0 {
		return nil, eo, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No files", Detail: "give at least one keepalived.conf to import."}}
	}
	if len(files) > 1 && len(opts.Nodes) != len(files) {
		return nil, eo, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Node names needed",
			Detail: fmt.Sprintf("importing %d files into one cluster needs one node name per file, in the same order (--node NAME for each file); got %d.", len(files), len(opts.Nodes))}}
	}
	if len(files) == 1 && len(opts.Nodes) > 1 {
		return nil, eo, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Too many node names",
			Detail: fmt.Sprintf("one file was given but %d node names; give one file per node.", len(opts.Nodes))}}
	}
	seen := map[string]bool{}
	for _, n := range opts.Nodes {
		if n == "" || seen[n] {
			return nil, eo, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid node names",
				Detail: fmt.Sprintf("node names must be distinct and not empty; got %q.", opts.Nodes)}}
		}
		seen[n] = true
	}
	var parts []*imported
	for _, path := range files {
		f, pd := Parse(path, Options{ConfigID: opts.ConfigID, ReadFile: opts.ReadFile, Glob: opts.Glob})
		diags = append(diags, pd...)
		diags = append(diags, Check(f)...)
		if opts.Sources != nil {
			for k, v := range f.Sources {
				opts.Sources[k] = v
			}
		}
		m := newMapper()
		m.root(f.Body)
		m.unusedDefaults()
		diags = append(diags, m.diags...)
		parts = append(parts, &imported{cfg: m.cfg, ranges: m.ranges, comments: m.comments, path: path})
	}
	var cfg *schema.Config
	var ranges map[any]hcl.Range
	if len(parts) == 1 {
		cfg, ranges = parts[0].cfg, parts[0].ranges
		if len(opts.Nodes) == 1 {
			cfg.Nodes = []*schema.Node{{Name: opts.Nodes[0]}}
		}
	} else {
		var md hcl.Diagnostics
		cfg, md = merge(parts, opts.Nodes)
		diags = append(diags, md...)
		ranges = parts[0].ranges
	}
	for k, v := range parts[0].comments {
		eo.Comments[k] = v
	}
	if !diags.HasErrors() {
		diags = append(diags, validate(cfg, ranges)...)
	}
	if opts.Strict {
		for _, d := range diags {
			if d.Severity == hcl.DiagWarning {
				d.Severity = hcl.DiagError
				d.Detail += " (an error because of --strict)"
			}
		}
	}
	return cfg, eo, diags
}

// imported is one file's config with the keepalived positions of its
// values, keyed like schema.Config.Range.
type imported struct {
	cfg      *schema.Config
	ranges   map[any]hcl.Range
	comments map[any][]string
	path     string
}

// validate checks the imported config with the schema's rules, reporting
// each problem at the keepalived position of the value it is about. It
// encodes the config, decodes it again (which gives positions in the
// encoded text), and maps those back through the parallel structure of the
// two configs.
func validate(cfg *schema.Config, ranges map[any]hcl.Range) hcl.Diagnostics {
	// Validating the config directly is much cheaper than encoding and
	// decoding it; it reports nothing exactly when the slow path would (the
	// rules that look at what was written only differ for explicit zero
	// values, which the import rejects or never produces).
	if len(schema.Validate(cfg)) == 0 {
		return nil
	}
	b, err := schema.Encode(cfg, schema.FormatHCL, schema.EncodeOptions{})
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot encode the imported config", Detail: err.Error()}}
	}
	back, diags := schema.Parse(schema.Sources{"imported.hcl": b})
	if back == nil {
		return diags
	}
	byStart := map[hcl.Pos]hcl.Range{}
	walkPair(back, cfg, func(pb, pc any) {
		if r, ok := back.Range(pb); ok {
			if kr, ok := ranges[pc]; ok {
				byStart[r.Start] = kr
			}
		}
	})
	var out hcl.Diagnostics
	for _, d := range diags {
		nd := *d
		nd.Detail = strings.TrimSpace(nd.Detail + " (checked after import)")
		nd.Subject = nil
		nd.Context = nil
		if d.Subject != nil {
			if kr, ok := byStart[d.Subject.Start]; ok {
				nd.Subject = &kr
			}
		}
		out = append(out, &nd)
	}
	return out
}

// mapper turns one file's syntax tree into a schema.Config.
type mapper struct {
	cfg      *schema.Config
	diags    hcl.Diagnostics
	ranges   map[any]hcl.Range
	comments map[any][]string
	vsNames  map[string]bool
	// defaults are the checker settings given above the checkers; used
	// those a checker took; failed those whose value did not parse.
	defaults []*Stmt
	used     map[*Stmt]bool
	failed   map[*Stmt]bool
}

func newMapper() *mapper {
	return &mapper{
		cfg:      &schema.Config{},
		ranges:   map[any]hcl.Range{},
		comments: map[any][]string{},
		vsNames:  map[string]bool{},
		used:     map[*Stmt]bool{},
		failed:   map[*Stmt]bool{},
	}
}

// at records that the value behind ptr came from s.
func (m *mapper) at(ptr any, s *Stmt) {
	m.ranges[ptr] = s.Range
	if len(s.Comments) > 0 {
		m.comments[ptr] = append(m.comments[ptr], s.Comments...)
	}
}

func (m *mapper) has(ptr any) bool {
	_, ok := m.ranges[ptr]
	return ok
}

func (m *mapper) diag(sev hcl.DiagnosticSeverity, r hcl.Range, summary, detail string) {
	m.diags = append(m.diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: &r})
}

func (m *mapper) errorf(r hcl.Range, summary, format string, args ...any) {
	m.diag(hcl.DiagError, r, summary, fmt.Sprintf(format, args...))
}

// notCarried warns that s, a keyword keepalived knows in ctx, has no
// equivalent in hacfg.
func (m *mapper) notCarried(s *Stmt, ctx, why string) {
	where := contextNames[ctx]
	if where == "" {
		where = ctx
	}
	detail := fmt.Sprintf("%q in %s is a keepalived setting that hacfg does not carry; the import leaves it out.", s.Keyword.Text, where)
	if why != "" {
		detail += " " + why
	}
	r := s.Keyword.Range
	d := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Not carried by hacfg", Detail: detail, Subject: &r}
	if s.HasBlock {
		c := s.Range
		d.Context = &c
	}
	m.diags = append(m.diags, d)
}

// optionNotCarried warns about an option word on a line.
func (m *mapper) optionNotCarried(t Token, kw, rest string) {
	detail := fmt.Sprintf("the option %q of %s is not carried by hacfg; the import leaves it out", t.Text, kw)
	if rest != "" {
		detail += " " + rest
	}
	m.diag(hcl.DiagWarning, t.Range, "Not carried by hacfg", detail+".")
}

// known reports whether kw is a keyword keepalived knows in ctx; unknown
// keywords were already reported by Check.
func known(ctx, kw string) bool {
	_, ok := lookupKeyword(ctx, kw)
	return ok
}

// other handles a keyword the mapper has no case for.
func (m *mapper) other(s *Stmt, ctx string) {
	if known(ctx, s.Keyword.Text) {
		m.notCarried(s, ctx, "")
	}
}

// --- values -----------------------------------------------------------------

// first returns the first argument of s, reporting an error when it has none
// and a warning for extra words keepalived ignores.
func (m *mapper) first(s *Stmt, what string) (Token, bool) {
	if len(s.Args) == 0 {
		m.errorf(s.Keyword.Range, "Missing value", "%q expects %s.", s.Keyword.Text, what)
		return Token{}, false
	}
	m.extra(s, 1)
	return s.Args[0], true
}

// extra warns about words after the n-th argument that keepalived ignores.
func (m *mapper) extra(s *Stmt, n int) {
	if len(s.Args) <= n {
		return
	}
	if strings.HasPrefix(s.Args[n].Text, "//") && !s.Args[n].Quoted {
		return // Check reported it as "Not a comment".
	}
	r := hcl.RangeBetween(s.Args[n].Range, s.Args[len(s.Args)-1].Range)
	m.diag(hcl.DiagWarning, r, "Extra words", fmt.Sprintf("keepalived reads only %s of %q and ignores the rest of the line; the import does the same.", plural(n, "value"), s.Keyword.Text))
}

func plural(n int, w string) string {
	if n == 1 {
		return "the first " + w
	}
	return fmt.Sprintf("the first %d %ss", n, w)
}

func (m *mapper) badValue(t Token, kw, what string) {
	m.errorf(t.Range, "Invalid value", "%q expects %s; found %q.", kw, what, t.Text)
}

func (m *mapper) str(s *Stmt, dst *string) {
	if t, ok := m.first(s, "a value"); ok {
		*dst = t.Text
		m.at(dst, s)
	}
}

func (m *mapper) intIn(s *Stmt, lo, hi int) (int, bool) {
	what := fmt.Sprintf("an integer from %d to %d", lo, hi)
	t, ok := m.first(s, what)
	if !ok {
		return 0, false
	}
	v, ok := parseInt(t.Text)
	if !ok || v < lo || v > hi {
		m.badValue(t, s.Keyword.Text, what)
		return 0, false
	}
	return v, true
}

func (m *mapper) int(s *Stmt, dst *int, lo, hi int) {
	if v, ok := m.intIn(s, lo, hi); ok {
		*dst = v
		m.at(dst, s)
	}
}

func (m *mapper) intPtr(s *Stmt, dst **int, lo, hi int) {
	if v, ok := m.intIn(s, lo, hi); ok {
		*dst = &v
		m.at(dst, s)
	}
}

func (m *mapper) secs(s *Stmt, dst *schema.Duration) {
	what := "a time in seconds, such as 5 or 0.5"
	t, ok := m.first(s, what)
	if !ok {
		return
	}
	d, ok := parseSeconds(t.Text)
	if !ok {
		m.badValue(t, s.Keyword.Text, what)
		return
	}
	*dst = d
	m.at(dst, s)
}

// flag reads a keyword that is on by its presence, optionally followed by
// a boolean (keepalived's <BOOL>: true/false, yes/no, on/off).
func (m *mapper) flag(s *Stmt, dst *bool) {
	v := true
	if len(s.Args) > 0 && !strings.HasPrefix(s.Args[0].Text, "//") {
		b, ok := parseBool(s.Args[0].Text)
		if !ok {
			m.badValue(s.Args[0], s.Keyword.Text, "nothing, or true or false")
			return
		}
		v = b
		m.extra(s, 1)
	}
	*dst = v
	m.at(dst, s)
}

func (m *mapper) addr(s *Stmt, dst *netip.Addr) {
	t, ok := m.first(s, "an IP address")
	if !ok {
		return
	}
	a, ok := m.parseAddr(t, s.Keyword.Text)
	if ok {
		*dst = a
		m.at(dst, s)
	}
}

func (m *mapper) parseAddr(t Token, kw string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(t.Text)
	if err != nil || a.Zone() != "" {
		if !isPlaceholder(t.Text) {
			m.badValue(t, kw, "an IP address, such as 192.0.2.10 or 2001:db8::10")
		}
		return netip.Addr{}, false
	}
	return a, true
}

// isPlaceholder reports text that Check already reports as documentation
// placeholder text or an undefined $NAME, so that it is not reported twice.
func isPlaceholder(s string) bool {
	return placeholderRE.MatchString(s) || altRE.MatchString(s) || strings.HasPrefix(s, "<") || strings.HasPrefix(s, "$") || s == "|"
}

// command reads a script keyword: a command (quoted when it has arguments),
// optionally followed, for notify-like keywords, by a user and group that
// hacfg does not carry.
func (m *mapper) command(s *Stmt, dst *string, userOK bool) {
	if len(s.Args) == 0 {
		m.errorf(s.Keyword.Range, "Missing value", "%q expects a command.", s.Keyword.Text)
		return
	}
	*dst = s.Args[0].Text
	m.at(dst, s)
	if len(s.Args) > 1 && !strings.HasPrefix(s.Args[1].Text, "//") {
		r := hcl.RangeBetween(s.Args[1].Range, s.Args[len(s.Args)-1].Range)
		if userOK {
			m.diag(hcl.DiagWarning, r, "Not carried by hacfg",
				fmt.Sprintf("keepalived reads the words after the command of %q as the user and group to run it as; hacfg runs scripts as global_defs.script_user and does not carry them. Quote the command if these words were meant as its arguments.", s.Keyword.Text))
		} else {
			m.extra(s, 1)
		}
	}
}

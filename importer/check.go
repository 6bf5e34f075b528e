package importer

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Check compares the tree with the keywords keepalived 2.2.7 knows. It warns
// at a keyword that keepalived does not know in its context (suggesting the
// nearest known keyword), warns at "//" text (not a comment in keepalived),
// and reports an error at placeholder text copied from documentation, such
// as "<IPADDR>" or "rr|wrr|lc", saying what value was expected.
func Check(f *File) hcl.Diagnostics {
	var c checker
	c.body(f.Body, "root")
	return c.diags
}

type checker struct{ diags hcl.Diagnostics }

func (c *checker) add(sev hcl.DiagnosticSeverity, r hcl.Range, summary, detail string) {
	c.diags = append(c.diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: &r})
}

func (c *checker) body(stmts []*Stmt, ctx string) {
	for _, s := range stmts {
		c.stmt(s, ctx)
	}
}

func (c *checker) stmt(s *Stmt, ctx string) {
	kw := s.Keyword.Text
	placeholderKW := c.placeholders(s, ctx)
	for _, a := range s.Args {
		if strings.HasPrefix(a.Text, "//") && !a.Quoted {
			c.add(hcl.DiagWarning, a.Range, "Not a comment",
				fmt.Sprintf("%q is not a comment in keepalived.conf (comments start with '#' or '!'); keepalived reads it as an argument of %q.", a.Text, kw))
		}
	}
	if ctx == valueCtx && strings.HasPrefix(kw, "//") {
		c.add(hcl.DiagWarning, s.Keyword.Range, "Not a comment",
			fmt.Sprintf("%q is not a comment in keepalived.conf (comments start with '#' or '!'); keepalived reads it as a value line.", kw))
	}
	if ctx == valueCtx || ctx == "" {
		for _, b := range s.Block {
			c.stmt(b, ctx)
		}
		return
	}
	info, ok := lookupKeyword(ctx, kw)
	if !ok {
		if !placeholderKW {
			c.unknown(s, ctx)
		}
		for _, b := range s.Block {
			c.stmt(b, "")
		}
		return
	}
	switch info.kind {
	case kindValueBlock:
		c.body(s.Block, valueCtx)
	case kindBlock:
		c.body(s.Block, info.sub)
	default:
		c.body(s.Block, "")
	}
}

func (c *checker) unknown(s *Stmt, ctx string) {
	kw := s.Keyword.Text
	where := contextNames[ctx]
	var b strings.Builder
	if strings.HasPrefix(kw, "//") {
		fmt.Fprintf(&b, "%q is not a comment in keepalived.conf (comments start with '#' or '!'); keepalived reads it as a keyword of %s and reports \"Unknown keyword\".", kw, where)
	} else {
		fmt.Fprintf(&b, "keepalived 2.2.7 does not know %q in %s and ignores the line.", kw, where)
		if sug := suggest(kw, Keywords(ctx)); sug != "" {
			fmt.Fprintf(&b, " Did you mean %q?", sug)
		} else if others := contextsOf(kw); len(others) > 0 {
			names := make([]string, len(others))
			for i, o := range others {
				names[i] = contextNames[o]
			}
			fmt.Fprintf(&b, " %q is a keyword of %s.", kw, strings.Join(names, ", "))
		}
	}
	if s.HasBlock {
		b.WriteString(" keepalived also ignores the '{' after it and reads the block's lines as part of the enclosing block.")
	}
	c.add(hcl.DiagWarning, s.Keyword.Range, "Unknown keyword", b.String())
}

// suggest returns the candidate nearest to s, if near enough.
func suggest(s string, cands []string) string {
	best, bestD := "", 1<<30
	for _, cand := range cands {
		d := editDistance(strings.ToLower(s), strings.ToLower(cand))
		if d < bestD {
			best, bestD = cand, d
		}
	}
	limit := max(2, len(s)/4)
	if bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance, so that a swap of two letters ("autp" / "auth") costs one edit
// more than nothing but less than a double substitution.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 20
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

var (
	placeholderRE = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9 _-]*>`)
	altRE         = regexp.MustCompile(`^[A-Za-z0-9_-]+(\|[A-Za-z0-9_-]+)+$`)
)

// placeholderMeaning says what value a documentation placeholder stands for.
func placeholderMeaning(name string) string {
	n := strings.ToUpper(strings.Trim(name, "<> "))
	switch n {
	case "IPADDR", "IPADD", "IP ADDRESS", "IP", "IPADDRESS", "ADDR":
		return "an IP address (such as 192.0.2.10)"
	case "PORT":
		return "a port number"
	case "INT", "INTEGER", "NUMBER":
		return "an integer"
	case "STRING":
		return "a word"
	case "QUOTED-STRING", "QUOTED_STRING":
		return "a quoted string"
	case "NETMASK":
		return "a netmask (such as 255.255.255.255)"
	case "MASK":
		return "a prefix length"
	case "SCOPE", "SCOPT":
		return "a scope (host, link, site, global or nowhere)"
	case "LABEL":
		return "an interface label"
	case "SCRIPT_NAME", "PATH":
		return "a path"
	}
	return "a value for " + name
}

// placeholders reports placeholder text in s's keyword and arguments; it
// returns whether the keyword itself is one.
func (c *checker) placeholders(s *Stmt, ctx string) bool {
	toks := append([]Token{s.Keyword}, s.Args...)
	kwIs := false
	what := "here"
	if _, ok := lookupKeyword(ctx, s.Keyword.Text); ok {
		what = fmt.Sprintf("%q expects", s.Keyword.Text)
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Quoted {
			continue
		}
		// "<IP ADDRESS>" and "< IPADDR>" are split into several words.
		if strings.HasPrefix(t.Text, "<") && !strings.Contains(t.Text, ">") {
			for j := i + 1; j < len(toks) && j <= i+3; j++ {
				if strings.HasSuffix(toks[j].Text, ">") && !strings.Contains(toks[j].Text, "<") {
					var words []string
					for _, w := range toks[i : j+1] {
						words = append(words, w.Text)
					}
					name := strings.Join(words, " ")
					c.placeholderErr(hcl.RangeBetween(t.Range, toks[j].Range), name, placeholderMeaning(strings.TrimSpace(strings.Trim(name, "<>"))), what)
					if i == 0 {
						kwIs = true
					}
					i = j
					break
				}
			}
			continue
		}
		if m := placeholderRE.FindAllString(t.Text, -1); m != nil {
			var means []string
			for _, p := range m {
				means = append(means, placeholderMeaning(p))
			}
			c.placeholderErr(t.Range, t.Text, strings.Join(dedupe(means), " or "), what)
			if i == 0 {
				kwIs = true
			}
			continue
		}
		if t.Text == "|" {
			c.add(hcl.DiagError, t.Range, "Placeholder text from documentation",
				"\"|\" separates alternatives in documentation; write only one of them.")
			continue
		}
		if altRE.MatchString(t.Text) {
			alts := strings.Split(t.Text, "|")
			c.add(hcl.DiagError, t.Range, "Placeholder text from documentation",
				fmt.Sprintf("%q lists the alternatives from documentation; %s one of: %s.", t.Text, strings.Replace(what, "here", "write", 1), strings.Join(alts, ", ")))
			if i == 0 {
				kwIs = true
			}
		}
	}
	return kwIs
}

func (c *checker) placeholderErr(r hcl.Range, text, meaning, what string) {
	if what == "here" {
		what = "expected here is"
	}
	c.add(hcl.DiagError, r, "Placeholder text from documentation",
		fmt.Sprintf("%q is placeholder text copied from documentation; %s %s.", text, what, meaning))
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

package schema

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Render writes diagnostics for a person: a "file:line:col: severity:
// summary" line, the source line with a caret under the offending text, and
// the detail. Diagnostics are sorted by position.
func Render(w io.Writer, srcs Sources, diags hcl.Diagnostics) error {
	sorted := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(sorted, func(i, j int) bool { return diagLess(sorted[i], sorted[j]) })
	var buf bytes.Buffer
	for i, d := range sorted {
		if i > 0 {
			buf.WriteByte('\n')
		}
		renderOne(&buf, srcs, d)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// RenderString is Render into a string.
func RenderString(srcs Sources, diags hcl.Diagnostics) string {
	var b strings.Builder
	_ = Render(&b, srcs, diags)
	return b.String()
}

func diagLess(a, b *hcl.Diagnostic) bool {
	if a.Subject == nil || b.Subject == nil {
		return a.Subject == nil && b.Subject != nil
	}
	if a.Subject.Filename != b.Subject.Filename {
		return a.Subject.Filename < b.Subject.Filename
	}
	if a.Subject.Start.Line != b.Subject.Start.Line {
		return a.Subject.Start.Line < b.Subject.Start.Line
	}
	return a.Subject.Start.Column < b.Subject.Start.Column
}

func severity(d *hcl.Diagnostic) string {
	if d.Severity == hcl.DiagWarning {
		return "warning"
	}
	return "error"
}

func renderOne(buf *bytes.Buffer, srcs Sources, d *hcl.Diagnostic) {
	if d.Subject == nil {
		fmt.Fprintf(buf, "%s: %s\n", severity(d), d.Summary)
		if d.Detail != "" {
			fmt.Fprintf(buf, "  %s\n", d.Detail)
		}
		return
	}
	r := d.Subject
	fmt.Fprintf(buf, "%s:%d:%d: %s: %s\n", r.Filename, r.Start.Line, r.Start.Column, severity(d), d.Summary)
	if line, ok := sourceLine(srcs[r.Filename], r.Start.Line); ok {
		num := fmt.Sprint(r.Start.Line)
		pad := strings.Repeat(" ", len(num))
		fmt.Fprintf(buf, "  %s | %s\n", num, line)
		fmt.Fprintf(buf, "  %s | %s\n", pad, caret(line, r))
	}
	if d.Detail != "" {
		fmt.Fprintf(buf, "  %s\n", d.Detail)
	}
}

func sourceLine(src []byte, n int) (string, bool) {
	if src == nil || n < 1 {
		return "", false
	}
	src = trimBOM(src)
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return "", false
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimRight(string(src), "\r"), true
}

// caret underlines the range on line: "^^^^" under the subject, keeping
// tabs so the caret lines up in a terminal.
func caret(line string, r *hcl.Range) string {
	var b strings.Builder
	col := 1
	for _, ch := range line {
		if col >= r.Start.Column {
			break
		}
		if ch == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		col++
	}
	width := 1
	if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
		width = r.End.Column - r.Start.Column
	}
	if rest := utf8.RuneCountInString(line) - (r.Start.Column - 1); width > rest && rest > 0 {
		width = rest
	}
	b.WriteString(strings.Repeat("^", width))
	return b.String()
}

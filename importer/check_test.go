package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "SEV line:col-line:col summary | detail substring"
	}{
		{
			name: "did you mean in authentication",
			src:  "vrrp_instance V {\n authentication {\n  autp_pass 1234\n }\n}\n",
			want: []string{`W main.conf:3:3-3:12 Unknown keyword | Did you mean "auth_pass"?`},
		},
		{
			name: "did you mean in vrrp_instance",
			src:  "vrrp_instance V {\n preemtp_delay 300\n}\n",
			want: []string{`W main.conf:2:2-2:15 Unknown keyword | Did you mean "preempt_delay"?`},
		},
		{
			name: "did you mean in global_defs",
			src:  "global_defs {\n stmp_connect_timeout 30\n}\n",
			want: []string{`W main.conf:2:2-2:22 Unknown keyword | Did you mean "smtp_connect_timeout"?`},
		},
		{
			name: "keyword of another context",
			src:  "notification_email {\n a@example.com\n}\n",
			want: []string{`W main.conf:1:1-1:19 Unknown keyword | "notification_email" is a keyword of global_defs.`},
		},
		{
			name: "deprecated aliases are accepted",
			src:  "virtual_server 192.0.2.1 80 {\n lvs_sched rr\n lvs_method DR\n real_server 192.0.2.2 80 {\n  HTTP_GET {\n   nb_get_retry 3\n  }\n }\n}\nvrrp_instance V {\n mcast_src_ip 192.0.2.3\n}\n",
			want: nil,
		},
		{
			name: "nb_get_retry is unknown in TCP_CHECK",
			src:  "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n   nb_get_retry 3\n  }\n }\n}\n",
			want: []string{`W main.conf:4:4-4:16 Unknown keyword | is a keyword of HTTP_GET, SSL_GET.`},
		},
		{
			name: "placeholders say what was expected",
			src:  "virtual_server 192.0.2.1 80 {\n lb_algo rr|wrr|lc\n lb_kind NAT|DR|TUN\n sorry_server <IPADDR> <PORT>\n}\n",
			want: []string{
				`E main.conf:2:10-2:19 Placeholder text from documentation | "lb_algo" expects one of: rr, wrr, lc.`,
				`E main.conf:3:10-3:20 Placeholder text from documentation | "lb_kind" expects one of: NAT, DR, TUN.`,
				`E main.conf:4:15-4:23 Placeholder text from documentation | "sorry_server" expects an IP address`,
				`E main.conf:4:24-4:30 Placeholder text from documentation | "sorry_server" expects a port number.`,
			},
		},
		{
			name: "split placeholder",
			src:  "virtual_server_group G {\n < IPADDR> 80\n}\nvirtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  SMTP_CHECK {\n   host {\n    connect_ip <IP ADDRESS>\n   }\n  }\n }\n}\n",
			want: []string{
				`E main.conf:2:2-2:11 Placeholder text from documentation | "< IPADDR>" is placeholder text`,
				`E main.conf:8:16-8:28 Placeholder text from documentation | "connect_ip" expects an IP address`,
			},
		},
		{
			name: "slash comments are not comments",
			src:  "global_defs {  //ids\n router_id X // name\n}\n",
			want: []string{
				`W main.conf:1:16-1:21 Unknown keyword | is not a comment in keepalived.conf`,
				`W main.conf:2:14-2:16 Not a comment | keepalived reads it as an argument of "router_id".`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := Parse("main.conf", Options{FS: fstest.MapFS{"main.conf": {Data: []byte(tt.src)}}})
			if diags.HasErrors() {
				t.Fatalf("parse: %v", diags)
			}
			got := Check(f)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(tt.want), strings.Join(diagStrings(got), "\n"))
			}
			for i, w := range tt.want {
				head, sub, _ := strings.Cut(w, " | ")
				if diff := cmp.Diff(head, diagStrings(got[i : i+1])[0]); diff != "" {
					t.Errorf("diagnostic %d (-want +got):\n%s", i, diff)
				}
				if !strings.Contains(got[i].Detail, sub) {
					t.Errorf("diagnostic %d detail %q does not contain %q", i, got[i].Detail, sub)
				}
			}
		})
	}
}

func TestKeywordTable(t *testing.T) {
	tests := []struct {
		name, ctx, kw string
		want          bool
	}{
		{"auth_pass", "authentication", "auth_pass", true},
		{"virtual_ipaddress is a value block", "vrrp_instance", "virtual_ipaddress", true},
		{"url in SSL_GET", "SSL_GET", "url", true},
		{"top-level notification_email is gone in 2.2.7", "root", "notification_email", false},
		{"real_server checkers", "real_server", "BFD_CHECK", true},
		{"no checkers directly in virtual_server", "virtual_server", "TCP_CHECK", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := lookupKeyword(tt.ctx, tt.kw)
			if got != tt.want {
				t.Errorf("lookupKeyword(%q, %q) = %v, want %v", tt.ctx, tt.kw, got, tt.want)
			}
		})
	}
	for ctx := range keywordTable {
		if _, ok := contextNames[ctx]; !ok {
			t.Errorf("context %q has no name", ctx)
		}
		for kw, info := range keywordTable[ctx] {
			if info.kind == kindBlock {
				if _, ok := keywordTable[info.sub]; !ok {
					t.Errorf("%s/%s opens unknown context %q", ctx, kw, info.sub)
				}
			}
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"autp_pass", "auth_pass", 1},
		{"preemtp_delay", "preempt_delay", 1},
		{"stmp_connect_timeout", "smtp_connect_timeout", 1},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			if got := editDistance(tt.a, tt.b); got != tt.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("$A=\\\n$A \\\nx\n$A\n~SEQ(I,1,3) ~LST(J,a,b) ${I}$J { }\ninclude main.conf\n@x y\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := fstest.MapFS{"main.conf": {Data: src}, "other.conf": {Data: src}}
		file, diags := Parse("main.conf", Options{FS: fsys, ConfigID: "x"})
		if file == nil {
			t.Fatal("nil file")
		}
		diags = append(diags, Check(file)...)
		for _, d := range diags {
			if d.Severity != hcl.DiagError && d.Severity != hcl.DiagWarning {
				t.Fatalf("bad severity in %v", d)
			}
		}
	})
}

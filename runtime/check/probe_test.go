package check

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/schema"
)

// specFor returns the first Spec of rs in a virtual server named "web".
func specFor(t *testing.T, vs *schema.VirtualServer, rs *schema.RealServer) *Spec {
	t.Helper()
	vs.Name = "web"
	vs.Address = ap("192.0.2.10:80")
	vs.RealServers = []*schema.RealServer{rs}
	r := resolve(t, &schema.Config{VirtualServers: []*schema.VirtualServer{vs}})
	specs := Specs(r.VirtualServers[0], r.VirtualServers[0].RealServers[0], "")
	if len(specs) == 0 {
		t.Fatal("no spec")
	}
	return &specs[0]
}

// outcome renders a Result for comparison: "ok" or "fail: REASON".
func outcome(r Result) string {
	if r.OK {
		return "ok"
	}
	return "fail: " + r.Reason
}

func probe(s *Spec) Result {
	return (&NetProber{}).Probe(context.Background(), s)
}

func TestTCPCheck(t *testing.T) {
	ln := listen(t, "tcp", "127.0.0.1:0")
	seen := recordingServer(ln, func(c net.Conn) { c.Close() })
	up := addrOf(ln.Addr())
	closed := listen(t, "tcp", "127.0.0.1:0")
	down := addrOf(closed.Addr())
	closed.Close()

	tests := []struct {
		name     string
		rs       *schema.RealServer
		want     string
		wantFrom string // prefix of the remote address the server saw
	}{
		{name: "connect", rs: &schema.RealServer{Address: up, Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{}}}},
			want: "ok", wantFrom: "127.0.0.1:"},
		{name: "refused", rs: &schema.RealServer{Address: down, Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{}}}},
			want: fmt.Sprintf("fail: connect %s: connection refused", down)},
		{name: "connect_ip and connect_port override the real server", rs: &schema.RealServer{Address: ap("127.0.0.9:1"),
			Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: schema.CheckCommon{ConnectIP: up.Addr(), ConnectPort: int(up.Port())}}}}},
			want: "ok", wantFrom: "127.0.0.1:"},
		{name: "bindto", rs: &schema.RealServer{Address: up,
			Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: schema.CheckCommon{BindTo: ap("127.0.0.2:1").Addr()}}}}},
			want: "ok", wantFrom: "127.0.0.2:"},
		{name: "bindto and bind_port", rs: &schema.RealServer{Address: up,
			Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: schema.CheckCommon{BindTo: ap("127.0.0.3:1").Addr(), BindPort: 40123}}}}},
			want: "ok", wantFrom: "127.0.0.3:40123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outcome(probe(specFor(t, &schema.VirtualServer{}, tt.rs)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.wantFrom == "" {
				return
			}
			select {
			case from := <-seen:
				if !strings.HasPrefix(from, tt.wantFrom) {
					t.Errorf("server saw a connection from %s, want %s…", from, tt.wantFrom)
				}
			case <-time.After(2 * time.Second):
				t.Error("server saw no connection")
			}
		})
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestHTTPGet(t *testing.T) {
	b := newHTTPBackend(t, "127.0.0.1:0", nil)
	get := func(urls ...*schema.URL) *schema.RealServer {
		return &schema.RealServer{Address: b.addr, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{URLs: urls}}}}
	}
	codes := func(rs ...schema.StatusRange) schema.StatusCodes { return rs }
	tests := []struct {
		name     string
		code     int
		body     string
		vs       schema.VirtualServer
		rs       *schema.RealServer
		want     string
		wantReqs []string
	}{
		{name: "200 is in the default 200-299", code: 200, rs: get(&schema.URL{Path: "/health"}),
			want: "ok", wantReqs: []string{b.addr.String() + " /health"}},
		{name: "503 is not", code: 503, rs: get(&schema.URL{Path: "/health"}),
			want: "fail: GET /health: status 503", wantReqs: []string{b.addr.String() + " /health"}},
		{name: "status_code ranges", code: 503,
			rs:   get(&schema.URL{Path: "/", StatusCode: codes(schema.StatusRange{Min: 200, Max: 200}, schema.StatusRange{Min: 500, Max: 599})}),
			want: "ok", wantReqs: []string{b.addr.String() + " /"}},
		{name: "redirects are not followed", code: 302, rs: get(&schema.URL{Path: "/"}),
			want: "fail: GET /: status 302", wantReqs: []string{b.addr.String() + " /"}},
		{name: "digest matches", code: 200, body: "alive", rs: get(&schema.URL{Path: "/", Digest: strings.ToUpper(md5hex("alive"))}),
			want: "ok", wantReqs: []string{b.addr.String() + " /"}},
		{name: "digest differs", code: 200, body: "dead", rs: get(&schema.URL{Path: "/", Digest: md5hex("alive")}),
			want:     fmt.Sprintf("fail: GET /: digest %s, want %s", md5hex("dead"), md5hex("alive")),
			wantReqs: []string{b.addr.String() + " /"}},
		{name: "all urls must pass, each with its virtualhost, else the checker's, else the virtual server's", code: 200,
			vs: schema.VirtualServer{Virtualhost: "vs.example"},
			rs: &schema.RealServer{Address: b.addr, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{Virtualhost: "check.example", URLs: []*schema.URL{
				{Path: "/a?x=1", Virtualhost: "url.example"}, {Path: "/b"}}}}}},
			want: "ok", wantReqs: []string{"url.example /a?x=1", "check.example /b"}},
		{name: "virtual server's virtualhost", code: 200, vs: schema.VirtualServer{Virtualhost: "vs.example"},
			rs: get(&schema.URL{Path: "/"}), want: "ok", wantReqs: []string{"vs.example /"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.set(tt.code, tt.body)
			got := outcome(probe(specFor(t, &tt.vs, tt.rs)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			reqs, _ := b.seen()
			if diff := cmp.Diff(tt.wantReqs, reqs); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSSLGet(t *testing.T) {
	dir := t.TempDir()
	cert, caFile := selfSigned(t, dir, "server")
	_, otherCA := selfSigned(t, dir, "other")
	b := newHTTPBackend(t, "127.0.0.1:0", cert)
	tests := []struct {
		name     string
		check    schema.HTTPCheck
		want     string
		wantSNIs []string
	}{
		{name: "self-signed without tls_verify, no SNI", want: "ok", wantSNIs: []string{""}},
		{name: "virtualhost without enable_sni sends no SNI", check: schema.HTTPCheck{Virtualhost: "lb.example"},
			want: "ok", wantSNIs: []string{""}},
		{name: "enable_sni sends the virtualhost", check: schema.HTTPCheck{Virtualhost: "lb.example", EnableSNI: true},
			want: "ok", wantSNIs: []string{"lb.example"}},
		{name: "tls_verify with ca_file and SNI", check: schema.HTTPCheck{Virtualhost: "lb.example", EnableSNI: true, TLSVerify: true, CAFile: caFile},
			want: "ok", wantSNIs: []string{"lb.example"}},
		{name: "tls_verify with ca_file checks the address without SNI", check: schema.HTTPCheck{TLSVerify: true, CAFile: caFile},
			want: "ok", wantSNIs: []string{""}},
		{name: "tls_verify with the wrong CA fails", check: schema.HTTPCheck{TLSVerify: true, CAFile: otherCA},
			want: "fail: GET /: tls: failed to verify certificate: x509: certificate signed by unknown authority", wantSNIs: []string{""}},
		{name: "tls_verify checks the name", check: schema.HTTPCheck{Virtualhost: "other.example", EnableSNI: true, TLSVerify: true, CAFile: caFile},
			want: "fail: GET /: tls: failed to verify certificate: x509: certificate is valid for lb.example, not other.example", wantSNIs: []string{"other.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.check
			c.URLs = []*schema.URL{{Path: "/"}}
			rs := &schema.RealServer{Address: b.addr, Checks: &schema.Checks{SSLGets: []*schema.HTTPCheck{&c}}}
			got := outcome(probe(specFor(t, &schema.VirtualServer{}, rs)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			_, snis := b.seen()
			if diff := cmp.Diff(tt.wantSNIs, snis); diff != "" {
				t.Errorf("SNI (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSMTPCheck(t *testing.T) {
	a := newSMTPBackend(t, "127.0.0.1:0")
	b := newSMTPBackend(t, "127.0.0.4:0")
	tests := []struct {
		name      string
		setup     func()
		check     schema.SMTPCheck
		want      string
		wantHelos []string
	}{
		{name: "banner and HELO with the default name", want: "ok",
			wantHelos: []string{"HELO smtpchecker.keepalived.org"}},
		{name: "helo_name", check: schema.SMTPCheck{HeloName: "lb1.example"}, want: "ok",
			wantHelos: []string{"HELO lb1.example"}},
		{name: "bad banner", setup: func() { a.set("554 go away", "250 ok") },
			want: fmt.Sprintf("fail: SMTP %s: banner: 554 go away", a.addr)},
		{name: "HELO refused", setup: func() { a.set("220 ok", "550 no") },
			want: fmt.Sprintf("fail: SMTP %s: HELO: 550 no", a.addr), wantHelos: []string{"HELO smtpchecker.keepalived.org"}},
		{name: "two hosts, both pass",
			check: schema.SMTPCheck{Hosts: []*schema.CheckCommon{{ConnectIP: b.addr.Addr(), ConnectPort: int(b.addr.Port())}}},
			want:  "ok", wantHelos: []string{"HELO smtpchecker.keepalived.org", "HELO smtpchecker.keepalived.org"}},
		{name: "two hosts, the second fails", setup: func() { b.set("421 busy", "") },
			check: schema.SMTPCheck{Hosts: []*schema.CheckCommon{{ConnectIP: b.addr.Addr(), ConnectPort: int(b.addr.Port())}}},
			want:  fmt.Sprintf("fail: SMTP %s: banner: 421 busy", b.addr), wantHelos: []string{"HELO smtpchecker.keepalived.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.set("220-smtp.example ESMTP\r\n220 ready", "250 smtp.example")
			b.set("220 ready", "250 ok")
			if tt.setup != nil {
				tt.setup()
			}
			c := tt.check
			got := outcome(probe(specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: a.addr, Checks: &schema.Checks{SMTPChecks: []*schema.SMTPCheck{&c}}})))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			// The servers record HELO before they answer it.
			helos := append(a.takeHelos(), b.takeHelos()...)
			if diff := cmp.Diff(tt.wantHelos, helos); diff != "" {
				t.Errorf("HELOs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDNSCheck(t *testing.T) {
	srv := newDNSBackend(t, "127.0.0.1:0", "svc.example")
	tests := []struct {
		name  string
		mode  string
		check schema.DNSCheck
		want  string
	}{
		{name: "answered", check: schema.DNSCheck{Type: "A", Name: "svc.example."}, want: "ok"},
		{name: "replies with another ID are ignored", mode: "wrongid-first", check: schema.DNSCheck{Type: "A", Name: "svc.example"}, want: "ok"},
		{name: "NXDOMAIN", check: schema.DNSCheck{Type: "A", Name: "nope.example"},
			want: fmt.Sprintf("fail: DNS %s A nope.example: NXDOMAIN", srv.addr)},
		{name: "no answer", mode: "noanswer", check: schema.DNSCheck{Type: "A", Name: "svc.example"},
			want: fmt.Sprintf("fail: DNS %s A svc.example: no answer", srv.addr)},
		{name: "default query is SOA for the root", check: schema.DNSCheck{},
			want: fmt.Sprintf("fail: DNS %s SOA .: NXDOMAIN", srv.addr)},
		{name: "no reply", mode: "silent", check: schema.DNSCheck{Type: "A", Name: "svc.example",
			CheckCommon: schema.CheckCommon{ConnectTimeout: dur(200 * time.Millisecond)}},
			want: fmt.Sprintf("fail: DNS %s A svc.example: timeout", srv.addr)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.setMode(tt.mode)
			c := tt.check
			got := outcome(probe(specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: srv.addr, Checks: &schema.Checks{DNSChecks: []*schema.DNSCheck{&c}}})))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMiscCheck(t *testing.T) {
	script, setCode := exitScript(t)
	flag := filepath.Join(t.TempDir(), "flag")
	tests := []struct {
		name       string
		code       int
		check      schema.MiscCheck
		want       string
		wantWeight int
	}{
		{name: "exit 0", code: 0, want: "ok", wantWeight: -1},
		{name: "exit 1", code: 1, want: "fail: " + script + ": exit 1", wantWeight: -1},
		{name: "exit 12 without misc_dynamic fails", code: 12, want: "fail: " + script + ": exit 12", wantWeight: -1},
		{name: "misc_dynamic exit 0: weight unchanged", code: 0, check: schema.MiscCheck{Dynamic: true}, want: "ok", wantWeight: -1},
		{name: "misc_dynamic exit 1: down", code: 1, check: schema.MiscCheck{Dynamic: true}, want: "fail: " + script + ": exit 1", wantWeight: -1},
		{name: "misc_dynamic exit 12: weight 10", code: 12, check: schema.MiscCheck{Dynamic: true}, want: "ok", wantWeight: 10},
		{name: "misc_dynamic exit 255: weight 253", code: 255, check: schema.MiscCheck{Dynamic: true}, want: "ok", wantWeight: 253},
		{name: "shell metacharacters run through /bin/sh", check: schema.MiscCheck{Path: "test -e " + flag + " || exit 3"},
			want: "fail: /bin/sh: exit 3", wantWeight: -1},
		{name: "quoted arguments", check: schema.MiscCheck{Path: "/bin/sh -c 'exit 4'"},
			want: "fail: /bin/sh: exit 4", wantWeight: -1},
		{name: "missing program", check: schema.MiscCheck{Path: "/nonexistent/check"},
			want: "fail: run /nonexistent/check: fork/exec /nonexistent/check: no such file or directory", wantWeight: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setCode(tt.code)
			c := tt.check
			if c.Path == "" {
				c.Path = script
			}
			r := probe(specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: ap("127.0.0.1:80"), Checks: &schema.Checks{MiscChecks: []*schema.MiscCheck{&c}}}))
			if diff := cmp.Diff([]any{tt.want, tt.wantWeight}, []any{outcome(r), r.Weight}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMiscTimeoutKillsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "survived")
	// The script's child would create the marker after 1s unless killed.
	c := schema.MiscCheck{Path: "sleep 1 && touch " + marker, Timeout: dur(200 * time.Millisecond)}
	start := time.Now()
	r := probe(specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: ap("127.0.0.1:80"), Checks: &schema.Checks{MiscChecks: []*schema.MiscCheck{&c}}}))
	if got, want := outcome(r), "fail: /bin/sh: timed out after 200ms"; got != want {
		t.Errorf("result %q, want %q", got, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v, want about 200ms", d)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the script's child survived the timeout")
	}
}

func TestMiscRunsAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	dir, err := os.MkdirTemp("", "hacfg-check-") // t.TempDir's parent is 0700
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "uid")
	c := schema.MiscCheck{Path: "id -u > " + out, User: "nobody"}
	r := probe(specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: ap("127.0.0.1:80"), Checks: &schema.Checks{MiscChecks: []*schema.MiscCheck{&c}}}))
	if !r.OK {
		t.Fatalf("result %+v", r)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != nobody.Uid {
		t.Errorf("ran as uid %s, want %s (nobody)", got, nobody.Uid)
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    []string
		wantErr bool
	}{
		{name: "plain", line: "/usr/bin/check  -p 80 ", want: []string{"/usr/bin/check", "-p", "80"}},
		{name: "single quotes group", line: "/bin/notify 'a b' c", want: []string{"/bin/notify", "a b", "c"}},
		{name: "double quotes group", line: `/bin/notify "x y"z`, want: []string{"/bin/notify", "x yz"}},
		{name: "pipe needs a shell", line: "check | grep ok", want: []string{"/bin/sh", "-c", "check | grep ok"}},
		{name: "variable needs a shell", line: "check $HOST", want: []string{"/bin/sh", "-c", "check $HOST"}},
		{name: "redirection needs a shell", line: "check > /dev/null", want: []string{"/bin/sh", "-c", "check > /dev/null"}},
		{name: "empty", line: "  ", wantErr: true},
		{name: "unterminated quote", line: "check 'a", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.line)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpecDefaults(t *testing.T) {
	rs := &schema.RealServer{
		Address: ap("203.0.113.5:8080"),
		Checks:  &schema.Checks{TCPChecks: []*schema.TCPCheck{{}}, HTTPGets: []*schema.HTTPCheck{{URLs: []*schema.URL{{}}}}, SMTPChecks: []*schema.SMTPCheck{{CheckCommon: schema.CheckCommon{ConnectPort: 25, ConnectTimeout: dur(2 * time.Second)}, Hosts: []*schema.CheckCommon{{ConnectIP: ap("203.0.113.6:1").Addr()}}}}, DNSChecks: []*schema.DNSCheck{{CheckCommon: schema.CheckCommon{ConnectPort: 53}}}, MiscChecks: []*schema.MiscCheck{{Path: "/bin/true"}}},
	}
	vs := &schema.VirtualServer{Name: "web", Address: ap("192.0.2.10:80"), DelayLoop: dur(6 * time.Second), RealServers: []*schema.RealServer{rs}}
	r := resolve(t, &schema.Config{VirtualServers: []*schema.VirtualServer{vs}})
	type row struct {
		Kind                       Kind
		Target                     string
		Timeout, DBR, Loop, Warmup time.Duration
		Retry                      int
		Extra                      string
	}
	var got []row
	for _, s := range Specs(r.VirtualServers[0], r.VirtualServers[0].RealServers[0], "checker") {
		extra := ""
		switch s.Kind {
		case KindHTTP:
			var us []string
			for _, u := range s.URLs {
				us = append(us, fmt.Sprintf("{%s %s %v %s}", u.Path, u.Digest, u.Status, u.Host))
			}
			extra = fmt.Sprintf("urls=%v", us)
		case KindSMTP:
			extra = fmt.Sprintf("helo=%s hosts=%v", s.HeloName, s.Hosts)
		case KindDNS:
			extra = s.DNSType + " " + s.DNSName
		case KindMisc:
			extra = fmt.Sprintf("timeout=%v user=%s", s.MiscTimeout, s.User)
		}
		got = append(got, row{s.Kind, s.Conn.Target.String(), s.Conn.Timeout, s.DelayBeforeRetry, s.DelayLoop, s.Warmup, s.Retry, extra})
	}
	s6, s3 := 6*time.Second, 3*time.Second
	want := []row{
		{KindTCP, "203.0.113.5:8080", 5 * time.Second, time.Second, s6, s6, 1, ""},
		{KindHTTP, "203.0.113.5:8080", 5 * time.Second, s3, s6, s6, 1, "urls=[{/  [] }]"},
		{KindSMTP, "203.0.113.5:25", 2 * time.Second, time.Second, s6, s6, 1,
			"helo=smtpchecker.keepalived.org hosts=[{203.0.113.5:25 invalid IP 0 2s} {203.0.113.6:25 invalid IP 0 2s}]"},
		{KindDNS, "203.0.113.5:53", 5 * time.Second, s6, s6, s6, 3, "SOA ."},
		{KindMisc, "invalid AddrPort", 0, time.Second, s6, s6, 0, "timeout=6s user=checker"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDNSCodec(t *testing.T) {
	q, err := encodeDNSQuery(0x1234, ".", 6)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("root SOA query (-want +got):\n%s", diff)
	}
	q, err = encodeDNSQuery(7, "svc.example.", 28)
	if err != nil {
		t.Fatal(err)
	}
	h, qs, err := parseDNSQuestions(q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{dnsHeader{ID: 7, Flags: dnsFlagRD, QDCount: 1}, []dnsQuestion{{Name: "svc.example", Type: 28, Class: 1}}}, []any{h, qs}); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{strings.Repeat("a", 64) + ".example", "a..b", strings.Repeat("abcdefghi.", 26)} {
		if _, err := encodeDNSQuery(1, bad, 1); err == nil {
			t.Errorf("encode %q: no error", bad)
		}
	}
	// A compression loop and a truncated name are errors, not hangs.
	loop := append(make([]byte, 12), 0xc0, 12, 0, 1, 0, 1)
	loop[5] = 1
	if _, _, err := parseDNSQuestions(loop); err == nil {
		t.Error("compression loop: no error")
	}
	if _, _, err := parseDNSQuestions(q[:len(q)-6]); err == nil {
		t.Error("truncated: no error")
	}
}

func FuzzDNSParse(f *testing.F) {
	q, _ := encodeDNSQuery(1, "svc.example", 1)
	f.Add(q)
	f.Add(dnsReply(1, dnsQuestion{Name: "svc.example", Type: 1, Class: 1}, 0, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, qs, err := parseDNSQuestions(b)
		if err != nil {
			return
		}
		if len(qs) != int(h.QDCount) {
			t.Fatalf("%d questions, header says %d", len(qs), h.QDCount)
		}
		for _, q := range qs {
			// A name read back encodes (or is rejected) without panicking, and
			// encoding is stable: what an encoded name reads back as encodes to
			// the same bytes. (Names whose labels hold dots are ambiguous as
			// text, so the text itself need not survive.)
			enc, err := encodeDNSQuery(h.ID, q.Name, q.Type)
			if err != nil {
				continue
			}
			_, back, err := parseDNSQuestions(enc)
			if err != nil || len(back) != 1 {
				t.Fatalf("re-encoded %q reads back as %v, %v", q.Name, back, err)
			}
			again, err := encodeDNSQuery(h.ID, back[0].Name, back[0].Type)
			if err != nil || string(again) != string(enc) {
				t.Fatalf("%q encodes as %x, then as %x (%v)", q.Name, enc, again, err)
			}
		}
	})
}

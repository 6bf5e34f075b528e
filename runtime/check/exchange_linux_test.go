package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/schema"
)

// rawBackend answers every connection with reply (after reading the
// request) and then closes it, or holds it open when hold is set.
func rawBackend(t *testing.T, reply string, hold bool) netip.AddrPort {
	t.Helper()
	ln := listen(t, "tcp", "127.0.0.1:0")
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	acceptEach(ln, func(c net.Conn) {
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			var req []byte
			for !strings.Contains(string(req), "\r\n\r\n") {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				req = append(req, buf[:n]...)
			}
			io.WriteString(c, reply)
			if hold {
				select {
				case <-done:
				case <-time.After(10 * time.Second):
				}
			}
		}()
	})
	return addrOf(ln.Addr())
}

// TestEventLoopMatchesNetPackage runs the same HTTP_GET through the event
// loop (NetProber.Probe) and through the net package (probeHTTP) against
// servers answering in every shape, and wants the same result from both.
func TestEventLoopMatchesNetPackage(t *testing.T) {
	body := "alive\n"
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nali\r\n3\r\nve\n\r\n0\r\n\r\n"
	tests := []struct {
		name   string
		reply  string
		hold   bool // the server keeps the connection open after its reply
		digest string
		want   string
	}{
		{name: "200", reply: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n" + body, want: "ok"},
		{name: "503", reply: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", want: "fail: GET /: status 503"},
		{name: "bare newlines", reply: "HTTP/1.0 204 No Content\n\n", want: "ok"},
		{name: "header only, then held open", reply: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", hold: true, want: "ok"},
		{name: "digest, content length, held open", reply: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n" + body, hold: true,
			digest: md5hex(body), want: "ok"},
		{name: "digest differs", reply: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsleepy", digest: md5hex(body),
			want: fmt.Sprintf("fail: GET /: digest %s, want %s", md5hex("sleepy"), md5hex(body))},
		{name: "digest of a chunked body", reply: chunked, digest: md5hex(body), want: "ok"},
		{name: "digest without length: the body ends at the close", reply: "HTTP/1.0 200 OK\r\n\r\n" + body, digest: md5hex(body), want: "ok"},
		{name: "not HTTP", reply: "SSH-2.0-OpenSSH_9.2\r\n\r\n", want: `fail: GET /: malformed HTTP response "SSH-2.0-OpenSSH_9.2"`},
		{name: "cut in the header", reply: "HTTP/1.1 200 OK\r\nContent-Le", want: `fail: GET /: malformed MIME header: missing colon: "Content-Le"`},
		{name: "nothing", reply: "", want: "fail: GET /: unexpected EOF"},
		{name: "bad status", reply: "HTTP/1.1 2x0 OK\r\n\r\n", want: `fail: GET /: malformed HTTP status code "2x0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawBackend(t, tt.reply, tt.hold)
			rs := &schema.RealServer{Address: addr, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{
				CheckCommon: schema.CheckCommon{ConnectTimeout: dur(3 * time.Second)},
				URLs:        []*schema.URL{{Path: "/", Digest: tt.digest}},
			}}}}
			s := specFor(t, &schema.VirtualServer{}, rs)
			start := time.Now()
			loop := outcome(probe(s))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("event loop took %v: it waited for more than the response", d)
			}
			if diff := cmp.Diff(tt.want, loop); diff != "" {
				t.Errorf("event loop (-want +got):\n%s", diff)
			}
			if tt.hold && tt.digest == "" {
				return // the net package reads the header only too, but would wait on a held body
			}
			direct := outcome(probeHTTP(context.Background(), s))
			if diff := cmp.Diff(tt.want, direct); diff != "" {
				t.Errorf("net package (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventLoopTimeoutAndClose(t *testing.T) {
	hang := hangingBackend(t, "127.0.0.1:0")
	s := specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: hang, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{
		CheckCommon: schema.CheckCommon{ConnectTimeout: dur(200 * time.Millisecond)},
		URLs:        []*schema.URL{{Path: "/"}},
	}}}})
	p := &NetProber{}
	start := time.Now()
	if diff := cmp.Diff("fail: GET /: timeout", outcome(p.Probe(context.Background(), s))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > time.Second {
		t.Errorf("timeout after %v, want 200ms", d)
	}

	// Close ends the checks in flight at once, and refuses new ones.
	s.Conn.Timeout = 10 * time.Second
	got := make(chan Result, 1)
	p.start(s, func(r Result) { got <- r })
	time.Sleep(50 * time.Millisecond)
	p.Close()
	select {
	case r := <-got:
		if diff := cmp.Diff("fail: GET /: stopped", outcome(r)); diff != "" {
			t.Errorf("in flight at Close (-want +got):\n%s", diff)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end the check in flight")
	}
	if diff := cmp.Diff("fail: GET /: stopped", outcome(p.Probe(context.Background(), s))); diff != "" {
		t.Errorf("after Close (-want +got):\n%s", diff)
	}
}

// httpOKSpec is an HTTP_GET of / against a server answering 200, which
// goes through the event loop (a TCP_CHECK to a server on this host is
// connected at once and does not; see TestEventLoopBareConnect).
func httpOKSpec(t *testing.T, timeout time.Duration) *Spec {
	t.Helper()
	srv := rawBackend(t, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false)
	return specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: srv, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{
		CheckCommon: schema.CheckCommon{ConnectTimeout: dur(timeout)},
		URLs:        []*schema.URL{{Path: "/"}},
	}}}})
}

// TestEventLoopEndsWhenIdle: the loop's goroutine and descriptors go away
// when no check is in flight, and come back with the next one.
func TestEventLoopEndsWhenIdle(t *testing.T) {
	p := &NetProber{x: exchanger{idle: 50 * time.Millisecond}}
	s := httpOKSpec(t, 5*time.Second)
	running := func() bool {
		p.x.mu.Lock()
		defer p.x.mu.Unlock()
		return p.x.running
	}
	for round := range 2 {
		got := make(chan Result, 1)
		p.start(s, func(r Result) { got <- r })
		if !running() {
			t.Fatalf("round %d: no loop for the check", round)
		}
		if diff := cmp.Diff("ok", outcome(<-got)); diff != "" {
			t.Fatalf("round %d (-want +got):\n%s", round, diff)
		}
		waitFor(t, 2*time.Second, "the idle loop to end", func() bool { return !running() })
	}
}

// TestEventLoopBareConnect: a TCP_CHECK to a server on this host is over
// when connect returns, passed or refused, and does not start the loop; one
// whose handshake is not over (a listener whose accept queue is full drops
// the SYN) is left to the loop, which times it out. A passed check's socket
// is kept for the next, and the reset that freed it does not show in the
// next check's result.
func TestEventLoopBareConnect(t *testing.T) {
	p := &NetProber{}
	t.Cleanup(p.Close)
	running := func() bool {
		p.x.mu.Lock()
		defer p.x.mu.Unlock()
		return p.x.running
	}
	tcp := func(a netip.AddrPort) *Spec {
		return specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: a, Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{
			CheckCommon: schema.CheckCommon{ConnectTimeout: dur(300 * time.Millisecond)},
		}}}})
	}
	up := closingBackend(t, "127.0.0.1:0")
	closed := listen(t, "tcp", "127.0.0.1:0")
	down := addrOf(closed.Addr())
	closed.Close()
	for _, tt := range []struct {
		to   netip.AddrPort
		want string
	}{
		{addrOf(up.Addr()), "ok"},
		{addrOf(up.Addr()), "ok"},
		{down, fmt.Sprintf("fail: connect %s: connection refused", down)},
		{addrOf(up.Addr()), "ok"},
	} {
		if diff := cmp.Diff(tt.want, outcome(p.Probe(context.Background(), tcp(tt.to)))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.to, diff)
		}
		if running() {
			t.Errorf("%s: the check started the loop", tt.to)
		}
	}

	// A backlog of 0 takes one connection into the accept queue; with it
	// full, the listener drops the SYNs that follow.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	full := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	p.x.mu.Lock()
	spare := len(p.x.spare[0])
	p.x.mu.Unlock()
	if spare != 1 {
		t.Errorf("%d sockets kept after a check passed, want 1", spare)
	}
	first, err := net.Dial("tcp", full.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	got := make(chan Result, 1)
	start := time.Now()
	p.start(tcp(full), func(r Result) { got <- r })
	if !running() {
		t.Error("a connect in progress did not start the loop")
	}
	if diff := cmp.Diff(fmt.Sprintf("fail: connect %s: timeout", full), outcome(<-got)); diff != "" {
		t.Errorf("full accept queue (-want +got):\n%s", diff)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 2*time.Second {
		t.Errorf("timed out after %v, want 300ms", d)
	}
}

// TestEventLoopManyAtOnce runs a thousand checks at once, half of them to a
// closed port, and wants every result right: connected at once, and
// through the loop.
func TestEventLoopManyAtOnce(t *testing.T) {
	ln := closingBackend(t, "127.0.0.1:0")
	closed := listen(t, "tcp", "127.0.0.1:0")
	down := addrOf(closed.Addr())
	closed.Close()
	up := addrOf(ln.Addr())
	for _, viaLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("viaLoop=%v", viaLoop), func(t *testing.T) {
			manyAtOnce(t, &NetProber{x: exchanger{viaLoop: viaLoop}}, up, down)
		})
	}
}

func manyAtOnce(t *testing.T, p *NetProber, up, down netip.AddrPort) {
	t.Cleanup(p.Close)
	type res struct {
		k int
		r Result
	}
	const n = 1000
	results := make(chan res, n)
	specs := make([]*Spec, n)
	for k := range n {
		a := up
		if k%2 == 1 {
			a = down
		}
		specs[k] = specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: a, Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{}}}})
	}
	for k, s := range specs {
		p.start(s, func(r Result) { results <- res{k, r} })
	}
	seen := map[int]bool{}
	for range n {
		select {
		case got := <-results:
			if seen[got.k] {
				t.Fatalf("check %d reported twice", got.k)
			}
			seen[got.k] = true
			want := "ok"
			if got.k%2 == 1 {
				want = fmt.Sprintf("fail: connect %s: connection refused", down)
			}
			if o := outcome(got.r); o != want {
				t.Errorf("check %d: %s, want %s", got.k, o, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d checks reported", len(seen), n)
		}
	}
}

// TestManagerOnTheLoop: with the system clock and its own NetProber, the
// Manager times TCP checks on the event loop; at the concurrency bound a
// check waits its turn without blocking the loop, and every real server
// gets checked.
func TestManagerOnTheLoop(t *testing.T) {
	ln := closingBackend(t, "127.0.0.1:0")
	up := addrOf(ln.Addr())
	loop := dur(30 * time.Millisecond)
	var rss []*schema.RealServer
	for i := range 8 {
		rss = append(rss, &schema.RealServer{Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 3, byte(i + 1)}), 80),
			Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: schema.CheckCommon{ConnectIP: up.Addr(), ConnectPort: int(up.Port()), Warmup: dur(time.Millisecond)}}}}})
	}
	m := New(resolve(t, oneVS(&schema.VirtualServer{DelayLoop: loop, RealServers: rss})), Options{Concurrency: 1})
	t.Cleanup(m.Stop)
	m.mu.Lock()
	onLoop := m.vss[0].rss[0].checkers[0].lt.inUse()
	m.mu.Unlock()
	if !onLoop {
		t.Fatal("the check's timer is not the event loop's")
	}
	checks := func() (n int) {
		for _, rs := range m.Snapshot()[0].RealServers {
			if c := rs.Checks[0]; c.LastOK && c.LastResult == "connect "+up.String()+": ok" {
				n++
			}
		}
		return n
	}
	waitFor(t, 3*time.Second, "every real server checked with one check at a time", func() bool { return checks() == len(rss) })
	// A check that passes keeps no Reason, made when it is read (as
	// Snapshot did above): a check on the loop makes no string.
	m.mu.Lock()
	c := m.vss[0].rss[0].checkers[0]
	at := c.lastAt
	m.mu.Unlock()
	waitFor(t, 3*time.Second, "checked again", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return c.lastAt > at
	})
	m.mu.Lock()
	kept := !c.lastOK || !c.lastPass || c.lastReason != ""
	m.mu.Unlock()
	if kept {
		t.Error("a check that passed on the loop kept a Reason")
	}
	m.Stop()
	m.loop.x.mu.Lock()
	defer m.loop.x.mu.Unlock()
	if !m.loop.x.closed || len(m.loop.x.conns) != 0 || m.loop.x.timers != 0 {
		t.Errorf("after Stop: closed %v, %d exchanges, %d timers", m.loop.x.closed, len(m.loop.x.conns), m.loop.x.timers)
	}
}

// TestEventLoopClosesWithReset: like keepalived, a check's connection ends
// with a reset, leaving no TIME_WAIT socket on the balancer; the server
// reads ECONNRESET, not EOF.
func TestEventLoopClosesWithReset(t *testing.T) {
	ln := listen(t, "tcp", "127.0.0.1:0")
	got := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		got <- err
	}()
	s := specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: addrOf(ln.Addr()), Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{}}}})
	if diff := cmp.Diff("ok", outcome(probe(s))); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if err := <-got; !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the server read %v, want ECONNRESET", err)
	}
}

// TestEventLoopIPv6: TCP and HTTP checks to an IPv6 real server (and from
// an IPv6 bind address) go through the event loop too.
func TestEventLoopIPv6(t *testing.T) {
	ln := listenIPv6(t)
	seen := recordingServer(ln, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 1024)
		if n, _ := c.Read(buf); n > 0 && strings.HasPrefix(string(buf[:n]), "GET ") {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	addr := addrOf(ln.Addr())
	tests := []struct {
		name string
		rs   *schema.RealServer
		want string
	}{
		{name: "tcp", rs: &schema.RealServer{Address: addr, Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{}}}}, want: "ok"},
		{name: "tcp from a bind address", rs: &schema.RealServer{Address: addr,
			Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: schema.CheckCommon{BindTo: netip.MustParseAddr("::1")}}}}}, want: "ok"},
		{name: "http", rs: &schema.RealServer{Address: addr, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{URLs: []*schema.URL{{Path: "/"}}}}}}, want: "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := specFor(t, &schema.VirtualServer{}, tt.rs)
			if !(&NetProber{}).canStart(s.Conn, s.Settings) {
				t.Fatal("an IPv6 check does not run on the event loop")
			}
			if diff := cmp.Diff(tt.want, outcome(probe(s))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			select {
			case from := <-seen:
				if !strings.HasPrefix(from, "[::1]:") {
					t.Errorf("server saw a connection from %s, want [::1]", from)
				}
			case <-time.After(2 * time.Second):
				t.Error("server saw no connection")
			}
		})
	}
}

// TestLoopTimerSlack: a timer due within its slack (a hundredth of its
// delay) fires with one that is due, sharing its wake-up; none fires
// later than due, or earlier than its slack allows.
func TestLoopTimerSlack(t *testing.T) {
	var x exchanger
	t.Cleanup(x.close)
	start := time.Now()
	fired := make(chan time.Duration, 2)
	if _, err := x.after(time.Second, func() { fired <- time.Since(start) }); err != nil {
		t.Fatal(err)
	}
	if _, err := x.after(time.Second+6*time.Millisecond, func() { fired <- time.Since(start) }); err != nil {
		t.Fatal(err)
	}
	a, b := <-fired, <-fired
	if a < time.Second || b < time.Second+6*time.Millisecond-10*time.Millisecond {
		t.Errorf("fired at %v and %v: earlier than due less slack", a, b)
	}
	if b-a > 3*time.Millisecond {
		t.Errorf("the second timer fired at %v, on its own: want it with the first, at %v", b, a)
	}
}

func TestDeadlinesHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h deadlines
	var want []int64
	for round := range 50 {
		for range rng.IntN(40) {
			at := int64(rng.IntN(1000)) * int64(time.Millisecond)
			h.push(deadlineEntry{at: at, n: int32(round)})
			want = append(want, at)
		}
		if round%7 == 3 {
			h.init() // already a heap: must stay one
		}
		for range rng.IntN(len(h) + 1) {
			got := h.pop().at
			slices.Sort(want)
			if got != want[0] {
				t.Fatalf("round %d: pop = %v, want the earliest %v", round, time.Duration(got), time.Duration(want[0]))
			}
			want = want[1:]
		}
	}
	if len(h) != len(want) {
		t.Fatalf("%d entries left, want %d", len(h), len(want))
	}
}

// TestEventLoopRequestBytes: the loop sends the request buildRequest
// makes, whether the url names its Host (the request is built once) or
// the Host is the target's address (the loop writes it after the shared
// head), for IPv4 and IPv6 targets and a path that needs escaping.
func TestEventLoopRequestBytes(t *testing.T) {
	for _, tt := range []struct{ listen, host, path string }{
		{"127.0.0.1:0", "", "/health"},
		{"127.0.0.1:0", "www.example.com", "/health"},
		{"[::1]:0", "", "/a b?x=1"},
	} {
		var ln net.Listener
		if tt.listen == "[::1]:0" {
			ln = listenIPv6(t)
		} else {
			ln = listen(t, "tcp", tt.listen)
		}
		got := make(chan string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- err.Error()
				return
			}
			defer c.Close()
			var req []byte
			buf := make([]byte, 512)
			for !bytes.HasSuffix(req, []byte("\r\n\r\n")) {
				n, err := c.Read(buf)
				if err != nil {
					break
				}
				req = append(req, buf[:n]...)
			}
			got <- string(req)
			io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n")
		}()
		target := addrOf(ln.Addr())
		s := specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: target, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{
			URLs: []*schema.URL{{Path: tt.path, Virtualhost: tt.host}},
		}}}})
		if (s.URLs[0].req == nil) != (tt.host == "") {
			t.Errorf("%s %q: request built once = %v, want %v", tt.listen, tt.host, s.URLs[0].req != nil, tt.host != "")
		}
		p := &NetProber{}
		if r := p.Probe(context.Background(), s); !r.OK {
			t.Errorf("%s %q: %s", tt.listen, tt.host, r.Reason)
		}
		p.Close()
		if want := string(buildRequest(target, s.URLs[0])); <-got != want {
			t.Errorf("%s %q: the server read a request other than %q", tt.listen, tt.host, want)
		}
	}
}

// TestEventLoopPauseNoFalseTimeouts: connections that were answered while
// the loop was held up (a busy machine) pass, however many: the loop reads
// every ready connection before it enforces deadlines, not only the batch
// one wait returns.
func TestEventLoopPauseNoFalseTimeouts(t *testing.T) {
	ln := closingBackend(t, "127.0.0.1:0")
	// Connects through the loop, as to a distant server: the handshakes
	// end during the pause, and the loop reads them after it.
	p := &NetProber{x: exchanger{viaLoop: true}}
	t.Cleanup(p.Close)
	spec := func() *Spec {
		return specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: addrOf(ln.Addr()), Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{
			CheckCommon: schema.CheckCommon{ConnectTimeout: dur(300 * time.Millisecond)},
		}}}})
	}
	// The first check's result holds the loop up for longer than the
	// others' timeout.
	paused := make(chan struct{})
	p.start(spec(), func(Result) {
		close(paused)
		time.Sleep(800 * time.Millisecond)
	})
	<-paused
	const n = 700 // more than one wait returns
	results := make(chan Result, n)
	for range n {
		p.start(spec(), func(r Result) { results <- r })
	}
	failed := 0
	for k := range n {
		select {
		case r := <-results:
			if !r.OK {
				if failed++; failed <= 3 {
					t.Errorf("check failed: %s", outcome(r))
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d checks reported", k, n)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d checks answered during the pause failed", failed, n)
	}
}

// TestEventLoopKeepsSockets: an exchange's socket is reset and kept for
// the next exchange, through the loop as well as connected at once, and
// every result stays right when checks of every kind, passing, failing and
// timing out, take turns with the same few sockets; a socket kept while
// the loop stopped idling works with the next loop. No descriptor leaks.
func TestEventLoopKeepsSockets(t *testing.T) {
	p := &NetProber{x: exchanger{idle: 50 * time.Millisecond}}
	t.Cleanup(p.Close)
	httpSpec := func(a netip.AddrPort, timeout time.Duration) *Spec {
		return specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: a, Checks: &schema.Checks{HTTPGets: []*schema.HTTPCheck{{
			CheckCommon: schema.CheckCommon{ConnectTimeout: dur(timeout)},
			URLs:        []*schema.URL{{Path: "/"}},
		}}}})
	}
	ok := httpSpec(rawBackend(t, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false), 2*time.Second)
	bad := httpSpec(rawBackend(t, "HTTP/1.0 503 Busy\r\nContent-Length: 0\r\n\r\n", false), 2*time.Second)
	hang := httpSpec(hangingBackend(t, "127.0.0.1:0"), 100*time.Millisecond)
	up := closingBackend(t, "127.0.0.1:0")
	tcp := specFor(t, &schema.VirtualServer{}, &schema.RealServer{Address: addrOf(up.Addr()), Checks: &schema.Checks{TCPChecks: []*schema.TCPCheck{{}}}})
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	kept := func() (n int, registered bool) {
		p.x.mu.Lock()
		defer p.x.mu.Unlock()
		for _, sp := range p.x.spare[0] {
			registered = registered || (p.x.running && sp.epgen == p.x.epgen)
		}
		return len(p.x.spare[0]), registered
	}
	check := func(s *Spec, want string) {
		t.Helper()
		if diff := cmp.Diff(want, outcome(p.Probe(context.Background(), s))); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	}
	check(ok, "ok")
	if n, registered := kept(); n != 1 || !registered {
		t.Fatalf("after an HTTP_GET: %d sockets kept (registered %v), want 1 registered", n, registered)
	}
	before := fds()
	for round := range 30 {
		check(ok, "ok")
		check(bad, "fail: GET /: status 503")
		check(tcp, "ok")
		if round%10 == 0 {
			check(hang, "fail: GET /: timeout")
		}
	}
	if n, _ := kept(); n < 1 || n > maxSpareSockets {
		t.Errorf("%d sockets kept, want 1 to %d", n, maxSpareSockets)
	}
	// The hanging server holds the 3 connections that timed out.
	if after := fds(); after > before+3+2 {
		t.Errorf("%d descriptors open after the checks, %d before", after, before)
	}

	// The loop ends when idle, and its epoll descriptor with it: the kept
	// socket is added to the next loop's.
	waitFor(t, 2*time.Second, "the idle loop to end", func() bool {
		p.x.mu.Lock()
		defer p.x.mu.Unlock()
		return !p.x.running
	})
	check(ok, "ok")
	check(bad, "fail: GET /: status 503")
}

// TestEventLoopTimersDoNotHoldUpExchanges: when hundreds of loop timers
// come due at once (a loop fallen behind on a busy machine), the loop
// still reads the news of the exchanges in flight between them, so that
// an HTTP_GET, which needs two rounds of the loop, does not time out
// behind them (see maxDueAtOnce). The first timer to fire starts the
// check; every timer then takes 2 ms, 600 ms in all, more than the check's
// timeout.
func TestEventLoopTimersDoNotHoldUpExchanges(t *testing.T) {
	p := &NetProber{}
	t.Cleanup(p.Close)
	s := httpOKSpec(t, 500*time.Millisecond)
	got := make(chan Result, 1)
	const timers = 300
	fired := make(chan struct{}, timers)
	var started atomic.Bool
	for range timers {
		if _, err := p.x.after(0, func() {
			if started.CompareAndSwap(false, true) {
				p.start(s, func(r Result) { got <- r })
			}
			time.Sleep(2 * time.Millisecond)
			fired <- struct{}{}
		}); err != nil {
			t.Fatal(err)
		}
	}
	for range timers {
		select {
		case <-fired:
		case <-time.After(5 * time.Second):
			t.Fatal("not every timer fired")
		}
	}
	if diff := cmp.Diff("ok", outcome(<-got)); diff != "" {
		t.Errorf("behind %d timers due at once (-want +got):\n%s", timers, diff)
	}
}

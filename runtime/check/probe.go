package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Result is the outcome of one attempt of one check.
type Result struct {
	// OK is true when the check passed.
	OK bool
	// Weight is the weight MISC_CHECK with misc_dynamic asks for (exit
	// status − 2); -1 leaves the weight as it is.
	Weight int
	// Reason says what happened, for status and logs: "ok", "connect
	// 192.0.2.5:80: connection refused", "GET /health: status 503".
	Reason string
}

func pass(format string, args ...any) Result {
	return Result{OK: true, Weight: -1, Reason: fmt.Sprintf(format, args...)}
}

func fail(format string, args ...any) Result {
	return Result{Weight: -1, Reason: fmt.Sprintf(format, args...)}
}

// Prober runs one attempt of a check. Probe must return by the time ctx is
// done; the Manager gives it a context that ends after s.Timeout().
type Prober interface {
	Probe(ctx context.Context, s *Spec) Result
}

// NetProber runs checks against real servers: TCP connections, HTTP(S)
// requests, SMTP dialogues and DNS queries over the network, and
// MISC_CHECK programs through Runner.
type NetProber struct {
	// Runner runs MISC_CHECK programs; nil means ExecRunner.
	Runner Runner

	x exchanger // the event loop of TCP_CHECK and HTTP_GET (Linux)
}

var _ Prober = (*NetProber)(nil)

// Probe implements Prober.
func (p *NetProber) Probe(ctx context.Context, s *Spec) Result {
	if p.canStart(s.Conn, s.Settings) {
		ch := make(chan Result, 1)
		p.start(s, func(r Result) { ch <- r })
		select {
		case r := <-ch:
			return r
		case <-ctx.Done():
			return fail("%s: %s", s.Name(), why(ctx.Err()))
		}
	}
	switch s.Kind {
	case KindTCP:
		return probeTCP(ctx, s)
	case KindHTTP, KindSSL:
		return probeHTTP(ctx, s)
	case KindSMTP:
		return probeSMTP(ctx, s)
	case KindDNS:
		return probeDNS(ctx, s)
	case KindMisc:
		r := p.Runner
		if r == nil {
			r = ExecRunner{}
		}
		return probeMisc(ctx, s, r)
	}
	return fail("unknown checker kind %q", s.Kind)
}

// canStart says whether the event loop can run a check to conn with
// settings st: TCP_CHECK and HTTP_GET (not SSL_GET) on Linux, to targets
// without an IPv6 zone.
func (p *NetProber) canStart(conn Conn, st *Settings) bool {
	return (st.Kind == KindTCP || (st.Kind == KindHTTP && len(st.URLs) > 0)) && p.x.supported(conn)
}

// start runs one attempt of s, which canStart accepts, on the NetProber's
// event loop and calls done with its result, once: from the loop's
// goroutine, or from start's caller when it fails at once. s must not
// change until then.
func (p *NetProber) start(s *Spec, done func(Result)) {
	p.exchange(s.Conn, s.Settings, 0, &probeAttempt{p: p, s: s, done: done})
}

// probeAttempt is an attempt of Probe on the event loop.
type probeAttempt struct {
	p    *NetProber
	s    *Spec
	url  int // the URL being fetched (HTTP_GET)
	done func(Result)
}

// exchanged implements exchangeDone.
func (a *probeAttempt) exchanged(reply []byte, err error) {
	r, next := exchangeResult(a.s.Conn, a.s.Settings, a.url, reply, err)
	if next {
		a.url++
		a.p.exchange(a.s.Conn, a.s.Settings, a.url, a)
		return
	}
	if r.OK && r.Reason == "" {
		r.Reason = a.s.passReason()
	}
	a.done(r)
}

// exchange starts, on the event loop, the exchange of an attempt of a
// check to conn with settings st (which canStart accepts): its connection
// for a TCP_CHECK, the fetch of URL url for an HTTP_GET. done is told how
// it ended, and gives it to exchangeResult.
//
// The Manager's checkers are their own exchangeDone, and keep what an
// attempt needs (the URL it is at): a check on the loop allocates nothing.
func (p *NetProber) exchange(conn Conn, st *Settings, url int, done exchangeDone) {
	if st.Kind != KindHTTP {
		p.x.start(conn, nil, false, nil, done)
		return
	}
	u := &st.URLs[url]
	complete := headerComplete
	if u.Digest != "" {
		complete = bodyComplete
	}
	if u.req != nil {
		p.x.start(conn, u.req, false, complete, done)
		return
	}
	p.x.start(conn, u.head, true, complete, done) // the loop adds the target
}

// exchangeResult is the result of an attempt (see exchange) whose exchange
// of URL url ended with reply and err; next says instead that the URL
// passed and the attempt goes on with the next one. The result of a
// TCP_CHECK that passed comes without its Reason, which names the target
// (Spec.passReason): the caller adds it, or not (the Manager makes it only
// when it is read), so that a check on the loop makes no string.
func exchangeResult(conn Conn, st *Settings, url int, reply []byte, err error) (r Result, next bool) {
	switch {
	case st.Kind != KindHTTP && err != nil:
		return fail("connect %s: %s", conn.Target, why(err)), false
	case st.Kind != KindHTTP:
		return Result{OK: true, Weight: -1}, false
	}
	if r = httpVerdict(&st.URLs[url], reply, err); !r.OK {
		return r, false
	}
	if url+1 < len(st.URLs) {
		return Result{}, true
	}
	s := Spec{Conn: conn, Settings: st}
	return s.passed(), false
}

// Close ends the checks running on the NetProber's event loop (their
// result is a failure, "stopped") and refuses new ones. Probe can still
// run checks of other kinds.
func (p *NetProber) Close() { p.x.close() }

// dial connects to c.Target from c's bind address within c.Timeout (and
// ctx). The returned conn has its deadline set to the same moment.
func dial(ctx context.Context, network string, c Conn) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	// No TCP keepalive: a check's connection lives for one request, and
	// setting the socket options costs on every one of many checks.
	d := net.Dialer{KeepAlive: -1}
	if c.BindAddr.IsValid() || c.BindPort != 0 {
		var ip net.IP
		if c.BindAddr.IsValid() {
			ip = c.BindAddr.AsSlice()
		}
		if c.BindPort != 0 {
			d.Control = reuseAddr
		}
		if network == "udp" {
			d.LocalAddr = &net.UDPAddr{IP: ip, Port: int(c.BindPort)}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: ip, Port: int(c.BindPort)}
		}
	}
	conn, err := d.DialContext(ctx, network, c.Target.String())
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with a reset, as keepalived does (see exchanger.start)
	}
	return conn, nil
}

// why shortens a network error for a Reason: "connection refused",
// "timeout".
func why(err error) string {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		s := op.Err.Error()
		if i := strings.LastIndex(s, ": "); i >= 0 {
			s = s[i+2:]
		}
		return s
	}
	return err.Error()
}

func probeTCP(ctx context.Context, s *Spec) Result {
	conn, err := dial(ctx, "tcp", s.Conn)
	if err != nil {
		return fail("connect %s: %s", s.Conn.Target, why(err))
	}
	conn.Close()
	return s.passed()
}

// deadline is now+d, or ctx's deadline if sooner.
func deadline(ctx context.Context, d time.Duration) time.Time {
	t := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return dl
	}
	return t
}

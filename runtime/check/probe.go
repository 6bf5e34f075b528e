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
	if p.canStart(s) {
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

// canStart says whether start can run s: TCP_CHECK and HTTP_GET (not
// SSL_GET) on Linux, to targets without an IPv6 zone.
func (p *NetProber) canStart(s *Spec) bool {
	return (s.Kind == KindTCP || (s.Kind == KindHTTP && len(s.URLs) > 0)) && p.x.supported(s.Conn)
}

// start runs one attempt of s, which canStart accepts, on the NetProber's
// event loop and calls done with its result, once: from the loop's
// goroutine, or from start's caller when it fails at once. s must not
// change until then.
func (p *NetProber) start(s *Spec, done func(Result)) {
	a := &attempt{p: p, to: &probeDone{s: s, f: done}}
	a.run(s)
}

// An attempt is one run of a check on the NetProber's event loop. The
// Manager keeps one in each checker and reuses it: a check on the loop
// allocates nothing.
type attempt struct {
	p   *NetProber
	s   *Spec
	url int // the URL being fetched (HTTP_GET)
	to  attemptDone
}

// attemptDone is given the result of an attempt. The result of a
// TCP_CHECK that passed comes without its Reason, which names the target
// (s.passReason()): the receiver adds it, so that a check on the loop
// makes no string (the Manager reuses the last attempt's).
type attemptDone interface {
	attempted(Result)
}

// probeDone gives the result of an attempt of s to f, with its Reason.
type probeDone struct {
	s *Spec
	f func(Result)
}

func (d *probeDone) attempted(r Result) {
	if r.OK && r.Reason == "" {
		r.Reason = d.s.passReason()
	}
	d.f(r)
}

// run starts the attempt of s; a's previous one must be over.
func (a *attempt) run(s *Spec) {
	a.s, a.url = s, 0
	a.next()
}

func (a *attempt) next() {
	s := a.s
	if s.Kind != KindHTTP {
		a.p.x.start(s.Conn, nil, false, nil, a)
		return
	}
	u := &s.URLs[a.url]
	complete := headerComplete
	if u.Digest != "" {
		complete = bodyComplete
	}
	if u.req != nil {
		a.p.x.start(s.Conn, u.req, false, complete, a)
		return
	}
	a.p.x.start(s.Conn, u.head, true, complete, a) // the loop adds the target
}

// exchanged implements exchangeDone.
func (a *attempt) exchanged(reply []byte, err error) {
	s := a.s
	var r Result
	switch {
	case s.Kind != KindHTTP && err != nil:
		r = fail("connect %s: %s", s.Conn.Target, why(err))
	case s.Kind != KindHTTP:
		r = Result{OK: true, Weight: -1} // the Reason is a.to's to add (see attemptDone)
	default:
		if r = httpVerdict(&s.URLs[a.url], reply, err); r.OK {
			if a.url+1 < len(s.URLs) {
				a.url++
				a.next()
				return
			}
			r = s.passed()
		}
	}
	a.s = nil
	a.to.attempted(r)
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

package check

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The exchanger runs plain TCP exchanges (connect, write a request, read a
// reply) on one epoll loop in one goroutine, with raw non-blocking
// sockets. At thousands of checks a second this is what keeps the health
// checker's CPU with keepalived's: a check through the net package costs a
// goroutine that grows its stack, a dial context and nine system calls
// (socket, connect, epoll_ctl twice, getsockopt, setsockopt for
// TCP_NODELAY, getsockname, getpeername, close); here a TCP check is
// socket, SO_LINGER, connect, epoll_ctl and close, with the loop's polls,
// timerfd and wake-ups shared by all the checks in flight (about seven
// system calls a check in all at 200 checks a second).

// exchangeIdle is how long the loop waits without any exchange in flight
// before it ends (and closes its epoll descriptor); the next exchange
// starts it again.
const exchangeIdle = 2 * time.Second

// maxTimerSlack bounds how early a loop timer may fire to share a
// wake-up with one that is due: a hundredth of the timer's delay, at most
// 10 ms. At a few hundred checks a second on 10 s loops, that is two wake-ups
// (each a timerfd setting and expiry, polls and the scheduler's netpoll)
// in three; a check a few milliseconds early changes nothing keepalived's
// semantics promise, and only shortens the time to notice a failure.
const maxTimerSlack = 10 * time.Millisecond

// maxDueAtOnce is the most loop timers that fire in one round of the loop.
// A timer's callback starts a check (a few system calls, a millisecond of
// a slow machine's CPU); when the loop falls behind (the machine busy),
// hundreds come due at once, and the exchanges in flight would wait for
// all of them before the loop reads their news again. An HTTP_GET needs
// two rounds (its request written, its reply read): rounds of half a
// second timed it out.
const maxDueAtOnce = 32

// An exchange is one connection of the loop.
type exchange struct {
	fd       int
	fam      int8   // 0: IPv4, 1: IPv6 (an index of exchanger.spare)
	keep     bool   // the socket may be kept for another exchange (see releaseLocked)
	gen      uint32 // see deadlineEntry; also in the socket's epoll data
	deadline time.Time
	req      []byte // left to write; nil once written, or for a bare connect
	own      []byte // a request built here (see start's hostReq)
	reading  bool   // connected and written: reading the reply
	reply    []byte
	complete func(reply []byte) bool // nil: connect only
	done     exchangeDone
	err      error
	finished bool
}

// timerTarget is what a loopTimer calls. An interface rather than a func:
// the checkers that implement it keep their timer, so that a checker's
// timer allocates no closure.
type timerTarget interface {
	timerFired()
}

// timerFunc makes a func a timerTarget.
type timerFunc func()

func (f timerFunc) timerFired() { f() }

// exchangeDone is told how an exchange ended. An interface rather than a
// func: the Manager's checkers implement it, so that a check allocates no
// closure.
type exchangeDone interface {
	exchanged(reply []byte, err error)
}

// maxKeptReply bounds the reply buffer an exchange keeps for the next one.
const maxKeptReply = 4 << 10

// A deadlineEntry is an exchange's deadline (t nil) or a timer's due time
// in the loop's heap. Entries are not removed when their exchange ends or
// their timer is stopped: gen tells a live entry from a stale one.
//
// There is an entry for every checker's timer: an entry is kept at 24
// bytes. at is in nanoseconds since the exchanger's epoch (see
// monoLocked), an int64 rather than a time.Time, which is three words.
// gen has 32 bits: a stale entry would pass for a live one only if its
// exchange's descriptor, or its timer, came round to the same gen before
// the entry's time, 2^32 exchanges or arms of the timer later (at 100,000
// checks a second, half a day of exchanges within one connect_timeout; a
// checker arms its timer once an attempt, and leaves stale entries only
// when it is stopped for good).
type deadlineEntry struct {
	at int64
	t  *loopTimer
	// n is the exchange's descriptor, or how early the timer may fire,
	// in nanoseconds (see maxTimerSlack): in the entry rather than the
	// timer, to keep the checkers that hold a timer in a smaller size
	// class.
	n   int32
	gen uint32
}

// loopTimer is a timer run by the loop: its target is called on the
// loop's goroutine, which is where the checks it starts run too, so a
// check costs no goroutine and no wake-up of another thread. The Manager
// keeps one in each checker (see startTimer), and stops and resets it
// through the exchanger (stopTimer, resetTimer): a timer that held its
// exchanger would be a word more in each checker.
type loopTimer struct {
	to      timerTarget
	gen     uint32 // see deadlineEntry
	pending bool
}

// inUse says whether t was started (and so is the loop's to stop and
// reset).
func (t *loopTimer) inUse() bool { return t.to != nil }

// stopTimer stops t, started by startTimer, and says whether it was
// pending.
func (x *exchanger) stopTimer(t *loopTimer) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	was := t.pending
	if was {
		t.pending = false
		x.timers--
	}
	t.gen++
	return was
}

// resetTimer arms t, started by startTimer, to fire after d, and says
// whether it was pending.
func (x *exchanger) resetTimer(t *loopTimer, d time.Duration) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	was := t.pending
	if was {
		x.timers--
	}
	x.armLocked(t, d)
	return was
}

// deadlines is a binary min-heap on at. Its own, not container/heap's:
// that one boxes every entry pushed and popped in an interface, an
// allocation for every check.
type deadlines []deadlineEntry

func (h *deadlines) push(d deadlineEntry) {
	*h = append(*h, d)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if q[i].at >= q[parent].at {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

// pop removes and returns the earliest entry; h must not be empty.
func (h *deadlines) pop() deadlineEntry {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = deadlineEntry{}
	q = q[:last]
	*h = q
	q.down(0)
	return top
}

func (h deadlines) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && h[r].at < h[l].at {
			j = r
		}
		if h[j].at >= h[i].at {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// init restores the heap order of h.
func (h deadlines) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// exchanger is the loop. Its zero value is ready; it starts its goroutine
// with the first exchange and ends it after exchangeIdle without one.
type exchanger struct {
	idle time.Duration // 0: exchangeIdle; tests shorten it
	// viaLoop leaves every connect to the loop, as one to a distant
	// server is: tests set it to run a bare connect to this host there.
	viaLoop bool

	mu      sync.Mutex
	running bool
	closed  bool
	epfd    int
	tfd     int       // timerfd in epfd: wakes the loop at sleep
	armed   time.Time // what tfd is set to
	sleep   time.Time // when the loop looks at the heap next
	epoch   time.Time // the origin of the heap's times (see monoLocked)
	gen     uint32    // see deadlineEntry
	conns   map[int]*exchange
	free    []*exchange // ended exchanges, for the next ones
	heap    deadlines
	timers  int  // pending loop timers
	calling bool // the loop is calling back: it looks at the heap again before it sleeps
	// spare are disconnected sockets, IPv4 and IPv6, for the next
	// exchanges (see keepLocked).
	spare [2][]spareSocket
	// epgen counts the loop's epoll descriptors: a spare socket
	// registered in the current one is modified there, not added.
	epgen uint32
}

// spareSocket is a disconnected socket kept for another exchange.
type spareSocket struct {
	fd    int
	epgen uint32 // the epoll descriptor it is registered in; 0: none
}

var errStopped = errors.New("stopped")

// supported says whether the loop can run a connection to c: a target
// without an IPv6 zone.
func (x *exchanger) supported(c Conn) bool {
	return c.Target.Addr().Zone() == "" && c.BindAddr.Zone() == ""
}

// start connects to c.Target (from c's bind address) and, when req is not
// empty, writes req (with hostReq, req followed by c.Target and
// requestTail) and reads the reply until complete says it is whole
// or the peer closes; all within c.Timeout. done.exchanged is called exactly once,
// from the loop's goroutine or (for an immediate failure, or a bare
// connect connected at once) from start's caller, with the reply so far
// and the error that ended it, if any: a
// *net.OpError for a system call, os.ErrDeadlineExceeded for the timeout,
// errStopped after close. complete must be nil for a bare connect.
func (x *exchanger) start(c Conn, req []byte, hostReq bool, complete func([]byte) bool, done exchangeDone) {
	family, fam := unix.AF_INET6, 1
	if c.Target.Addr().Unmap().Is4() {
		family, fam = unix.AF_INET, 0
	}
	bare := len(req) == 0 && complete == nil
	bound := c.BindAddr.IsValid() || c.BindPort != 0
	sp := spareSocket{fd: -1}
	if !bound {
		sp = x.takeSpare(fam)
	}
	fd := sp.fd
	if fd < 0 {
		var err error
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			done.exchanged(nil, opError("socket", c, err))
			return
		}
		// As keepalived does: close with a reset, so that no check
		// leaves a TIME_WAIT socket behind on the balancer (10,000
		// checks a second would keep 600,000 of them).
		if err := sysLingerZero(fd); err != nil {
			sysClose(fd)
			done.exchanged(nil, opError("setsockopt", c, err))
			return
		}
	}
	if bound {
		if err := bindSocket(fd, family, c); err != nil {
			sysClose(fd)
			done.exchanged(nil, err)
			return
		}
	}
	connected := false
	switch err := sysConnect(fd, c.Target); err {
	case nil:
		connected = true
	case unix.EINPROGRESS:
		if !bare || x.viaLoop {
			break // the loop sees EPOLLOUT when it is connected
		}
		// To a real server on this host (or as near), the handshake is
		// over by the time connect returns. Asking again says so, or
		// that it failed, without a trip through epoll: at a thousand
		// checks a second that trip (epoll_ctl, a wait, a wakeup of the
		// loop) is a good part of a TCP_CHECK's cost. EALREADY: still in
		// progress.
		switch err := sysConnect(fd, c.Target); err {
		case nil:
			connected = true
		case unix.EALREADY:
		default:
			sysClose(fd)
			done.exchanged(nil, opError("dial", c, err))
			return
		}
	default:
		sysClose(fd)
		done.exchanged(nil, opError("dial", c, err))
		return
	}
	if connected && bare && !x.viaLoop {
		// A bare connect is done when it is connected. Its socket is
		// reset and kept for the next one (see keepLocked).
		x.mu.Lock()
		kept := !bound && x.keepLocked(fam, spareSocket{fd: fd, epgen: sp.epgen})
		closed := x.closed
		x.mu.Unlock()
		if !kept {
			sysClose(fd)
		}
		if closed {
			done.exchanged(nil, errStopped)
		} else {
			done.exchanged(nil, nil)
		}
		return
	}
	deadline := time.Now().Add(c.Timeout)
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		sysClose(fd)
		done.exchanged(nil, errStopped)
		return
	}
	if err := x.runLocked(); err != nil {
		x.mu.Unlock()
		sysClose(fd)
		done.exchanged(nil, err)
		return
	}
	var e *exchange
	if n := len(x.free); n > 0 {
		e = x.free[n-1]
		x.free[n-1] = nil
		x.free = x.free[:n-1]
	} else {
		e = new(exchange)
	}
	x.gen++
	*e = exchange{fd: fd, fam: int8(fam), keep: !bound, gen: x.gen, deadline: deadline, reply: e.reply[:0], own: e.own[:0], complete: complete, done: done}
	switch {
	case hostReq:
		// req is the head of an HTTP request whose Host is the target
		// (see requestHead): the rest goes after it in e's own buffer.
		e.own = append(c.Target.AppendTo(append(e.own, req...)), requestTail...)
		e.req = e.own
	case len(req) > 0:
		e.req = req
	}
	x.conns[fd] = e
	x.heap.push(deadlineEntry{at: x.monoLocked(e.deadline), n: int32(fd), gen: e.gen})
	// The event's data holds the exchange's generation beside the
	// descriptor: an event the loop took from a socket before it was
	// kept and used again (its reset, say) is then not this exchange's.
	// A kept socket registered in this epoll descriptor is modified,
	// which also reports what is ready now, as adding does.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd), Pad: int32(e.gen)}
	op := unix.EPOLL_CTL_ADD
	if sp.fd >= 0 && sp.epgen == x.epgen {
		op = unix.EPOLL_CTL_MOD
	}
	if err := unix.EpollCtl(x.epfd, op, fd, &ev); err != nil {
		delete(x.conns, fd)
		x.mu.Unlock()
		sysClose(fd)
		done.exchanged(nil, fmt.Errorf("epoll_ctl: %w", err))
		return
	}
	x.wakeAtLocked(e.deadline)
	x.mu.Unlock()
}

// maxSpareSockets is how many sockets of each family the exchanger keeps
// for the next exchanges.
const maxSpareSockets = 16

// takeSpare returns a socket of family fam (0: IPv4, 1: IPv6) kept by
// keepLocked, or one with fd -1 if there is none.
func (x *exchanger) takeSpare(fam int) spareSocket {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := len(x.spare[fam])
	if n == 0 || x.closed {
		return spareSocket{fd: -1}
	}
	sp := x.spare[fam][n-1]
	x.spare[fam] = x.spare[fam][:n-1]
	return sp
}

// keepLocked disconnects sp, a socket of family fam that no exchange
// uses, and keeps it for another exchange, or reports false (the caller
// closes it). Disconnecting resets the connection, as closing with
// SO_LINGER 0 does, and leaves the socket as socket and setsockopt made
// it: an exchange that reuses it saves both, and close.
func (x *exchanger) keepLocked(fam int, sp spareSocket) bool {
	if x.closed || len(x.spare[fam]) >= maxSpareSockets || sysDisconnect(sp.fd) != nil {
		return false
	}
	x.spare[fam] = append(x.spare[fam], sp)
	return true
}

// releaseLocked ends e's socket: kept for another exchange, still
// registered in the loop's epoll descriptor, if it may be and there is
// room; else closed.
func (x *exchanger) releaseLocked(e *exchange) {
	if !e.keep || !x.keepLocked(int(e.fam), spareSocket{fd: e.fd, epgen: x.epgen}) {
		sysClose(e.fd)
	}
}

// after returns a timer calling f on the loop's goroutine after d. f must
// not block: every check on the loop waits for it. After close, the timer
// never fires.
func (x *exchanger) after(d time.Duration, f func()) (*loopTimer, error) {
	t := &loopTimer{}
	if err := x.startTimer(t, d, timerFunc(f)); err != nil {
		return nil, err
	}
	return t, nil
}

// startTimer is after for a timer t kept by the caller, which must not
// be pending (the zero loopTimer, or one stopped or fired), calling
// to.timerFired: no allocation.
func (x *exchanger) startTimer(t *loopTimer, d time.Duration, to timerTarget) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		t.to = to
		t.gen++ // as armLocked would: not pending
		return nil
	}
	if err := x.runLocked(); err != nil {
		return err
	}
	t.to = to
	x.armLocked(t, d)
	return nil
}

func (x *exchanger) armLocked(t *loopTimer, d time.Duration) {
	t.gen++
	if x.closed {
		t.pending = false
		return
	}
	t.pending = true
	x.timers++
	at := time.Now().Add(d)
	x.heap.push(deadlineEntry{at: x.monoLocked(at), gen: t.gen, t: t, n: int32(min(maxTimerSlack, d/100))})
	x.wakeAtLocked(at)
}

// monoLocked is t in the heap's terms: nanoseconds since x.epoch, on the
// monotonic clock (t must have a monotonic reading, as time.Now's have).
func (x *exchanger) monoLocked(t time.Time) int64 {
	if x.epoch.IsZero() {
		x.epoch = time.Now()
	}
	return int64(t.Sub(x.epoch))
}

// timeLocked is the inverse of monoLocked.
func (x *exchanger) timeLocked(at int64) time.Time {
	return x.epoch.Add(time.Duration(at))
}

func bindSocket(fd, family int, c Conn) error {
	if c.BindPort != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return opError("setsockopt", c, err)
		}
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		var a [4]byte
		if c.BindAddr.IsValid() {
			a = c.BindAddr.Unmap().As4()
		}
		sa = &unix.SockaddrInet4{Port: int(c.BindPort), Addr: a}
	} else {
		var a [16]byte
		if c.BindAddr.IsValid() {
			a = c.BindAddr.As16()
		}
		sa = &unix.SockaddrInet6{Port: int(c.BindPort), Addr: a}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return opError("bind", c, err)
	}
	return nil
}

// opError wraps a system call's error as the net package does, so that
// why() shortens it the same way: "connection refused".
func opError(op string, c Conn, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: net.TCPAddrFromAddrPort(c.Target), Err: os.NewSyscallError(op, err)}
}

// runLocked starts the loop if it is not running.
//
// The loop's goroutine waits for its epoll descriptor through Go's network
// poller (the descriptor is readable when a connection has news, or when
// the loop's timerfd, armed for the heap's next time, expires): it parks
// in the scheduler between events. Blocking a thread in epoll_wait instead
// has the runtime take the processor away during every wait and, since a
// goroutine that only makes system calls never passes through the
// scheduler, preempt it with a signal every 10 ms. A timerfd rather than a
// read deadline keeps Go's timers out of it: moving one earlier wakes the
// thread sleeping in the network poller, two system calls and a futex
// wake-up per check.
func (x *exchanger) runLocked() error {
	if x.running {
		return nil
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return fmt.Errorf("epoll descriptor: %w", err)
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return fmt.Errorf("timerfd_create: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(tfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, tfd, &ev); err != nil {
		unix.Close(tfd)
		unix.Close(epfd)
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		unix.Close(tfd)
		return fmt.Errorf("epoll descriptor: %w", err)
	}
	x.epfd, x.tfd, x.armed, x.running = epfd, tfd, time.Time{}, true
	x.epgen++
	if x.conns == nil {
		x.conns = map[int]*exchange{}
	}
	go x.loop(f, rc, epfd, tfd)
	return nil
}

// wakeAtLocked makes the loop look at its heap again by t at the latest.
func (x *exchanger) wakeAtLocked(t time.Time) {
	if x.running && !x.calling && (x.sleep.IsZero() || t.Before(x.sleep)) {
		x.sleep = t
		x.armLoopLocked(t)
	}
}

// armLoopLocked sets the loop's timerfd to expire at t, unless it already
// does.
func (x *exchanger) armLoopLocked(t time.Time) {
	if t.Equal(x.armed) {
		return
	}
	x.armed = t
	d := max(time.Until(t), 1) // 0 would disarm it
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	_ = unix.TimerfdSettime(x.tfd, 0, &spec, nil)
}

// close ends every exchange in flight with errStopped and refuses new
// ones.
func (x *exchanger) close() {
	x.mu.Lock()
	x.closed = true
	var ended []*exchange
	for fd, e := range x.conns {
		sysClose(fd)
		delete(x.conns, fd)
		e.err = errStopped
		ended = append(ended, e)
	}
	for _, d := range x.heap {
		if d.t != nil {
			d.t.pending = false
		}
	}
	x.heap = nil
	x.free = nil
	for i, sps := range x.spare {
		for _, sp := range sps {
			sysClose(sp.fd)
		}
		x.spare[i] = nil
	}
	x.timers = 0
	x.calling = false
	x.wakeAtLocked(time.Now())
	x.mu.Unlock()
	for _, e := range ended {
		e.done.exchanged(e.reply, e.err)
	}
}

func (x *exchanger) loop(f *os.File, rc syscall.RawConn, epfd, tfd int) {
	events := make([]unix.EpollEvent, 256)
	var scratch [16 << 10]byte
	var ended []*exchange
	var due []timerTarget
	idle := x.idle
	if idle <= 0 {
		idle = exchangeIdle
	}
	idleSince := time.Now()
	// What the poller calls when epfd is readable: made once, not at
	// every park (a closure passed on is an allocation).
	var n int
	var err error
	poll := func(uintptr) bool {
		n, err = epollNow(epfd, events)
		return n > 0 || err != nil // false: park
	}
	for {
		x.mu.Lock()
		now := time.Now()
		if len(x.conns) == 0 && x.timers == 0 {
			x.heap = x.heap[:0] // stale entries only
		}
		switch {
		case x.closed || (len(x.conns) == 0 && x.timers == 0 && now.Sub(idleSince) >= idle):
			x.running = false
			x.sleep = time.Time{}
			x.mu.Unlock()
			f.Close()
			sysClose(tfd)
			return
		case x.popStaleLocked():
			x.sleep = x.timeLocked(x.heap[0].at)
		default:
			x.sleep = idleSince.Add(idle)
		}
		sleep := x.sleep
		x.mu.Unlock()

		// Whatever is ready now; if nothing is and nothing is due, park
		// until epfd is readable: a connection has news or the timerfd
		// (which start, after and close may bring forward meanwhile)
		// expires.
		n, err = 0, nil
		if sleep.After(now) {
			x.mu.Lock()
			x.armLoopLocked(x.sleep)
			x.mu.Unlock()
			// Poll first: RawRead forgets readiness the poller saw
			// before it was called.
			if rerr := rc.Read(poll); rerr != nil {
				err = rerr
			}
		} else {
			n, err = epollNow(epfd, events)
		}
		if err != nil {
			// Cannot happen with valid arguments; end everything rather
			// than spin.
			x.close()
			continue
		}

		x.mu.Lock()
		for {
			for _, ev := range events[:max(0, n)] {
				fd := int(ev.Fd)
				if fd == tfd {
					var b [8]byte
					_, _ = sysRead(tfd, b[:]) // clear the expiry
					x.armed = time.Time{}
					continue
				}
				e := x.conns[fd]
				if e == nil || uint32(ev.Pad) != e.gen {
					continue // a kept socket's, or one used again since
				}
				e.progress(ev.Events, scratch[:])
				if e.finished {
					x.releaseLocked(e)
					delete(x.conns, fd)
					ended = append(ended, e)
				}
			}
			// A full batch may have left ready connections behind: take
			// them too before deadlines are enforced. After a pause of
			// the loop (the machine busy) more than a batch can be ready,
			// and a connection that answered in time but was not read
			// yet must not fail for the pause: with retry 0 its real
			// server would go down, and a busy machine would flap
			// hundreds of them.
			if n < len(events) {
				break
			}
			if n, err = epollNow(epfd, events); err != nil || n <= 0 {
				break
			}
		}
		now = time.Now()
		// Timers due within their slack fire with those due now: one
		// wake-up for several checks. Deadlines are kept exactly.
		nowAt := x.monoLocked(now)
		for len(x.heap) > 0 && (x.heap[0].at <= nowAt || (x.heap[0].t != nil && x.heap[0].at <= nowAt+int64(x.heap[0].n))) {
			if x.heap[0].t != nil && len(due) == maxDueAtOnce {
				// The rest after the connections' news: see
				// maxDueAtOnce. The loop does not sleep while they are
				// due.
				break
			}
			d := x.heap.pop()
			if t := d.t; t != nil {
				if t.pending && t.gen == d.gen {
					t.pending = false
					x.timers--
					due = append(due, t.to)
				}
				continue
			}
			if e := x.conns[int(d.n)]; e != nil && e.gen == d.gen {
				e.err = os.ErrDeadlineExceeded
				x.releaseLocked(e)
				delete(x.conns, int(d.n))
				ended = append(ended, e)
			}
		}
		if len(x.conns) == 0 && (len(ended) > 0 || len(due) > 0) {
			idleSince = now
		}
		// Entries of finished exchanges and stopped timers stay in the
		// heap until their time; drop them when they dominate it.
		if len(x.heap) > 64 && len(x.heap) > 4*(len(x.conns)+x.timers) {
			x.compactLocked()
		}
		calling := len(ended) > 0 || len(due) > 0
		x.calling = calling
		x.mu.Unlock()
		for _, e := range ended {
			e.done.exchanged(e.reply, e.err)
		}
		for i, to := range due {
			to.timerFired()
			due[i] = nil
		}
		due = due[:0]
		if calling {
			x.mu.Lock()
			x.calling = false
			for i, e := range ended {
				x.recycleLocked(e)
				ended[i] = nil
			}
			x.mu.Unlock()
		}
		ended = ended[:0]
	}
}

// recycleLocked keeps e, whose done has returned, for a later exchange.
func (x *exchanger) recycleLocked(e *exchange) {
	reply, own := e.reply[:0], e.own[:0]
	if cap(reply) > maxKeptReply {
		reply = nil
	}
	if cap(own) > maxKeptReply {
		own = nil
	}
	*e = exchange{reply: reply, own: own}
	if len(x.free) < 1024 {
		x.free = append(x.free, e)
	}
}

// popStaleLocked drops the entries of finished exchanges and stopped
// timers from the top of the heap, so that the loop does not wake up for
// them, and reports whether an entry is left.
func (x *exchanger) popStaleLocked() bool {
	for len(x.heap) > 0 && !x.liveLocked(x.heap[0]) {
		x.heap.pop()
	}
	return len(x.heap) > 0
}

func (x *exchanger) liveLocked(d deadlineEntry) bool {
	if t := d.t; t != nil {
		return t.pending && t.gen == d.gen
	}
	e := x.conns[int(d.n)]
	return e != nil && e.gen == d.gen
}

func (x *exchanger) compactLocked() {
	live := x.heap[:0]
	for _, d := range x.heap {
		if x.liveLocked(d) {
			live = append(live, d)
		}
	}
	clear(x.heap[len(live):])
	x.heap = live
	x.heap.init()
}

// progress advances e on the events epoll reported, setting e.finished
// (with e.err) when it is over.
func (e *exchange) progress(events uint32, scratch []byte) {
	if !e.reading && e.req == nil && e.complete != nil {
		// Written already (an empty request); fall through to reading.
		e.reading = true
	}
	if !e.reading {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		// Writable without EPOLLERR or EPOLLHUP is connected (tcp_poll
		// sets EPOLLERR with any socket error): SO_ERROR is read only
		// when the connect failed, for its reason.
		if events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			if err := sysSoError(e.fd); err != nil {
				e.fail("dial", err)
				return
			}
		}
		if e.complete == nil {
			e.finished = true // a bare connect: done
			return
		}
		for len(e.req) > 0 {
			n, err := sysWrite(e.fd, e.req)
			if err == unix.EAGAIN {
				return // the rest on the next EPOLLOUT
			}
			if err != nil {
				e.fail("write", err)
				return
			}
			e.req = e.req[n:]
		}
		e.reading = true
		if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
			// No reply can be in yet; its arrival is a new edge.
			return
		}
	}
	for {
		n, err := sysRead(e.fd, scratch)
		switch {
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR:
			continue
		case err != nil:
			e.fail("read", err)
			return
		case n == 0:
			e.finished = true // the peer closed: complete or not, the reply is all there is
			return
		}
		e.reply = append(e.reply, scratch[:n]...)
		if e.complete(e.reply) {
			e.finished = true
			return
		}
	}
}

func (e *exchange) fail(op string, err error) {
	e.err = &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, err)}
	e.finished = true
}

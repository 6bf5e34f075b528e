// Package check is hacfg's health checker: keepalived's checker process as
// a library. It runs the checks a virtual server declares for its real
// servers (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, MISC_CHECK)
// and publishes what it learns as facts, runtime.Health per real server and
// a quorum boolean per virtual server, for the reconciler to turn into IPVS
// changes scoped to that one virtual server. It never touches the kernel.
//
// keepalived's semantics are kept keyword for keyword (keepalived.conf(5),
// 2.2.7):
//
//   - A check that fails while its checker is up is retried retry times,
//     delay_before_retry apart; only then is the checker down. A success
//     marks it up at once. A failing checker that is already down is tried
//     again every delay_loop.
//   - The next check starts delay_loop (or delay_before_retry while
//     retrying) after the previous one started.
//   - The first check starts after a random delay up to warmup, which
//     defaults to delay_loop: this spreads 10,000 checks over the loop
//     instead of firing them in one burst.
//   - alpha: checkers start down, so a real server receives traffic only
//     once every one of its checks has passed. Without alpha they start up.
//   - A real server is up when all its checkers are up; one without
//     checkers is always up.
//   - MISC_CHECK with misc_dynamic: exit 0 is up with the weight unchanged,
//     1 is down, 2–255 is up with weight = code − 2.
//   - Quorum: the sum of the weights of the up real servers; quorum is lost
//     when it drops below quorum − hysteresis (or to 0) and regained when it
//     reaches quorum + hysteresis. quorum_up / quorum_down run on changes,
//     notify_up / notify_down when a real server changes state, each as its
//     configured command line (keepalived adds no arguments).
//   - ha_suspend: a virtual server with ha_suspend (and an address, not a
//     fwmark) starts suspended; its checks are skipped until the agent calls
//     Suspend(name, false) because the node holds the address.
//   - omega: on Stop, notify_down runs for every up real server and
//     quorum_down for every virtual server holding quorum.
//
// Defaults keepalived applies per checker type (which schema.Resolve leaves
// to this package): connect_timeout 5s; retry 1, but 3 for DNS_CHECK and 0
// for MISC_CHECK; delay_before_retry 1s, but 3s for HTTP_GET/SSL_GET and
// delay_loop for DNS_CHECK; misc_timeout delay_loop; DNS type SOA, name ".".
//
// The Manager schedules the checks with bounded concurrency (a semaphore),
// a hard timeout per check, and an injected runtime.Clock. The probes are
// behind the Prober interface: NetProber speaks to real servers over the
// network, while tests can drive results deterministically.
//
// On Linux, NetProber runs TCP_CHECK and HTTP_GET on one event loop, as
// keepalived's checker does: raw non-blocking sockets in an epoll set, a
// timerfd for the next deadline, and (with the system clock) the checks'
// own timers on the loop's heap, so that a check costs no goroutine and
// about the system calls it needs (connect, epoll_ctl, SO_ERROR on a
// failure; a write and a read for HTTP). Connections end with a reset, as
// keepalived's do: no TIME_WAIT socket per check on the balancer. The
// reset is a disconnect (connect to AF_UNSPEC), not a close: the socket,
// still registered in the epoll set, is kept for the next check, which
// saves socket, setsockopt and close. A TCP_CHECK whose handshake is over
// when connect returns (a real server on this host, or as near) does not
// go through the loop at all. The loop's goroutine parks in Go's scheduler
// between events, its epoll descriptor waited on through the network
// poller. SSL_GET, SMTP_CHECK, DNS_CHECK and MISC_CHECK go through the net
// package and os/exec.
//
// A reload (Manager.Update) keeps the state and the schedule of every
// checker whose configuration did not change, so unchanged real servers do
// not flap; changed checkers start afresh.
package check

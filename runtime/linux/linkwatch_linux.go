package linux

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

// LinkWatcher is runtime.LinkWatcher on the links of one network
// namespace, fed by an rtnetlink RTNLGRP_LINK subscription. It is safe for
// concurrent use.
//
// When the subscription fails (for example ENOBUFS after a burst the
// consumer did not drain), the watcher subscribes again, lists the links
// and reports every difference from what it last reported, deletions
// included, so no state change is lost for good.
type LinkWatcher struct {
	log    *slog.Logger
	ns     netns.NsHandle
	h      *netlink.Handle
	events chan runtime.LinkEvent
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

var _ runtime.LinkWatcher = (*LinkWatcher)(nil)

// linkWatchRetry is the pause before subscribing again after a failure.
const linkWatchRetry = 100 * time.Millisecond

// OpenLinkWatcher subscribes to link changes in the network namespace at
// netnsPath (for example /var/run/netns/lb1), or in the current namespace
// when netnsPath is empty.
//
// Equivalent to: ip -n NS monitor link
func OpenLinkWatcher(netnsPath string, log *slog.Logger) (*LinkWatcher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns := netns.None()
	if netnsPath != "" {
		var err error
		ns, err = netns.GetFromPath(netnsPath)
		if err != nil {
			return nil, fmt.Errorf("linkwatch: open network namespace %s: %w", netnsPath, err)
		}
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, wrap("linkwatch: open", err)
	}
	w := &LinkWatcher{
		log:    log,
		ns:     ns,
		h:      h,
		events: make(chan runtime.LinkEvent, 64),
		done:   make(chan struct{}),
	}
	updates, subDone, err := w.subscribe()
	if err != nil {
		h.Close()
		ns.Close()
		return nil, err
	}
	seen, err := w.list()
	if err != nil {
		close(subDone)
		h.Close()
		ns.Close()
		return nil, err
	}
	state := make(map[int]runtime.LinkEvent, len(seen))
	for _, ev := range seen {
		state[ev.Index] = ev
	}
	w.wg.Add(1)
	go w.run(state, updates, subDone)
	return w, nil
}

// subscribe opens a link subscription; closing the returned done channel
// ends it.
func (w *LinkWatcher) subscribe() (chan netlink.LinkUpdate, chan struct{}, error) {
	updates := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	ns := w.ns
	err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		Namespace:         &ns,
		ReceiveBufferSize: 1 << 20,
		ErrorCallback: func(err error) {
			select {
			case <-w.done: // Close ends the subscription with an error
			case <-done:
			default:
				w.log.Warn("linkwatch: subscription error, resubscribing", "err", err)
			}
		},
	})
	if err != nil {
		return nil, nil, wrap("linkwatch: subscribe", err)
	}
	return updates, done, nil
}

// list returns the state of every link.
func (w *LinkWatcher) list() ([]runtime.LinkEvent, error) {
	var ls []netlink.Link
	err := retryDump(func() error {
		var err error
		ls, err = w.h.LinkList()
		return err
	})
	if err != nil {
		return nil, wrap("linkwatch: list links", err)
	}
	out := make([]runtime.LinkEvent, 0, len(ls))
	for _, l := range ls {
		a := l.Attrs()
		out = append(out, runtime.LinkEvent{Name: a.Name, Index: a.Index, Up: flagsUp(a.RawFlags)})
	}
	slices.SortFunc(out, func(a, b runtime.LinkEvent) int { return a.Index - b.Index })
	return out, nil
}

// flagsUp is keepalived's IF_FLAGS_UP: IFF_UP and IFF_RUNNING.
func flagsUp(raw uint32) bool {
	return raw&unix.IFF_UP != 0 && raw&unix.IFF_RUNNING != 0
}

// Links returns the current state of every link.
//
// Equivalent to: ip -n NS link show
func (w *LinkWatcher) Links() ([]runtime.LinkEvent, error) { return w.list() }

// Events delivers link changes; it is closed by Close.
func (w *LinkWatcher) Events() <-chan runtime.LinkEvent { return w.events }

// Close ends the subscription and closes Events.
func (w *LinkWatcher) Close() error {
	w.once.Do(func() {
		close(w.done)
		w.wg.Wait()
		close(w.events)
		w.h.Close()
		w.ns.Close()
	})
	return nil
}

// run reads the subscription, reports changes, and resubscribes after a
// failure.
func (w *LinkWatcher) run(state map[int]runtime.LinkEvent, updates chan netlink.LinkUpdate, subDone chan struct{}) {
	defer w.wg.Done()
	for {
		if !w.consume(state, updates) {
			close(subDone)
			return
		}
		close(subDone)
		// The subscription died: resubscribe, then resynchronise.
		for {
			select {
			case <-w.done:
				return
			case <-time.After(linkWatchRetry):
			}
			var err error
			updates, subDone, err = w.subscribe()
			if err != nil {
				w.log.Warn("linkwatch: resubscribe failed", "err", err)
				continue
			}
			if !w.resync(state) {
				close(subDone)
				return
			}
			break
		}
	}
}

// consume reports the updates until the subscription ends (true) or the
// watcher is closed (false).
func (w *LinkWatcher) consume(state map[int]runtime.LinkEvent, updates chan netlink.LinkUpdate) bool {
	for {
		select {
		case <-w.done:
			return false
		case u, ok := <-updates:
			if !ok {
				return true
			}
			a := u.Link.Attrs()
			ev := runtime.LinkEvent{Name: a.Name, Index: a.Index, Up: flagsUp(u.IfInfomsg.Flags)}
			if u.Header.Type == unix.RTM_DELLINK {
				ev.Up, ev.Deleted = false, true
			}
			if !w.apply(state, ev) {
				return false
			}
		}
	}
}

// resync lists the links and reports every difference from state.
func (w *LinkWatcher) resync(state map[int]runtime.LinkEvent) bool {
	now, err := w.list()
	if err != nil {
		w.log.Warn("linkwatch: resync list failed", "err", err)
		return true // the subscription still reports changes
	}
	present := make(map[int]bool, len(now))
	for _, ev := range now {
		present[ev.Index] = true
	}
	gone := make([]int, 0)
	for idx := range state {
		if !present[idx] {
			gone = append(gone, idx)
		}
	}
	slices.Sort(gone)
	for _, idx := range gone {
		old := state[idx]
		if !w.apply(state, runtime.LinkEvent{Name: old.Name, Index: idx, Deleted: true}) {
			return false
		}
	}
	for _, ev := range now {
		if !w.apply(state, ev) {
			return false
		}
	}
	return true
}

// apply updates state with ev and reports it if it changes anything. A
// renamed link is reported as the old name deleted and the new one
// appearing. It returns false when the watcher is closed.
func (w *LinkWatcher) apply(state map[int]runtime.LinkEvent, ev runtime.LinkEvent) bool {
	old, known := state[ev.Index]
	if ev.Deleted {
		if !known {
			return true
		}
		delete(state, ev.Index)
		ev.Name = old.Name
		return w.send(ev)
	}
	if known && old == ev {
		return true
	}
	if known && old.Name != ev.Name {
		if !w.send(runtime.LinkEvent{Name: old.Name, Index: old.Index, Deleted: true}) {
			return false
		}
	}
	state[ev.Index] = ev
	return w.send(ev)
}

func (w *LinkWatcher) send(ev runtime.LinkEvent) bool {
	select {
	case w.events <- ev:
		return true
	case <-w.done:
		return false
	}
}

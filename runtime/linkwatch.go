package runtime

// LinkEvent is the operational state of one network interface, as VRRP
// interface tracking sees it.
//
// Up follows keepalived's IF_FLAGS_UP: the link is administratively up
// (IFF_UP) and has carrier (IFF_RUNNING). A deleted link is reported with
// Deleted set and Up false.
type LinkEvent struct {
	Name    string
	Index   int
	Up      bool
	Deleted bool
}

// LinkWatcher reports link up/down changes of one network namespace.
//
// The subscription starts when the watcher is opened, so a caller that
// first reads Links and then consumes Events misses no change: Events may
// repeat a state Links already showed, never skip one. Only changes of Up,
// appearance and deletion are reported, not every attribute change.
type LinkWatcher interface {
	// Links returns the current state of every link.
	Links() ([]LinkEvent, error)
	// Events delivers changes in kernel order. It is closed by Close.
	Events() <-chan LinkEvent
	// Close stops the watcher and closes Events.
	Close() error
}

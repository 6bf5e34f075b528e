package script

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Notification types: the first of the four arguments keepalived passes
// to a "notify" script.
const (
	TypeInstance = "INSTANCE"
	TypeGroup    = "GROUP"
)

// Notification states: the third argument.
const (
	StateMaster = "MASTER"
	StateBackup = "BACKUP"
	StateFault  = "FAULT"
	StateStop   = "STOP"
)

// Scripts are the notify settings of one instance or sync group (the
// commands already parsed). Zero Commands are not run.
type Scripts struct {
	Master, Backup, Fault, Stop Command
	// Notify runs on every transition with TYPE NAME STATE PRIORITY
	// appended, after the state's own script.
	Notify Command
	// User runs the scripts as user[:group]; empty means the runner's
	// default.
	User string
}

// Notification is one state change to announce.
type Notification struct {
	Type     string // TypeInstance or TypeGroup
	Name     string
	State    string // StateMaster, StateBackup, StateFault or StateStop
	Priority int
}

// NotifierStats counts what the Notifier did.
type NotifierStats struct {
	Queued, Run, Failed, Dropped uint64
}

// DefaultNotifyTimeout bounds one notify script so that a hung script
// cannot stall the instance's later notifications forever.
const DefaultNotifyTimeout = time.Minute

// DefaultQueueLen is the per-instance queue length.
const DefaultQueueLen = 32

// Notifier runs notify scripts asynchronously. Each instance or group
// (Type and Name) has its own bounded queue and worker, so its scripts run
// one at a time in the order of the notifications; different instances do
// not wait for each other. Notify never blocks: when a queue is full the
// notification is dropped, logged and counted.
type Notifier struct {
	runner   Runner
	log      *slog.Logger
	timeout  time.Duration
	queueLen int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	queues map[string]chan job
	stats  NotifierStats
}

type job struct {
	spec Spec
	desc string
}

// NotifierOptions tune a Notifier; zero values take the defaults.
type NotifierOptions struct {
	Timeout  time.Duration // per script; DefaultNotifyTimeout
	QueueLen int           // per instance; DefaultQueueLen
}

// NewNotifier returns a Notifier running scripts with r. log may be nil.
func NewNotifier(r Runner, log *slog.Logger, opts NotifierOptions) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultNotifyTimeout
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = DefaultQueueLen
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{
		runner: r, log: log, timeout: opts.Timeout, queueLen: opts.QueueLen,
		ctx: ctx, cancel: cancel, queues: make(map[string]chan job),
	}
}

// Jobs returns the runs a notification causes, in order: the state's own
// script as configured, then the notify script with TYPE NAME STATE
// PRIORITY appended.
func Jobs(s Scripts, n Notification) []Spec {
	var out []Spec
	var own Command
	switch n.State {
	case StateMaster:
		own = s.Master
	case StateBackup:
		own = s.Backup
	case StateFault:
		own = s.Fault
	case StateStop:
		own = s.Stop
	}
	if len(own.Args) > 0 {
		out = append(out, Spec{Command: own, User: s.User})
	}
	if len(s.Notify.Args) > 0 {
		out = append(out, Spec{
			Command: s.Notify,
			Args:    []string{n.Type, n.Name, n.State, strconv.Itoa(n.Priority)},
			User:    s.User,
		})
	}
	return out
}

// Notify queues the scripts for n and returns at once.
func (nf *Notifier) Notify(s Scripts, n Notification) {
	specs := Jobs(s, n)
	if len(specs) == 0 {
		return
	}
	key := n.Type + "/" + n.Name
	nf.mu.Lock()
	defer nf.mu.Unlock()
	if nf.closed {
		nf.stats.Dropped += uint64(len(specs))
		nf.log.Warn("notify script dropped: notifier closed", "type", n.Type, "name", n.Name, "state", n.State)
		return
	}
	q, ok := nf.queues[key]
	if !ok {
		q = make(chan job, nf.queueLen)
		nf.queues[key] = q
		nf.wg.Add(1)
		go nf.work(q)
	}
	desc := n.Type + " " + n.Name + " " + n.State
	for _, sp := range specs {
		select {
		case q <- job{spec: sp, desc: desc}:
			nf.stats.Queued++
		default:
			nf.stats.Dropped++
			nf.log.Warn("notify script dropped: queue full", "type", n.Type, "name", n.Name, "state", n.State, "script", sp.String(), "queue", nf.queueLen)
		}
	}
}

func (nf *Notifier) work(q chan job) {
	defer nf.wg.Done()
	for j := range q {
		if nf.ctx.Err() != nil {
			nf.mu.Lock()
			nf.stats.Dropped++
			nf.mu.Unlock()
			nf.log.Warn("notify script dropped: notifier closed", "event", j.desc, "script", j.spec.String())
			continue
		}
		sp := j.spec
		sp.Timeout = nf.timeout
		res, err := nf.runner.Run(nf.ctx, sp)
		nf.mu.Lock()
		nf.stats.Run++
		failed := err != nil || !res.OK()
		if failed {
			nf.stats.Failed++
		}
		nf.mu.Unlock()
		switch {
		case err != nil:
			nf.log.Error("notify script could not run", "event", j.desc, "script", sp.String(), "err", err)
		case failed:
			nf.log.Warn("notify script failed", "event", j.desc, "script", sp.String(), "result", res.String(), "output", string(res.Output))
		default:
			nf.log.Debug("notify script ran", "event", j.desc, "script", sp.String())
		}
	}
}

// Stats returns the counters.
func (nf *Notifier) Stats() NotifierStats {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	return nf.stats
}

// Close stops accepting notifications and waits for the queued ones to
// run, or until ctx ends, in which case running scripts are killed and
// the rest are abandoned. It returns ctx's error in that case.
func (nf *Notifier) Close(ctx context.Context) error {
	nf.mu.Lock()
	if !nf.closed {
		nf.closed = true
		for _, q := range nf.queues {
			close(q)
		}
	}
	nf.mu.Unlock()
	done := make(chan struct{})
	go func() { nf.wg.Wait(); close(done) }()
	select {
	case <-done:
		nf.cancel()
		return nil
	case <-ctx.Done():
		nf.cancel()
		<-done
		return ctx.Err()
	}
}

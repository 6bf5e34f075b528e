package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/reconcile"
	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/agent"
	"github.com/hacfg/hacfg/runtime/announce"
	"github.com/hacfg/hacfg/runtime/linux"
)

// startCPUProfile profiles the process's CPU into path until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// agentGCPercent is the agent's garbage collector target (GOGC overrides
// it). A check allocates nothing (runtime/check), so what the collector
// sees is the periodic reconcile's garbage: with Go's default of 100 the
// heap would carry a whole reconcile's worth of it, as large as the live
// tables, between collections. A collection of a heap this size costs
// little, and a low target keeps the agent's memory near what it uses.
const agentGCPercent = 20

// writeHeapProfile writes the heap profile (in use and allocated since
// start) to path: in pprof's format, or as text with the runtime's memory
// statistics when path ends in .txt.
func writeHeapProfile(path string, log *slog.Logger) {
	form := 0 // pprof's
	if strings.HasSuffix(path, ".txt") {
		form = 1 // text
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, form)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.Warn("heap profile", "path", path, "err", err)
	}
}

// agentWiring builds an agent's dependencies on the real kernel of netns.
type agentWiring struct {
	netns    string
	stateDir string
	log      *slog.Logger
}

func (w agentWiring) deps() (agent.Deps, func(), error) {
	kern, err := linux.Open(w.netns, w.log)
	if err != nil {
		return agent.Deps{}, nil, fmt.Errorf("open kernel: %w", err)
	}
	inv, err := reconcile.LoadInventory(filepath.Join(w.stateDir, "inventory.json"))
	if err != nil {
		kern.Close()
		return agent.Deps{}, nil, err
	}
	ann, err := linux.OpenAnnouncer(w.netns, w.log)
	if err != nil {
		kern.Close()
		return agent.Deps{}, nil, fmt.Errorf("open announcer: %w", err)
	}
	links, err := linux.OpenLinkWatcher(w.netns, w.log)
	if err != nil {
		ann.Close()
		kern.Close()
		return agent.Deps{}, nil, fmt.Errorf("watch links: %w", err)
	}
	clock := runtime.SystemClock{}
	sched := announce.New(ann, clock, w.log)
	deps := agent.Deps{
		Reconciler: &reconcile.Reconciler{Kernel: kern, Inventory: inv, Log: w.log},
		DialVRRP: func(iface string, fam runtime.Family, src netip.Addr) (runtime.VRRPConn, error) {
			return linux.DialVRRP(linux.VRRPConnConfig{Interface: iface, Family: fam, Source: src, NetNS: w.netns})
		},
		Announcer:   sched,
		LinkWatcher: links,
		Clock:       clock,
		Log:         w.log,
		// The agent keeps mapped only the program pages it runs.
		ReleaseProgram: linux.ReleaseProgramPages,
	}
	return deps, func() { links.Close(); sched.Close(); ann.Close(); kern.Close() }, nil
}

// hugePagesOff turns transparent huge pages off for the agent
// (linux.DisableHugePages) from its first allocation: the setting only
// governs the pages faulted after it, and by the time main runs the Go
// runtime has touched its heap, where the kernel's "always" gave it 2 MiB
// pages (1.5 MiB more at the agent's start-up peak in the benchmark's VM).
// So `hacfg run` sets it and executes itself again, as the same process;
// the new image inherits the setting, and the second time round finds it
// set. HACFG_HUGEPAGES=1 keeps huge pages, and any failure here leaves the
// agent running as it is (cmdRun logs that they stay on).
func hugePagesOff() {
	if os.Getenv("HACFG_HUGEPAGES") == "1" {
		return
	}
	if off, err := linux.HugePagesDisabled(); err != nil || off {
		return
	}
	if linux.DisableHugePages() != nil {
		return
	}
	// The running image itself, even if the file was replaced since.
	_ = syscall.Exec("/proc/self/exe", os.Args, os.Environ())
}

// agentMemProfileRate turns the heap profiler off in the agent unless
// HACFG_MEMPROFILE asks for its profile. By default Go records one
// allocation in 512 KiB with its stack, for ever, in a 1.4 MB hash table:
// for a process that serves no profiles that is memory (about 200 KiB
// resident in the agent) and stack walks for nothing. Called first thing
// in main, as the runtime asks of a change of rate.
func agentMemProfileRate() {
	if os.Getenv("HACFG_MEMPROFILE") == "" {
		goruntime.MemProfileRate = 0
	}
}

// lockState takes the one-writer lock in the state directory.
func lockState(stateDir string) (func(), error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	path := filepath.Join(stateDir, "hacfg.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another hacfg (agent or apply) holds %s", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

func cmdRun(e *env, args []string) error {
	fs := newFlags(e, "run", "[-c PATH] [--node NAME] [--status-socket PATH]")
	var cf configFlags
	cf.register(fs)
	var kf kernelFlags
	kf.register(fs)
	socket := fs.String("status-socket", agent.DefaultSocket, "unix socket for hacfg status")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	full := fs.Duration("full-reconcile", 30*time.Second, "period of the full reconcile that repairs drift")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch *logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(e.stderr, hopts))
	case "json":
		log = slog.New(slog.NewJSONHandler(e.stderr, hopts))
	default:
		return fmt.Errorf("--log-format must be text or json")
	}
	if p := os.Getenv("HACFG_CPUPROFILE"); p != "" {
		// A diagnostic aid (the health-check benchmark uses it in its
		// VM): a CPU profile of the whole run, written at exit.
		stop, err := startCPUProfile(p)
		if err != nil {
			return err
		}
		defer stop()
	}
	if p := os.Getenv("HACFG_MEMPROFILE"); p != "" {
		// The same, for memory: a heap profile written at exit (set
		// GODEBUG=memprofilerate=1 to record every allocation).
		defer writeHeapProfile(p, log)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(agentGCPercent)
	}
	// main turned huge pages off (hugePagesOff); say so when it could not.
	if os.Getenv("HACFG_HUGEPAGES") != "1" {
		if off, err := linux.HugePagesDisabled(); err != nil || !off {
			log.Warn("transparent huge pages stay on for the agent's heap", "err", err)
		}
	}
	unlock, err := lockState(kf.stateDir)
	if err != nil {
		return err
	}
	defer unlock()
	deps, closeDeps, err := agentWiring{netns: kf.netns, stateDir: kf.stateDir, log: log}.deps()
	if err != nil {
		return err
	}
	defer closeDeps()
	host, _ := e.hostname()
	a := agent.New(deps, agent.Options{ConfigPath: cf.path, Node: cf.node, Hostname: host, FullInterval: *full})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			log.Info("SIGHUP: reloading config")
			a.Reload()
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.Serve(ctx, *socket) }()
	runErr := a.Run(ctx)
	stop()
	if err := <-serveErr; err != nil && runErr == nil {
		log.Warn("status socket", "err", err)
	}
	return runErr
}

func cmdStatus(e *env, args []string) error {
	fs := newFlags(e, "status", "[--json] [--status-socket PATH]")
	socket := fs.String("status-socket", agent.DefaultSocket, "the agent's status socket")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := agent.NewClient(*socket).Status()
	if err != nil {
		return fmt.Errorf("no agent answers (is 'hacfg run' running?): %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return writeStatus(e, st)
}

func writeStatus(e *env, st agent.Status) error {
	w := e.stdout
	fmt.Fprintf(w, "node %s, config %s (digest %s", orDash(st.Node), st.ConfigPath, st.Digest)
	if st.Revision != "" {
		fmt.Fprintf(w, ", git %s", shortRev(st.Revision))
	}
	fmt.Fprintf(w, ", loaded %s)\n", st.LoadedAt.Format(time.RFC3339))
	if st.ReloadErr != "" {
		fmt.Fprintf(w, "last reload FAILED, still running the config above:\n%s\n", st.ReloadErr)
	}
	if st.Stalled != nil {
		fmt.Fprintf(w, "STALLED: config %s failed to apply at %s: %s\n", st.Stalled.Digest, st.Stalled.At.Format(time.RFC3339), st.Stalled.Err)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATE\tPRIO\tEFFECTIVE\tMASTER\tVIPS\tLAST TRANSITION")
	for _, is := range st.Instances {
		last := "-"
		if t := is.LastTransition; t != nil {
			last = fmt.Sprintf("%s→%s %s: %s", t.From, t.To, t.At.Format(time.TimeOnly), t.Reason)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%v\t%s\n", is.Name, is.State, is.Priority, is.EffectivePriority, orDash(is.Master), is.VIPs, last)
	}
	tw.Flush()
	if len(st.Servers) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VIRTUAL SERVER\tQUORUM\tREAL SERVER\tHEALTH\tWEIGHT\tLAST CHECK\tWHY")
		for _, vs := range st.Servers {
			q := fmt.Sprintf("%d/%d", vs.Weight, vs.QuorumNeeded)
			if !vs.Quorum {
				q += " LOST"
			}
			if vs.Suspended {
				q += " (suspended)"
			}
			for _, rs := range vs.RealServers {
				h := "up"
				if !rs.Health.Up {
					h = "DOWN"
				}
				last := "-"
				for _, c := range rs.Checks {
					if !c.LastCheck.IsZero() {
						last = c.LastCheck.Format(time.TimeOnly)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", vs.Name, q, rs.Addr, h, rs.Weight, last, orDash(rs.Health.Reason))
			}
		}
		tw.Flush()
	}
	r := st.Reconcile
	fmt.Fprintf(w, "\nlast reconcile %s (%s): %d changes", r.At.Format(time.RFC3339), r.Scope, r.Changes)
	if r.Err != "" {
		fmt.Fprintf(w, ", error: %s", r.Err)
	}
	fmt.Fprintln(w)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

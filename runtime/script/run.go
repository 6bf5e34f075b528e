package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Spec is one run of a command.
type Spec struct {
	Command Command
	// Args are appended to the command's own arguments (keepalived's
	// notify passes TYPE NAME STATE PRIORITY this way). With a shell
	// command they become the positional parameters "$@" appended to
	// the text.
	Args []string
	// User is "user", "user:group" or "user group"; empty means the
	// runner's default user, or hacfg's own user when that is empty too.
	User string
	// Timeout kills the process group when it elapses; zero means no
	// timeout.
	Timeout time.Duration
}

// String renders the spec for logs.
func (s Spec) String() string {
	out := s.Command.Text
	for _, a := range s.Args {
		out += " " + shellQuote(a)
	}
	return out
}

// Result is the outcome of a command that ran.
type Result struct {
	// ExitCode is the exit status, or -1 when the process was killed by
	// a signal.
	ExitCode int
	// Signal is the signal that killed the process, if any.
	Signal syscall.Signal
	// TimedOut reports that the timeout elapsed and the process group was
	// killed.
	TimedOut bool
	// Duration is the wall time from start to exit.
	Duration time.Duration
	// Output holds the first bytes of combined stdout and stderr.
	Output []byte
}

// OK reports a zero exit status within the timeout.
func (r Result) OK() bool { return r.ExitCode == 0 && !r.TimedOut && r.Signal == 0 }

// String describes the outcome: "exit 0", "exit 3", "killed by signal
// terminated", "timed out after 2s".
func (r Result) String() string {
	switch {
	case r.TimedOut:
		return fmt.Sprintf("timed out after %s", r.Duration.Round(time.Millisecond))
	case r.Signal != 0:
		return fmt.Sprintf("killed by signal %s", r.Signal)
	default:
		return fmt.Sprintf("exit %d", r.ExitCode)
	}
}

// Runner runs commands. Run returns an error only when the command could
// not be run at all (not found, refused by script security, unknown user,
// start failure); a command that ran and failed is a Result with a
// non-zero exit, a signal or TimedOut.
type Runner interface {
	Run(ctx context.Context, s Spec) (Result, error)
}

// Sentinel errors of Exec.
var (
	// ErrInsecure: enable_script_security refused the program.
	ErrInsecure = errors.New("insecure script")
	// ErrUnknownUser: the configured user or group does not exist.
	ErrUnknownUser = errors.New("unknown user or group")
	// ErrNotRoot: a different user was asked for but hacfg is not root.
	ErrNotRoot = errors.New("switching user requires root")
)

// Shell is the shell that runs commands containing metacharacters.
const Shell = "/bin/sh"

// maxOutput bounds Result.Output.
const maxOutput = 4096

// Exec is the real Runner.
type Exec struct {
	// DefaultUser applies when Spec.User is empty (global_defs
	// script_user).
	DefaultUser string
	// Security enables enable_script_security: a program that would run
	// as root (uid or gid 0, or a set-uid/gid root file) is refused if it
	// or any directory above it is writable by a non-root user.
	Security bool
	// KillGrace is the time between SIGTERM and SIGKILL to the process
	// group after a timeout (keepalived waits 2 s); zero means 2 s.
	KillGrace time.Duration
	// Env is the environment; nil means a minimal one
	// (PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin).
	Env []string
	// Log receives debug lines; nil discards.
	Log *slog.Logger
}

var _ Runner = (*Exec)(nil)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Run runs s and waits for it (and, after a timeout, for its process
// group's death).
func (e *Exec) Run(ctx context.Context, s Spec) (Result, error) {
	if len(s.Command.Args) == 0 {
		return Result{}, fmt.Errorf("run script: %w", ErrEmpty)
	}
	op := "run script " + s.Command.Text
	user := s.User
	if user == "" {
		user = e.DefaultUser
	}
	cred, err := lookupCredential(user)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	prog, err := lookPath(s.Command.Args[0], e.env())
	if err != nil {
		if !s.Command.Shell {
			return Result{}, fmt.Errorf("%s: %w", op, err)
		}
		// The first word of a shell command may be a builtin or a
		// keyword; the shell itself is what surely runs.
		prog = Shell
	}
	if e.Security {
		if err := checkSecure(prog, cred); err != nil {
			return Result{}, fmt.Errorf("%s: %w", op, err)
		}
	}

	var cmd *exec.Cmd
	if s.Command.Shell {
		text := s.Command.Text
		args := []string{"-c", text}
		if len(s.Args) > 0 {
			args = []string{"-c", text + ` "$@"`, "sh"}
			args = append(args, s.Args...)
		}
		cmd = exec.Command(Shell, args...)
	} else {
		cmd = exec.Command(prog, append(s.Command.Args[1:], s.Args...)...)
		cmd.Args[0] = s.Command.Args[0]
	}
	cmd.Env = e.env()
	cmd.Dir = "/"
	var out limitedBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred.sys()}
	cmd.WaitDelay = time.Second // grandchildren holding the output pipe

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("%s: start: %w", op, err)
	}
	pgid := cmd.Process.Pid

	done := make(chan struct{})
	timedOut := make(chan struct{})
	go e.watch(ctx, pgid, s.Timeout, done, timedOut)
	werr := cmd.Wait()
	close(done)
	res := Result{Duration: time.Since(start), Output: out.Bytes()}
	select {
	case <-timedOut:
		res.TimedOut = true
		// Like keepalived, make sure nothing of the group survives.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	default:
	}
	var exitErr *exec.ExitError
	switch {
	case werr == nil || errors.Is(werr, exec.ErrWaitDelay):
	case errors.As(werr, &exitErr):
	default:
		return res, fmt.Errorf("%s: wait: %w", op, werr)
	}
	ps := cmd.ProcessState
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.ExitCode = -1
		res.Signal = ws.Signal()
	} else {
		res.ExitCode = ps.ExitCode()
	}
	if res.TimedOut {
		res.Signal = 0
	}
	e.log().Debug("script finished", "script", s.String(), "result", res.String())
	return res, nil
}

// watch kills the process group with SIGTERM when the timeout elapses or
// ctx ends, then with SIGKILL after the grace period.
func (e *Exec) watch(ctx context.Context, pgid int, timeout time.Duration, done, timedOut chan struct{}) {
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-done:
		return
	case <-expire:
		close(timedOut)
	case <-ctx.Done():
		close(timedOut)
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := e.KillGrace
	if grace <= 0 {
		grace = 2 * time.Second
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

func (e *Exec) env() []string {
	if e.Env != nil {
		return e.Env
	}
	return []string{defaultPath}
}

func (e *Exec) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// lookPath resolves a program name without a slash against the PATH of
// env, as execvp would.
func lookPath(prog string, env []string) (string, error) {
	if filepathHasSlash(prog) {
		if _, err := os.Stat(prog); err != nil {
			return "", err
		}
		return prog, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + prog
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", prog, exec.ErrNotFound)
}

func filepathHasSlash(s string) bool { return strings.Contains(s, "/") }

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct{ b bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}

func (l *limitedBuffer) Bytes() []byte {
	if l.b.Len() == 0 {
		return nil
	}
	return bytes.Clone(l.b.Bytes())
}

//go:build linux

package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime/agent"
)

// BuildHacfg builds the hacfg command into a temporary directory and
// returns the binary's path. It is built as `make build` builds it: static,
// without cgo, so that what is measured is what is shipped.
func BuildHacfg(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	bin := filepath.Join(dir, "hacfg")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/hacfg/hacfg/cmd/hacfg")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("go build hacfg: %v\n%s", err, out)
	}
	return bin
}

// Proc is a daemon the lab started in a host's namespace with
// `ip netns exec`, which execs, so Pid is the daemon's own.
type Proc struct {
	tb      testing.TB
	Name    string
	Host    *Host
	LogPath string
	args    []string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

func (l *Lab) start(h *Host, name string, args ...string) *Proc {
	l.tb.Helper()
	p := &Proc{tb: l.tb, Name: name, Host: h, LogPath: filepath.Join(l.Dir, name+".log"), args: args}
	p.launch()
	l.tb.Cleanup(func() {
		p.Kill()
		if l.tb.Failed() {
			l.tb.Logf("--- log of %s (%s):\n%s", name, h.Name, tail(p.Log(), 60))
		}
	})
	return p
}

func (p *Proc) launch() {
	p.tb.Helper()
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.tb.Fatal(err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s: %s\n", time.Now().Format(time.StampMicro), strings.Join(p.args, " "))
	cmd := exec.Command("ip", append([]string{"netns", "exec", p.Host.Name}, p.args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		p.tb.Fatalf("start %s: %v", p.Name, err)
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	go func() { p.err = cmd.Wait(); close(p.done) }()
}

// Pid is the daemon's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Running says whether the daemon has not exited.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig and returns the moment just before.
func (p *Proc) Signal(sig syscall.Signal) time.Time {
	at := time.Now()
	if p.Running() {
		_ = p.cmd.Process.Signal(sig)
	}
	return at
}

// Stop sends SIGTERM, waits up to timeout for the exit, and returns the
// exit error (nil for status 0). It fails the test if the daemon does not
// exit in time.
func (p *Proc) Stop(timeout time.Duration) error {
	p.tb.Helper()
	p.Signal(syscall.SIGTERM)
	return p.Wait(timeout)
}

// Wait waits for the daemon to exit.
func (p *Proc) Wait(timeout time.Duration) error {
	p.tb.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		p.tb.Fatalf("%s did not exit within %v; log:\n%s", p.Name, timeout, tail(p.Log(), 40))
		return nil
	}
}

// Kill sends SIGKILL (to the daemon only) and waits for it.
func (p *Proc) Kill() {
	if p.Running() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// Log is the daemon's output so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[… %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// Hacfg is `hacfg run` in a host.
type Hacfg struct {
	*Proc
	Config   string
	Socket   string
	StateDir string
	client   *agent.Client
}

// StartHacfg starts `hacfg run -c config [--node node]` in the host, with
// its own state directory and status socket, and waits until the status
// socket answers.
func (l *Lab) StartHacfg(h *Host, bin, name, config, node string) *Hacfg {
	l.tb.Helper()
	stateDir := filepath.Join(l.Dir, name+".state")
	sock := filepath.Join(l.Dir, name+".sock")
	args := []string{bin, "run", "-c", config, "--state-dir", stateDir, "--status-socket", sock}
	if node != "" {
		args = append(args, "--node", node)
	}
	a := &Hacfg{Config: config, Socket: sock, StateDir: stateDir, client: agent.NewClient(sock)}
	a.Proc = l.start(h, name, args...)
	a.waitSocket()
	return a
}

// Restart starts the agent again with the same arguments and state (after
// Stop or Kill).
func (a *Hacfg) Restart() {
	a.tb.Helper()
	if a.Running() {
		a.tb.Fatalf("%s: restart while running", a.Name)
	}
	a.launch()
	a.waitSocket()
}

func (a *Hacfg) waitSocket() {
	a.tb.Helper()
	var err error
	if Poll(5*time.Second, 5*time.Millisecond, func() bool {
		if !a.Running() {
			return true
		}
		_, err = a.client.Status()
		return err == nil
	}) != nil || !a.Running() {
		a.tb.Fatalf("%s: status socket does not answer (%v); log:\n%s", a.Name, err, tail(a.Log(), 40))
	}
}

// Status is the agent's status.
func (a *Hacfg) Status() agent.Status {
	a.tb.Helper()
	st, err := a.client.Status()
	if err != nil {
		a.tb.Fatalf("%s status: %v; log:\n%s", a.Name, err, tail(a.Log(), 40))
	}
	return st
}

// Reload asks the agent to re-read its config through the socket.
func (a *Hacfg) Reload() error { return a.client.Reload() }

// Instance is one instance's status.
func (a *Hacfg) Instance(name string) agent.InstanceStatus {
	a.tb.Helper()
	for _, in := range a.Status().Instances {
		if in.Name == name {
			return in
		}
	}
	a.tb.Fatalf("%s: no instance %s in status", a.Name, name)
	return agent.InstanceStatus{}
}

// WaitState waits until the instance is in state (MASTER, BACKUP, …).
func (a *Hacfg) WaitState(name, state string, timeout time.Duration) (agent.InstanceStatus, error) {
	a.tb.Helper()
	var in agent.InstanceStatus
	err := Poll(timeout, 2*time.Millisecond, func() bool {
		st, err := a.client.Status()
		if err != nil {
			return false
		}
		for _, x := range st.Instances {
			if x.Name == name {
				in = x
			}
		}
		return in.State == state
	})
	if err != nil {
		return in, fmt.Errorf("%s: %s is %q, want %s (%w)", a.Name, name, in.State, state, err)
	}
	return in, nil
}

// Keepalived is keepalived (VRRP only) in a host.
type Keepalived struct {
	*Proc
	Config  string
	vrrpPid string
}

// StartKeepalived starts `keepalived -n -l -D -P` with the config in the
// host, with pid files of its own.
func (l *Lab) StartKeepalived(h *Host, name, config string) *Keepalived {
	l.tb.Helper()
	cf := l.WriteFile(name+".conf", config)
	pid := filepath.Join(l.Dir, name+".pid")
	vpid := filepath.Join(l.Dir, name+"-vrrp.pid")
	k := &Keepalived{Config: cf, vrrpPid: vpid}
	k.Proc = l.start(h, name, "keepalived", "-n", "-l", "-D", "-P", "-f", cf, "-p", pid, "-r", vpid)
	return k
}

// Restart starts keepalived again with the same config.
func (k *Keepalived) Restart() {
	k.tb.Helper()
	if k.Running() {
		k.tb.Fatalf("%s: restart while running", k.Name)
	}
	k.launch()
}

// Pids are the parent's and the VRRP child's process ids (the child once
// its pid file is written).
func (k *Keepalived) Pids() []int {
	pids := []int{k.Pid()}
	if b, err := os.ReadFile(k.vrrpPid); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// Count is how many log lines contain s.
func (k *Keepalived) Count(s string) int { return strings.Count(k.Log(), s) }

// WaitLog waits until the log holds at least n lines containing s.
func (k *Keepalived) WaitLog(s string, n int, timeout time.Duration) error {
	if err := Poll(timeout, 5*time.Millisecond, func() bool { return k.Count(s) >= n }); err != nil {
		return fmt.Errorf("%s: %d× %q in the log, want %d (%w)", k.Name, k.Count(s), s, n, err)
	}
	return nil
}

// Usage is CPU time and peak memory of processes.
type Usage struct {
	CPU time.Duration // utime + stime
	HWM int64         // VmHWM, KiB, summed over the processes
}

// ProcUsage reads /proc/PID/stat and /proc/PID/status for the pids.
func ProcUsage(pids ...int) (Usage, error) {
	var u Usage
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return u, fmt.Errorf("usage of %d: %w", pid, err)
		}
		// Fields after the command (which may hold spaces) in parentheses.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			return u, fmt.Errorf("usage of %d: short stat %q", pid, s)
		}
		ut, err1 := strconv.ParseInt(f[11], 10, 64)
		st, err2 := strconv.ParseInt(f[12], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return u, fmt.Errorf("usage of %d: %w", pid, err)
		}
		// USER_HZ is 100 on Linux.
		u.CPU += time.Duration(ut+st) * 10 * time.Millisecond
		f2, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return u, fmt.Errorf("usage of %d: %w", pid, err)
		}
		sc := bufio.NewScanner(f2)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
				u.HWM += kb
			}
		}
		f2.Close()
	}
	return u, nil
}

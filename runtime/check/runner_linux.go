package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// ExecRunner runs commands as processes. Each runs in its own process
// group, which is killed with SIGKILL when the context is done, so a script
// that forks cannot outlive its timeout. When hacfg runs as root and the
// command names a user, the process runs as that user (and its group, or
// the named group).
type ExecRunner struct{}

var _ Runner = ExecRunner{}

// Run implements Runner.
func (ExecRunner) Run(ctx context.Context, cmd Command) (int, error) {
	if len(cmd.Argv) == 0 {
		return -1, fmt.Errorf("run command: %w", ErrEmptyCommand)
	}
	c := exec.Command(cmd.Argv[0], cmd.Argv[1:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.User != "" && os.Geteuid() == 0 {
		cred, err := credential(cmd.User)
		if err != nil {
			return -1, fmt.Errorf("run %s: %w", cmd.Argv[0], err)
		}
		c.SysProcAttr.Credential = cred
	}
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("run %s: %w", cmd.Argv[0], err)
	}
	if err := c.Start(); err != nil {
		return -1, fmt.Errorf("run %s: %w", cmd.Argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
		return -1, fmt.Errorf("run %s: %w", cmd.Argv[0], ctx.Err())
	}
	if err == nil {
		return 0, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, fmt.Errorf("run %s: killed by signal %v", cmd.Argv[0], ws.Signal())
		}
		return exit.ExitCode(), nil
	}
	return -1, fmt.Errorf("run %s: %w", cmd.Argv[0], err)
}

// credential resolves "user", "user:group" or "user group".
func credential(spec string) (*syscall.Credential, error) {
	name, group, _ := strings.Cut(strings.Join(strings.Fields(spec), ":"), ":")
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: uid %q: %w", name, u.Uid, err)
	}
	gidText := u.Gid
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("look up group %q: %w", group, err)
		}
		gidText = g.Gid
	}
	gid, err := strconv.ParseUint(gidText, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: gid %q: %w", name, gidText, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

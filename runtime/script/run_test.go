package script

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeScript writes an executable shell script into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, e *Exec, text string, extra ...string) (Result, error) {
	t.Helper()
	c, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return e.Run(context.Background(), Spec{Command: c, Args: extra, Timeout: 10 * time.Second})
}

func TestExecExitCodes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name       string
		body       string
		wantCode   int
		wantSignal syscall.Signal
		wantOK     bool
	}{
		{name: "success", body: "exit 0\n", wantCode: 0, wantOK: true},
		{name: "failure", body: "exit 3\n", wantCode: 3},
		{name: "killed", body: "kill -KILL $$\n", wantCode: -1, wantSignal: syscall.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeScript(t, dir, tt.name+".sh", tt.body)
			res, err := run(t, &Exec{}, p)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{res.ExitCode, res.Signal, res.OK(), res.TimedOut}
			want := []any{tt.wantCode, tt.wantSignal, tt.wantOK, false}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("exit code, signal, OK, timed out (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecArgv(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, "args.sh", `for a in "$0" "$@"; do printf '<%s>\n' "$a"; done`+"\n")
	tests := []struct {
		name  string
		text  string
		extra []string
		want  string
	}{
		{name: "direct", text: p + ` one 'two words' "three"`,
			want: "<" + p + ">\n<one>\n<two words>\n<three>\n"},
		{name: "direct with extra args", text: p + ` 'a b'`, extra: []string{"INSTANCE", "VI 1", "MASTER", "100"},
			want: "<" + p + ">\n<a b>\n<INSTANCE>\n<VI 1>\n<MASTER>\n<100>\n"},
		{name: "shell", text: p + ` x=1 "$(echo sub)"`,
			want: "<" + p + ">\n<x=1>\n<sub>\n"},
		{name: "shell with extra args", text: p + ` --opt=1`, extra: []string{"GROUP", "G 1", "FAULT", "0"},
			want: "<" + p + ">\n<--opt=1>\n<GROUP>\n<G 1>\n<FAULT>\n<0>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := run(t, &Exec{}, tt.text, tt.extra...)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK() {
				t.Fatalf("result %s, output %q", res, res.Output)
			}
			if diff := cmp.Diff(tt.want, string(res.Output)); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecShellDetection(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// Run directly, "|" would be an argument to echo; through the shell
	// it is a pipe and the redirect creates the file.
	res, err := run(t, &Exec{}, "echo hello | tr a-z A-Z > "+out)
	if err != nil || !res.OK() {
		t.Fatalf("run: %v %s", err, res)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != "HELLO\n" {
		t.Errorf("shell pipeline wrote %q, want %q", got, "HELLO\n")
	}
	res, err = run(t, &Exec{}, "echo 'a | b'")
	if err != nil || !res.OK() {
		t.Fatalf("run: %v %s", err, res)
	}
	if got := string(res.Output); got != "a | b\n" {
		t.Errorf("quoted pipe printed %q, want %q", got, "a | b\n")
	}
}

func TestExecNotFound(t *testing.T) {
	_, err := run(t, &Exec{}, "/nonexistent/check")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing program: err = %v, want ErrNotExist", err)
	}
	_, err = run(t, &Exec{}, "no-such-program-hacfg")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing program in PATH: err = %v, want not found", err)
	}
	// Through the shell the shell reports it: exit 127.
	res, err := run(t, &Exec{}, "no-such-program-hacfg > /dev/null")
	if err != nil || res.ExitCode != 127 {
		t.Errorf("missing program through shell: %v %s, want exit 127", err, res)
	}
}

func TestExecTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child.pid")
	// The script starts a background child that ignores nothing special,
	// records its pid and waits: the timeout must kill both.
	p := writeScript(t, dir, "hang.sh", "sleep 30 &\necho $! > "+pidfile+"\nwait\n")
	c := MustParse(p)
	start := time.Now()
	res, err := (&Exec{KillGrace: 200 * time.Millisecond}).Run(context.Background(), Spec{Command: c, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.OK() {
		t.Errorf("result %s: want timed out", res)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("run took %s despite a 300ms timeout", el)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background child %d survived the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestExecContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := (&Exec{KillGrace: 100 * time.Millisecond}).Run(ctx, Spec{Command: MustParse("sleep 30")})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut {
		t.Errorf("cancelled run: %s, want timed out", res)
	}
}

// processGone reports that pid does not exist or is a zombie.
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
			t.Fatal("test needs root")
		}
		t.Skip("test needs root")
	}
}

func TestExecUser(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name, user, want string
	}{
		{name: "nobody", user: "nobody", want: "65534 65534 65534\n"},
		{name: "nobody with group", user: "nobody:daemon", want: "65534 1 1\n"},
		{name: "numeric", user: "65534", want: "65534 65534 65534\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustParse(`sh -c 'echo $(id -u) $(id -g) $(id -G)'`)
			res, err := (&Exec{}).Run(context.Background(), Spec{Command: c, User: tt.user})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(res.Output)); diff != "" {
				t.Errorf("uid gid groups (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("default user", func(t *testing.T) {
		res, err := (&Exec{DefaultUser: "nobody"}).Run(context.Background(), Spec{Command: MustParse("id -u")})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res.Output); got != "65534\n" {
			t.Errorf("id -u = %q, want 65534", got)
		}
	})
}

func TestExecUnknownUser(t *testing.T) {
	for _, u := range []string{"no-such-user-hacfg", "nobody:no-such-group-hacfg"} {
		_, err := (&Exec{}).Run(context.Background(), Spec{Command: MustParse("true"), User: u})
		if !errors.Is(err, ErrUnknownUser) {
			t.Errorf("user %q: err = %v, want ErrUnknownUser", u, err)
		}
	}
}

func TestExecSecurity(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir, script string)
		user    string
		wantErr bool
	}{
		{name: "root owned", setup: func(t *testing.T, dir, script string) {}},
		{name: "world writable dir", setup: func(t *testing.T, dir, script string) { chmod(t, dir, 0o777) }, wantErr: true},
		{name: "sticky world writable dir", setup: func(t *testing.T, dir, script string) { chmod(t, dir, os.ModeSticky|0o777) }},
		{name: "group writable file, root group", setup: func(t *testing.T, dir, script string) { chmod(t, script, 0o775) }},
		{name: "group writable file, other group", setup: func(t *testing.T, dir, script string) {
			chmod(t, script, 0o775)
			chown(t, script, 0, 1)
		}, wantErr: true},
		{name: "world writable file", setup: func(t *testing.T, dir, script string) { chmod(t, script, 0o757) }, wantErr: true},
		{name: "file owned by nobody", setup: func(t *testing.T, dir, script string) { chown(t, script, 65534, 65534) }, wantErr: true},
		{name: "dir owned by nobody", setup: func(t *testing.T, dir, script string) { chown(t, dir, 65534, 65534) }, wantErr: true},
		{name: "insecure but run as nobody", setup: func(t *testing.T, dir, script string) {
			chmod(t, dir, 0o777)
			for d := filepath.Dir(dir); d != os.TempDir(); d = filepath.Dir(d) {
				chmod(t, d, 0o755) // let nobody reach the script
			}
		}, user: "nobody"},
		{name: "symlink to insecure file", setup: func(t *testing.T, dir, script string) {
			other := t.TempDir()
			chmod(t, other, 0o777)
			target := writeScript(t, other, "real.sh", "exit 0\n")
			if err := os.Remove(script); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, script); err != nil {
				t.Fatal(err)
			}
		}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "scripts")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			script := writeScript(t, dir, "check.sh", "exit 0\n")
			tt.setup(t, dir, script)
			res, err := (&Exec{Security: true}).Run(context.Background(), Spec{Command: MustParse(script + " arg"), User: tt.user})
			if tt.wantErr {
				if !errors.Is(err, ErrInsecure) {
					t.Fatalf("err = %v, want ErrInsecure", err)
				}
				if !strings.Contains(err.Error(), "writable") && !strings.Contains(err.Error(), "owned by") {
					t.Errorf("error %q does not say why", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, want success", err)
			}
			if !res.OK() {
				t.Errorf("result %s", res)
			}
			// Without script security the same script runs.
		})
	}
	t.Run("security off", func(t *testing.T) {
		dir := t.TempDir()
		chmod(t, dir, 0o777)
		script := writeScript(t, dir, "check.sh", "exit 0\n")
		res, err := (&Exec{}).Run(context.Background(), Spec{Command: MustParse(script)})
		if err != nil || !res.OK() {
			t.Errorf("security off: %v %s", err, res)
		}
		if err := CheckSecure(MustParse(script), ""); !errors.Is(err, ErrInsecure) {
			t.Errorf("CheckSecure = %v, want ErrInsecure", err)
		}
	})
}

func chmod(t *testing.T, p string, m os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, m); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}

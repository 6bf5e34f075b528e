package vmtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options describe one VM run.
type Options struct {
	// Binary is the host path of a static executable (CGO_ENABLED=0) to
	// run in the VM as root.
	Binary string
	// Args are its arguments.
	Args []string
	// Env is added to its environment (which otherwise holds only PATH,
	// HOME and TMPDIR). Keys must be shell variable names.
	Env map[string]string
	// Files maps guest paths to host paths of extra files to copy in, for
	// instance a dynamically linked tool and its libraries (see
	// HostBinaryFiles). Host permission bits are kept.
	Files map[string]string
	// Dir is the working directory of the binary in the VM; default /root.
	Dir string
	// Memory is the VM's memory in MiB; default 1024.
	Memory int
	// CPUs is the number of virtual CPUs; default 1.
	CPUs int
	// Timeout bounds the whole run, boot included; default 5 minutes.
	Timeout time.Duration
	// Stream, when set, receives the serial console output as it arrives
	// (carriage returns removed).
	Stream io.Writer
	// KernelArgs are added to the kernel command line, for instance
	// "tsc=reliable" (which makes the TSC the clocksource, as on real
	// hardware, where TCG's emulated CPU otherwise leaves the kernel on
	// the HPET and every clock read a system call).
	KernelArgs []string
}

// Result is the outcome of a run that reached its end marker.
type Result struct {
	// Output is everything printed on the serial console: the kernel's
	// messages, the binary's stdout and stderr, without the markers.
	Output string
	// ExitCode is the binary's exit status.
	ExitCode int
	// Boot is the time from starting QEMU until the binary starts (kernel
	// boot, module loading included).
	Boot time.Duration
	// Duration is the time from starting QEMU until it exited.
	Duration time.Duration
}

const guestBinDir = "/hacfg/bin"

// guestModDir is where the modules go in the VM, next to the modules.dep
// that busybox modprobe reads.
func (a *Assets) guestModDir() string {
	return path.Join("/lib/modules", a.KernelRelease, "hacfg")
}

var (
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// ansiEscape matches the terminal control sequences SeaBIOS and
	// coloured loggers print, which only clutter test logs.
	ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])`)
)

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// initScript returns the VM's /init, run by busybox sh as PID 1. It prints
// "<marker> start" before running the binary and "<marker> exit=N" after;
// "<marker> setup-failed: …" when the VM could not be prepared.
func initScript(marker string, modules []string, binary string, args []string, env map[string]string, dir string) string {
	var b strings.Builder
	b.WriteString("#!/bin/busybox sh\n")
	b.WriteString("/bin/busybox mkdir -p /proc /sys /dev /tmp /run /root /sbin /usr/bin /usr/sbin\n")
	b.WriteString("/bin/busybox --install -s\n")
	b.WriteString("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp\n")
	fmt.Fprintf(&b, "fail() { echo; echo %s setup-failed: \"$*\"; poweroff -f; sleep 5; reboot -f; }\n", marker)
	b.WriteString("mount -t proc proc /proc || fail mount proc\n")
	b.WriteString("mount -t sysfs sysfs /sys || fail mount sysfs\n")
	b.WriteString("mount -t devtmpfs devtmpfs /dev || fail mount devtmpfs\n")
	b.WriteString("mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm\n")
	b.WriteString("mount -t tmpfs tmpfs /run && mkdir -p /run/netns\n")
	for _, m := range modules {
		q := shellQuote(m)
		fmt.Fprintf(&b, "insmod %s || fail insmod %s\n", q, q)
	}
	b.WriteString("ip link set lo up || fail ip link set lo up\n")
	fmt.Fprintf(&b, "mkdir -p %s && cd %s || fail cd %s\n", shellQuote(dir), shellQuote(dir), shellQuote(dir))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(env[k]))
	}
	fmt.Fprintf(&b, "echo %s start\n", marker)
	b.WriteString(shellQuote(binary))
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString(" </dev/null\n")
	b.WriteString("rc=$?\n")
	// A newline first, in case the binary's last line had none.
	fmt.Fprintf(&b, "echo; echo %s exit=$rc\n", marker)
	b.WriteString("poweroff -f\nsleep 5\nreboot -f\n")
	return b.String()
}

// writeInitramfs writes the gzip-compressed cpio initramfs for a run to w.
func (a *Assets) writeInitramfs(w io.Writer, script string, binary string, opts Options) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("vmtest: initramfs: %w", err)
	}
	c := newCPIOWriter(zw)
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run", "root", "etc"} {
		perm := uint32(0o755)
		if d == "tmp" {
			perm = 0o1777
		}
		c.Dir(d, perm)
	}
	// As on Debian, so /run/netns and /var/run/netns are the same place.
	c.Symlink("var/run", "../run")
	c.CharDev("dev/console", 0o600, 5, 1)
	c.CharDev("dev/null", 0o666, 1, 3)
	c.Bytes("init", 0o755, []byte(script))
	c.Bytes("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	c.Bytes("etc/group", 0o644, []byte("root:x:0:\n"))

	add := func(guest, host string) error {
		f, err := os.Open(host)
		if err != nil {
			return fmt.Errorf("vmtest: initramfs: %w", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("vmtest: initramfs: %w", err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("vmtest: initramfs: %s is not a regular file", host)
		}
		c.File(guest, uint32(st.Mode().Perm()), st.Size(), f)
		return nil
	}
	if err := add("bin/busybox", a.Busybox); err != nil {
		return err
	}
	for _, m := range a.Modules {
		if err := add(path.Join(a.guestModDir(), filepath.Base(m)), m); err != nil {
			return err
		}
	}
	if err := add(path.Join("/lib/modules", a.KernelRelease, "modules.dep"), a.ModulesDep); err != nil {
		return err
	}
	if err := add(binary, opts.Binary); err != nil {
		return err
	}
	for _, guest := range slices.Sorted(maps.Keys(opts.Files)) {
		if err := add(guest, opts.Files[guest]); err != nil {
			return err
		}
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("vmtest: initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("vmtest: initramfs: %w", err)
	}
	return nil
}

// ErrNoResult is wrapped by Run's error when the VM stopped (or was
// stopped) without reporting the binary's exit status.
var ErrNoResult = errors.New("vm ended without a result")

// Run boots the VM, runs opts.Binary in it as root and returns its output
// and exit status. An error means the run did not complete (QEMU failed, the
// VM could not load its modules, the timeout expired); the Result returned
// with it still holds the output seen so far, for diagnosis. A binary that
// ran and failed is not an error: look at Result.ExitCode.
func (a *Assets) Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Binary == "" {
		return nil, errors.New("vmtest: run: no binary")
	}
	for k := range opts.Env {
		if !envName.MatchString(k) {
			return nil, fmt.Errorf("vmtest: run: bad environment variable name %q", k)
		}
	}
	if opts.Memory == 0 {
		opts.Memory = 1024
	}
	if opts.CPUs == 0 {
		opts.CPUs = 1
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.Dir == "" {
		opts.Dir = "/root"
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	tmp, err := os.MkdirTemp("", "hacfg-vmtest-")
	if err != nil {
		return nil, fmt.Errorf("vmtest: run: %w", err)
	}
	defer os.RemoveAll(tmp)

	marker := "HACFG-VMTEST-" + nonce()
	binary := path.Join(guestBinDir, filepath.Base(opts.Binary))
	var mods []string
	for _, m := range a.Modules {
		mods = append(mods, path.Join(a.guestModDir(), filepath.Base(m)))
	}
	script := initScript(marker, mods, binary, opts.Args, opts.Env, opts.Dir)
	initrd := filepath.Join(tmp, "initramfs.cpio.gz")
	f, err := os.Create(initrd)
	if err != nil {
		return nil, fmt.Errorf("vmtest: run: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = a.writeInitramfs(bw, script, binary, opts)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-accel", "tcg",
		"-m", strconv.Itoa(opts.Memory),
		"-smp", strconv.Itoa(opts.CPUs),
		"-nodefaults", "-nographic", "-no-reboot",
		"-serial", "stdio", "-monitor", "none",
		"-kernel", a.Kernel,
		"-initrd", initrd,
		"-append", strings.Join(append([]string{"console=ttyS0 quiet panic=-1"}, opts.KernelArgs...), " "),
	)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("vmtest: run: %w", err)
	}
	a.logger.Debug("vmtest: starting qemu", "args", cmd.Args)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("vmtest: start qemu: %w", err)
	}

	res := &Result{ExitCode: -1}
	var (
		out      strings.Builder
		gotExit  bool
		setupErr string
		once     sync.Once
	)
	// Once the result is in, give the VM a little time to power off.
	afterResult := func() {
		once.Do(func() {
			go func() {
				select {
				case <-time.After(15 * time.Second):
					_ = cmd.Process.Kill()
				case <-ctx.Done():
				}
			}()
		})
	}
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := ansiEscape.ReplaceAllString(strings.ReplaceAll(sc.Text(), "\r", ""), "")
		if i := strings.Index(line, marker+" "); i >= 0 {
			word := line[i+len(marker)+1:]
			switch {
			case word == "start":
				res.Boot = time.Since(start)
			case strings.HasPrefix(word, "exit="):
				if n, err := strconv.Atoi(strings.TrimPrefix(word, "exit=")); err == nil {
					res.ExitCode, gotExit = n, true
				}
				afterResult()
			case strings.HasPrefix(word, "setup-failed:"):
				setupErr = strings.TrimSpace(strings.TrimPrefix(word, "setup-failed:"))
				afterResult()
			}
			line = line[:i]
			if line == "" {
				continue
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
		if opts.Stream != nil {
			_, _ = io.WriteString(opts.Stream, line+"\n")
		}
	}
	waitErr := cmd.Wait()
	res.Duration = time.Since(start)
	res.Output = out.String()
	switch {
	case setupErr != "":
		return res, fmt.Errorf("vmtest: vm setup failed: %s", setupErr)
	case gotExit:
		return res, nil
	case ctx.Err() != nil:
		return res, fmt.Errorf("vmtest: run %s: %w after %s: %w", filepath.Base(opts.Binary), ErrNoResult, opts.Timeout, ctx.Err())
	default:
		return res, fmt.Errorf("vmtest: run %s: %w (qemu: %v %s)", filepath.Base(opts.Binary), ErrNoResult, waitErr, strings.TrimSpace(stderr.String()))
	}
}

package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// goBuild runs the go command with CGO_ENABLED=0, so the result is static
// and runs in the VM's empty userland.
func goBuild(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("vmtest: go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// BuildTestBinary compiles the tests of pkg (an import path, or a path
// relative to the current directory such as "." or "./runtime/linux") into
// a static test binary in outDir and returns its path. Debug information is
// stripped to keep the initramfs small; panics still print symbolised stack
// traces.
//
// Equivalent to: CGO_ENABLED=0 go test -c -ldflags='-s -w' -o OUT PKG
func BuildTestBinary(ctx context.Context, pkg, outDir string) (string, error) {
	out := filepath.Join(outDir, binaryName(pkg)+".test")
	if err := goBuild(ctx, "test", "-c", "-ldflags=-s -w", "-o", out, pkg); err != nil {
		return "", err
	}
	if _, err := os.Stat(out); err != nil {
		return "", fmt.Errorf("vmtest: go test -c %s: no test binary (package without tests?): %w", pkg, err)
	}
	return out, nil
}

// BuildBinary compiles the main package pkg into a static binary in outDir
// and returns its path.
//
// Equivalent to: CGO_ENABLED=0 go build -ldflags='-s -w' -o OUT PKG
func BuildBinary(ctx context.Context, pkg, outDir string) (string, error) {
	out := filepath.Join(outDir, binaryName(pkg))
	if err := goBuild(ctx, "build", "-ldflags=-s -w", "-o", out, pkg); err != nil {
		return "", err
	}
	return out, nil
}

func binaryName(pkg string) string {
	name := filepath.Base(filepath.Clean(pkg))
	if name == "." || name == "/" || name == "" {
		name = "pkg"
	}
	return name
}

// HostBinaryFiles returns the files a dynamically linked host executable
// needs in the VM — itself and the shared libraries ldd lists, including
// the dynamic loader — each mapped to the same path in the guest, ready to
// merge into Options.Files. Use it to run host tools such as ipvsadm in the
// VM.
func HostBinaryFiles(ctx context.Context, binary string) (map[string]string, error) {
	p, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	if p, err = filepath.Abs(p); err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	files := map[string]string{p: p}
	out, err := exec.CommandContext(ctx, "ldd", p).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return files, nil
		}
		return nil, fmt.Errorf("vmtest: ldd %s: %w: %s", p, err, bytes.TrimSpace(out))
	}
	libs, err := parseLdd(out)
	if err != nil {
		return nil, fmt.Errorf("vmtest: ldd %s: %w", p, err)
	}
	for _, l := range libs {
		files[l] = l
	}
	return files, nil
}

// parseLdd returns the library paths in ldd's output, lines such as
//
//	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f...)
//	/lib64/ld-linux-x86-64.so.2 (0x00007f...)
//	linux-vdso.so.1 (0x00007ffd...)
func parseLdd(out []byte) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line == "statically linked" {
			continue
		}
		if name, target, ok := strings.Cut(line, "=>"); ok {
			target = strings.TrimSpace(target)
			if strings.HasPrefix(target, "not found") {
				return nil, fmt.Errorf("library %s not found", strings.TrimSpace(name))
			}
			line = target
		}
		p, _, _ := strings.Cut(line, " ")
		if strings.HasPrefix(p, "/") {
			libs = append(libs, p)
		}
	}
	return libs, sc.Err()
}

package vmtest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Config says where to cache the VM's files and what to put in them.
type Config struct {
	// CacheDir holds the extracted kernel, modules and busybox, one
	// subdirectory per package version. Empty means $HACFG_VM_CACHE, else
	// $XDG_CACHE_HOME/hacfg/vm, else ~/.cache/hacfg/vm.
	CacheDir string
	// KernelMetaPackage is the Debian package whose dependency names the
	// kernel image to use. Empty means "linux-image-amd64".
	KernelMetaPackage string
	// Modules are the kernel modules to load at boot, dependencies
	// resolved automatically. Nil means DefaultModules().
	Modules []string
	// Logger receives progress (downloads, extraction). Nil discards.
	Logger *slog.Logger
}

// Assets are the prepared, cached files a VM boots from.
type Assets struct {
	Dir            string   // cache directory holding the files below
	Kernel         string   // path of the kernel image (bzImage)
	Modules        []string // paths of the .ko files, in load order
	ModulesDep     string   // path of a modules.dep for them (for modprobe)
	KernelRelease  string   // uname -r of the kernel, e.g. 6.1.0-56-amd64
	Busybox        string   // path of the static busybox binary
	KernelPackage  string   // "name=version" of the kernel image package
	BusyboxPackage string   // "name=version" of the busybox-static package

	logger *slog.Logger
}

// manifest is stored in each cache entry; its presence marks the entry
// complete (it is written last, and the entry is renamed into place).
type manifest struct {
	Package string   `json:"package"`
	Kernel  string   `json:"kernel,omitempty"`
	Modules []string `json:"modules,omitempty"`
	Dep     string   `json:"dep,omitempty"`
	Release string   `json:"release,omitempty"`
	Busybox string   `json:"busybox,omitempty"`
}

// ErrHostMissing is wrapped by errors about missing host tools.
var ErrHostMissing = errors.New("host tools missing")

// CheckHost verifies that the host has the tools Prepare and Run need, and
// otherwise says which Debian packages to install.
func CheckHost() error {
	needs := []struct{ tool, pkg string }{
		{"qemu-system-x86_64", "qemu-system-x86"},
		{"apt-get", "apt"},
		{"apt-cache", "apt"},
		{"dpkg-deb", "dpkg"},
	}
	var missing, pkgs []string
	for _, n := range needs {
		if _, err := exec.LookPath(n.tool); err != nil {
			missing = append(missing, n.tool)
			if !slices.Contains(pkgs, n.pkg) {
				pkgs = append(pkgs, n.pkg)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("vmtest: %s not found (install with: apt-get install -y --no-install-recommends %s): %w",
			strings.Join(missing, ", "), strings.Join(pkgs, " "), ErrHostMissing)
	}
	return nil
}

// DefaultCacheDir returns $HACFG_VM_CACHE, else $XDG_CACHE_HOME/hacfg/vm,
// else ~/.cache/hacfg/vm.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("HACFG_VM_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("vmtest: cache dir: %w", err)
	}
	return filepath.Join(d, "hacfg", "vm"), nil
}

// Prepare returns the kernel, modules and busybox for the VM, downloading
// and extracting them with apt-get download and dpkg-deb on the first call
// for a given package version, and from the cache afterwards.
func Prepare(ctx context.Context, cfg Config) (*Assets, error) {
	if err := CheckHost(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := cfg.CacheDir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	meta := cfg.KernelMetaPackage
	if meta == "" {
		meta = "linux-image-amd64"
	}
	mods := cfg.Modules
	if mods == nil {
		mods = DefaultModules()
	}

	kpkg, kver, err := kernelPackage(ctx, meta)
	if err != nil {
		return nil, err
	}
	bver, err := candidateVersion(ctx, "busybox-static")
	if err != nil {
		return nil, err
	}

	// The key covers the module list and the entry's layout version.
	sum := sha256.Sum256([]byte("v2:" + strings.Join(mods, ",")))
	kdir := filepath.Join(dir, cacheName(kpkg, kver)+"-"+hex.EncodeToString(sum[:4]))
	km, err := cached(ctx, log, kdir, kpkg, kver, func(ctx context.Context, deb, out string) (manifest, error) {
		return extractKernel(ctx, deb, out, mods)
	})
	if err != nil {
		return nil, err
	}
	bdir := filepath.Join(dir, cacheName("busybox-static", bver))
	bm, err := cached(ctx, log, bdir, "busybox-static", bver, extractBusybox)
	if err != nil {
		return nil, err
	}

	a := &Assets{
		Dir:            dir,
		Kernel:         filepath.Join(kdir, km.Kernel),
		Busybox:        filepath.Join(bdir, bm.Busybox),
		ModulesDep:     filepath.Join(kdir, km.Dep),
		KernelRelease:  km.Release,
		KernelPackage:  kpkg + "=" + kver,
		BusyboxPackage: "busybox-static=" + bver,
		logger:         log,
	}
	for _, m := range km.Modules {
		a.Modules = append(a.Modules, filepath.Join(kdir, m))
	}
	return a, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._+-]`)

func cacheName(pkg, ver string) string {
	return unsafeChars.ReplaceAllString(pkg+"_"+ver, "_")
}

// aptShow runs apt-cache show for the candidate version of pkg and returns
// its fields.
func aptShow(ctx context.Context, pkg string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "show", "--no-all-versions", pkg).Output()
	if err != nil {
		return nil, fmt.Errorf("vmtest: apt-cache show %s (is `apt-get update` done?): %w%s", pkg, err, stderrOf(err))
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break // only the first stanza
		}
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if fields["Version"] == "" {
		return nil, fmt.Errorf("vmtest: apt-cache show %s: no candidate version (is `apt-get update` done?)", pkg)
	}
	return fields, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

func candidateVersion(ctx context.Context, pkg string) (string, error) {
	f, err := aptShow(ctx, pkg)
	if err != nil {
		return "", err
	}
	return f["Version"], nil
}

var kernelDep = regexp.MustCompile(`^(linux-image-[0-9][^ ]*)(?: \(= ([^)]+)\))?$`)

// kernelPackage resolves a kernel meta package such as linux-image-amd64 to
// the versioned image package it depends on, e.g.
// linux-image-6.1.0-56-amd64 at version 6.1.192-2.
func kernelPackage(ctx context.Context, meta string) (pkg, ver string, err error) {
	f, err := aptShow(ctx, meta)
	if err != nil {
		return "", "", err
	}
	for _, alt := range strings.Split(f["Depends"], ",") {
		for _, dep := range strings.Split(alt, "|") {
			m := kernelDep.FindStringSubmatch(strings.TrimSpace(dep))
			if m == nil {
				continue
			}
			pkg = m[1]
			if strings.HasSuffix(pkg, "-unsigned") {
				continue
			}
			ver = m[2]
			if ver == "" {
				if ver, err = candidateVersion(ctx, pkg); err != nil {
					return "", "", err
				}
			}
			return pkg, ver, nil
		}
	}
	// The package may itself be the versioned image.
	if strings.HasPrefix(meta, "linux-image-") {
		return meta, f["Version"], nil
	}
	return "", "", fmt.Errorf("vmtest: %s: no linux-image dependency in %q", meta, f["Depends"])
}

// cached returns the manifest of the cache entry dir, creating the entry
// first when missing: it downloads pkg=ver with apt-get download into a
// scratch directory and lets extract fill a temporary directory that is then
// renamed to dir.
func cached(ctx context.Context, log *slog.Logger, dir, pkg, ver string,
	extract func(ctx context.Context, deb, out string) (manifest, error)) (manifest, error) {
	if m, err := readManifest(dir); err == nil {
		return m, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-"+filepath.Base(dir)+"-")
	if err != nil {
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	defer os.RemoveAll(tmp)

	log.Info("vmtest: downloading", "package", pkg, "version", ver)
	dl := filepath.Join(tmp, "download")
	if err := os.Mkdir(dl, 0o755); err != nil {
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	cmd := exec.CommandContext(ctx, "apt-get", "download", "-q", pkg+"="+ver)
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		return manifest{}, fmt.Errorf("vmtest: apt-get download %s=%s: %w: %s", pkg, ver, err, strings.TrimSpace(string(out)))
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) != 1 {
		return manifest{}, fmt.Errorf("vmtest: apt-get download %s=%s: want one .deb, found %d", pkg, ver, len(debs))
	}
	out := filepath.Join(tmp, "entry")
	if err := os.Mkdir(out, 0o755); err != nil {
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	log.Info("vmtest: extracting", "deb", filepath.Base(debs[0]))
	m, err := extract(ctx, debs[0], out)
	if err != nil {
		return manifest{}, err
	}
	m.Package = pkg + "=" + ver
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), append(data, '\n'), 0o644); err != nil {
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	if err := os.Rename(out, dir); err != nil {
		// Another process may have won the race; its entry is as good.
		if m2, err2 := readManifest(dir); err2 == nil {
			return m2, nil
		}
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	return m, nil
}

func readManifest(dir string) (manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return manifest{}, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return manifest{}, fmt.Errorf("vmtest: %s: %w", dir, err)
	}
	return m, nil
}

// walkDeb streams the data archive of a .deb through dpkg-deb and calls fn
// for each entry; fn may read the entry's content from r.
func walkDeb(ctx context.Context, deb string, fn func(h *tar.Header, r io.Reader) error) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("vmtest: dpkg-deb %s: %w", deb, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("vmtest: dpkg-deb %s: %w", deb, err)
	}
	tr := tar.NewReader(pipe)
	var walkErr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			walkErr = fmt.Errorf("vmtest: read %s: %w", deb, err)
			break
		}
		if err := fn(h, tr); err != nil {
			walkErr = err
			break
		}
	}
	_, _ = io.Copy(io.Discard, pipe)
	if err := cmd.Wait(); err != nil && walkErr == nil {
		walkErr = fmt.Errorf("vmtest: dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, strings.TrimSpace(stderr.String()))
	}
	return walkErr
}

// extractKernel copies the kernel image and the modules mods need
// (decompressed) out of a linux-image .deb, and lists them in load order in
// the manifest. Debian does not ship modules.dep in the package (depmod makes
// it at install time), so the dependencies are read from each module's
// .modinfo section: a first pass reads all of them, a second copies the
// chosen files. A modules.dep for the copied modules, with paths relative to
// /lib/modules/RELEASE and modules under "hacfg/", lets busybox modprobe in
// the VM work (moby/ipvs runs `modprobe ip_vs`).
func extractKernel(ctx context.Context, deb, out string, mods []string) (manifest, error) {
	var m manifest
	infos := map[string]modInfo{}
	err := walkDeb(ctx, deb, func(h *tar.Header, r io.Reader) error {
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		switch {
		case h.Typeflag == tar.TypeReg && strings.HasPrefix(name, "boot/vmlinuz-"):
			m.Kernel = "vmlinuz"
			return writeFile(filepath.Join(out, m.Kernel), r, 0o644)
		case h.Typeflag == tar.TypeReg && strings.Contains(name, "/modules/") && isModulePath(name):
			if rel, _, ok := strings.Cut(strings.TrimPrefix(name, "usr/"), "/kernel/"); ok {
				m.Release = strings.TrimPrefix(rel, "lib/modules/")
			}
			data, err := readModule(ctx, name, r)
			if err != nil {
				return err
			}
			mi, err := parseModinfo(name, data)
			if err != nil {
				return fmt.Errorf("vmtest: %w", err)
			}
			infos[mi.Name] = mi
		}
		return nil
	})
	if err != nil {
		return manifest{}, err
	}
	if m.Kernel == "" {
		return manifest{}, fmt.Errorf("vmtest: %s: no boot/vmlinuz-*", deb)
	}
	order, err := loadOrder(infos, mods)
	if err != nil {
		return manifest{}, fmt.Errorf("vmtest: %s: %w", deb, err)
	}
	want := map[string]int{}
	var dep strings.Builder
	for i, mi := range order {
		want[mi.Path] = i
		// Named as the module, since modprobe derives names from files.
		m.Modules = append(m.Modules, "modules/"+mi.Name+".ko")
		deps, err := loadOrder(infos, []string{mi.Name})
		if err != nil {
			return manifest{}, fmt.Errorf("vmtest: %s: %w", deb, err)
		}
		fmt.Fprintf(&dep, "hacfg/%s.ko:", mi.Name)
		// Like depmod: the last dependency listed is loaded first.
		for j := len(deps) - 2; j >= 0; j-- {
			fmt.Fprintf(&dep, " hacfg/%s.ko", deps[j].Name)
		}
		dep.WriteString("\n")
	}
	m.Dep = "modules.dep"
	if err := os.WriteFile(filepath.Join(out, m.Dep), []byte(dep.String()), 0o644); err != nil {
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	if m.Release == "" {
		return manifest{}, fmt.Errorf("vmtest: %s: no lib/modules/RELEASE/kernel/ directory", deb)
	}
	if err := os.Mkdir(filepath.Join(out, "modules"), 0o755); err != nil {
		return manifest{}, fmt.Errorf("vmtest: cache: %w", err)
	}
	found := 0
	err = walkDeb(ctx, deb, func(h *tar.Header, r io.Reader) error {
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		i, ok := want[name]
		if !ok || h.Typeflag != tar.TypeReg {
			return nil
		}
		data, err := readModule(ctx, name, r)
		if err != nil {
			return err
		}
		found++
		return writeFile(filepath.Join(out, m.Modules[i]), bytes.NewReader(data), 0o644)
	})
	if err != nil {
		return manifest{}, err
	}
	if found != len(order) {
		return manifest{}, fmt.Errorf("vmtest: %s: extracted %d of %d modules", deb, found, len(order))
	}
	return m, nil
}

// readModule reads a module, decompressing .ko.xz, .ko.zst and .ko.gz with
// the host's xz, zstd or gzip (busybox insmod in the VM may not decompress).
func readModule(ctx context.Context, name string, r io.Reader) ([]byte, error) {
	var tool string
	switch {
	case strings.HasSuffix(name, ".xz"):
		tool = "xz"
	case strings.HasSuffix(name, ".zst"):
		tool = "zstd"
	case strings.HasSuffix(name, ".gz"):
		tool = "gzip"
	default:
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("vmtest: read %s: %w", name, err)
		}
		return data, nil
	}
	cmd := exec.CommandContext(ctx, tool, "-dc")
	cmd.Stdin = r
	data, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("vmtest: decompress %s with %s: %w%s", name, tool, err, stderrOf(err))
	}
	return data, nil
}

// extractBusybox copies bin/busybox out of a busybox-static .deb.
func extractBusybox(ctx context.Context, deb, out string) (manifest, error) {
	var m manifest
	err := walkDeb(ctx, deb, func(h *tar.Header, r io.Reader) error {
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if h.Typeflag == tar.TypeReg && (name == "bin/busybox" || name == "usr/bin/busybox") {
			m.Busybox = "busybox"
			return writeFile(filepath.Join(out, m.Busybox), r, 0o755)
		}
		return nil
	})
	if err != nil {
		return manifest{}, err
	}
	if m.Busybox == "" {
		return manifest{}, fmt.Errorf("vmtest: %s: no bin/busybox", deb)
	}
	return m, nil
}

func writeFile(name string, r io.Reader, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("vmtest: cache: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("vmtest: cache: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("vmtest: cache: %w", err)
	}
	return nil
}

// nonce returns a random hex string for result markers.
func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

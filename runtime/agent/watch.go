package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hacfg/hacfg/schema"
)

// digestMemo remembers a config's digest with the files it was made of,
// so that a check with nothing changed (the periodic one, nearly always)
// stats the files instead of reading them: hashing a config of 10,000
// real servers took 0.2 s of CPU every 30 s in the two-CPU VM.
//
// The digest is reused when the same files have the same device, inode,
// size, and modification and change times, and those times are older
// than the remembered digest by margin: a write in the same tick of the
// file system's clock as the digest could leave the times as they were,
// a later one cannot.
type digestMemo struct {
	margin time.Duration
	at     time.Time // when stamps were taken
	stamps []fileStamp
	digest string
}

// fileStamp is what stampOf says of a file.
type fileStamp struct {
	path         string
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // Unix nanoseconds
}

// digestMemoMargin is digestMemo.margin: more than any file system's
// timestamp granularity (FAT's is 2 s).
const digestMemoMargin = 3 * time.Second

// digestOf is Digest(path), through the memo.
func (m *digestMemo) digestOf(path string) (string, error) {
	now := time.Now()
	files, err := schema.ConfigFiles(path)
	if err != nil {
		return "", err
	}
	stamps, ok := stampsOf(files)
	if ok && m.digest != "" && slices.Equal(stamps, m.stamps) {
		old := m.at.Add(-m.margin).UnixNano()
		trusted := true
		for _, st := range stamps {
			if st.mtime >= old || st.ctime >= old {
				trusted = false
				break
			}
		}
		if trusted {
			return m.digest, nil
		}
	}
	d, err := digestFiles(files)
	m.digest, m.stamps, m.at = "", nil, time.Time{}
	if err == nil && ok {
		// Stamped before reading: a change while the files were read
		// shows next time as other stamps.
		m.digest, m.stamps, m.at = d, stamps, now
	}
	return d, err
}

// stampsOf stamps the config files; ok is false when one cannot be
// stamped.
func stampsOf(files []string) ([]fileStamp, bool) {
	stamps := make([]fileStamp, 0, len(files))
	for _, f := range files {
		st, ok, err := stampOf(f)
		if err != nil || !ok {
			return nil, false
		}
		stamps = append(stamps, st)
	}
	return stamps, true
}

// Digest hashes the config tree at path (the names and bytes of its config
// files, links resolved), so a reload happens only when something changed.
func Digest(path string) (string, error) {
	files, err := schema.ConfigFiles(path)
	if err != nil {
		return "", err
	}
	return digestFiles(files)
}

// digestFiles is Digest of the config files listed.
func digestFiles(files []string) (string, error) {
	h := sha256.New()
	// Streamed through one buffer: the agent digests the config at every
	// periodic reconcile, and a large config read whole each time would be
	// that much garbage.
	buf := make([]byte, 32<<10)
	for _, f := range files {
		if err := digestFile(h, f, buf); err != nil {
			return "", fmt.Errorf("digest config: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func digestFile(h io.Writer, path string, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(path), st.Size())
	n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if n != st.Size() {
		return fmt.Errorf("%s changed while it was read", path)
	}
	return nil
}

// watchDirs are the directories whose events may mean the config changed:
// the config path itself (when a directory), its parent, and the same for
// the path with links resolved. Watching single files would miss editors'
// write-and-rename, git pull, and atomic symlink swaps (git-sync's link, a
// Kubernetes ConfigMap's ..data).
func watchDirs(path string) []string {
	seen := map[string]bool{}
	var dirs []string
	add := func(d string) {
		if d == "" || seen[d] {
			return
		}
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, p := range []string{path, resolve(path)} {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			add(p)
		}
		add(filepath.Dir(p))
	}
	return dirs
}

func resolve(p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		return p
	}
	return r
}

// watch reloads the config after fsnotify events settle for the debounce
// time. Events are hints; the digest decides. The watched set is rebuilt
// after each burst, since a symlink swap changes where links resolve.
func (a *Agent) watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	defer w.Close()
	watched := map[string]bool{}
	rewatch := func() {
		want := map[string]bool{}
		for _, d := range watchDirs(a.opts.ConfigPath) {
			want[d] = true
			if !watched[d] {
				if err := w.Add(d); err != nil {
					a.log.Warn("watch config directory", "dir", d, "err", err)
					continue
				}
				watched[d] = true
			}
		}
		for d := range watched {
			if !want[d] {
				_ = w.Remove(d)
				delete(watched, d)
			}
		}
	}
	rewatch()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if strings.HasSuffix(ev.Name, "~") || strings.HasPrefix(filepath.Base(ev.Name), ".#") {
				continue // editor droppings
			}
			debounce = time.After(a.opts.Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			a.log.Warn("config watcher error", "err", err)
		case <-debounce:
			debounce = nil
			rewatch()
			a.Reload()
		}
	}
}

// gitRevision returns the commit of the git checkout the config lives in
// (following a git-sync link or a worktree's .git file), or "".
func gitRevision(path string) string {
	dir := resolve(path)
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	for {
		gitPath := filepath.Join(dir, ".git")
		if st, err := os.Stat(gitPath); err == nil {
			gitDir := gitPath
			if !st.IsDir() {
				b, err := os.ReadFile(gitPath)
				if err != nil {
					return ""
				}
				gitDir = strings.TrimSpace(strings.TrimPrefix(string(b), "gitdir:"))
				if !filepath.IsAbs(gitDir) {
					gitDir = filepath.Join(dir, gitDir)
				}
			}
			return headCommit(gitDir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func headCommit(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	head := strings.TrimSpace(string(b))
	ref, isRef := strings.CutPrefix(head, "ref: ")
	if !isRef {
		return head
	}
	// A worktree's refs live in the common dir.
	common := gitDir
	if c, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common = filepath.Join(gitDir, strings.TrimSpace(string(c)))
	}
	for _, d := range []string{gitDir, common} {
		if b, err := os.ReadFile(filepath.Join(d, ref)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	if b, err := os.ReadFile(filepath.Join(common, "packed-refs")); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if f := strings.Fields(string(line)); len(f) == 2 && f[1] == ref {
				return f[0]
			}
		}
	}
	return ""
}

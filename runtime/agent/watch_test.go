package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestGitRevision reads the commit of a config in a plain checkout, with
// packed refs, and behind a git-sync style link to a worktree.
func TestGitRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	must(t, os.MkdirAll(filepath.Join(repo, "cluster"), 0o755))
	git(t, repo, "init", "-q", "-b", "main")
	must(t, os.WriteFile(filepath.Join(repo, "cluster", "c.hcl"), []byte("global_defs {}\n"), 0o644))
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "one")
	head := git(t, repo, "rev-parse", "HEAD")
	if got := gitRevision(filepath.Join(repo, "cluster")); got != head {
		t.Errorf("checkout: got %q, want %q", got, head)
	}
	git(t, repo, "pack-refs", "--all")
	if got := gitRevision(filepath.Join(repo, "cluster", "c.hcl")); got != head {
		t.Errorf("packed refs: got %q, want %q", got, head)
	}
	// git-sync: a detached worktree per revision and a symlink to it.
	must(t, os.WriteFile(filepath.Join(repo, "cluster", "c.hcl"), []byte("global_defs {\n}\n"), 0o644))
	git(t, repo, "commit", "-q", "-am", "two")
	two := git(t, repo, "rev-parse", "HEAD")
	wt := filepath.Join(root, "worktrees", two)
	git(t, repo, "worktree", "add", "-q", "--detach", wt, two)
	link := filepath.Join(root, "current")
	must(t, os.Symlink(wt, link))
	if got := gitRevision(filepath.Join(link, "cluster")); got != two {
		t.Errorf("git-sync link: got %q, want %q", got, two)
	}
	if got := gitRevision(t.TempDir()); got != "" {
		t.Errorf("not a checkout: got %q", got)
	}
}

func TestDigest(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "a.hcl"), []byte("global_defs {}\n"), 0o644))
	d1, err := Digest(dir)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("not config"), 0o644))
	if d2, _ := Digest(dir); d2 != d1 {
		t.Error("a non-config file changed the digest")
	}
	must(t, os.WriteFile(filepath.Join(dir, "a.hcl"), []byte("global_defs {\n}\n"), 0o644))
	if d3, _ := Digest(dir); d3 == d1 {
		t.Error("a config change kept the digest")
	}
	// The digest is SHA-256 of each file's name, size and bytes, in name
	// order, whatever buffer the files stream through: larger than it here.
	big := bytes.Repeat([]byte("# a comment line of the config\n"), 5000)
	must(t, os.WriteFile(filepath.Join(dir, "b.hcl"), big, 0o644))
	h := sha256.New()
	for _, f := range []struct {
		name string
		b    []byte
	}{{"a.hcl", []byte("global_defs {\n}\n")}, {"b.hcl", big}} {
		fmt.Fprintf(h, "%s\x00%d\x00", f.name, len(f.b))
		h.Write(f.b)
	}
	want := hex.EncodeToString(h.Sum(nil))[:16]
	if got, err := Digest(dir); err != nil || got != want {
		t.Errorf("Digest = %q, %v; want %q", got, err, want)
	}
}

// TestDigestMemo: the memo's digest is reused while the files are the same
// and older than its margin, and the config is read again when a file
// changes, a file is added, a link is swapped to other files, or a file
// changed too close to the digest for its times to tell.
func TestDigestMemo(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("file stamps are read on Linux only")
	}
	dir := t.TempDir()
	a := filepath.Join(dir, "a.hcl")
	must(t, os.WriteFile(a, []byte("global_defs {}\n"), 0o644))
	// Another file of the same size, as old as a: a link to a is
	// swapped to it below.
	other := filepath.Join(t.TempDir(), "c.hcl")
	must(t, os.WriteFile(other, []byte("global_defs {}\n"), 0o644))
	m := &digestMemo{margin: 50 * time.Millisecond}
	d1, err := m.digestOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Just written: not trusted yet, the config is read again (what it
	// returns is the digest, not what the memo holds).
	m.digest = "memo"
	if d, _ := m.digestOf(dir); d != d1 {
		t.Errorf("a file changed within the margin: %q, want it read again (%q)", d, d1)
	}
	// Older than the margin: the memo's digest, without reading.
	time.Sleep(120 * time.Millisecond)
	_, _ = m.digestOf(dir) // stamps taken after the margin
	m.digest = "memo"
	if d, _ := m.digestOf(dir); d != "memo" {
		t.Errorf("unchanged files: %q, want the memo's digest", d)
	}
	// A change.
	must(t, os.WriteFile(a, []byte("global_defs {\n}\n"), 0o644))
	d2, _ := m.digestOf(dir)
	if d2 == "memo" || d2 == d1 {
		t.Errorf("a changed file: %q (first digest %q)", d2, d1)
	}
	if want, _ := Digest(dir); d2 != want {
		t.Errorf("digestOf = %q, Digest = %q", d2, want)
	}
	// A file added.
	time.Sleep(120 * time.Millisecond)
	_, _ = m.digestOf(dir)
	m.digest = "memo"
	must(t, os.WriteFile(filepath.Join(dir, "b.hcl"), []byte("global_defs {}\n"), 0o644))
	if d, _ := m.digestOf(dir); d == "memo" {
		t.Error("a file added: the memo's digest")
	}
	// A link swapped to another file of the same size, older than the
	// memo's digest.
	link := filepath.Join(t.TempDir(), "config.hcl")
	must(t, os.Symlink(a, link))
	time.Sleep(120 * time.Millisecond)
	_, _ = m.digestOf(link)
	_, _ = m.digestOf(link)
	m.digest = "memo"
	if d, _ := m.digestOf(link); d != "memo" {
		t.Fatalf("an unchanged link: %q, want the memo's digest", d)
	}
	must(t, os.Remove(link))
	must(t, os.Symlink(other, link))
	if d, _ := m.digestOf(link); d == "memo" {
		t.Error("a link swapped to another file: the memo's digest")
	}
}

// TestWatchDirs covers a Kubernetes ConfigMap style layout: the files are
// links through ..data, swapped atomically.
func TestWatchDirs(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "rev1"), 0o755))
	must(t, os.Symlink(filepath.Join(root, "rev1"), filepath.Join(root, "current")))
	dirs := watchDirs(filepath.Join(root, "current"))
	for _, want := range []string{filepath.Join(root, "current"), root, filepath.Join(root, "rev1")} {
		found := false
		for _, d := range dirs {
			if d == want {
				found = true
			}
		}
		if !found {
			t.Errorf("watchDirs misses %s: %v", want, dirs)
		}
	}
}

package importer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// maxBraceExpansions bounds csh-style {a,b} expansion of include patterns.
const maxBraceExpansions = 256

// reader abstracts where configuration files come from.
type reader struct {
	fsys     fs.FS
	readF    func(string) ([]byte, error)
	globF    func(string) ([]string, error)
	slashSep bool // paths are slash-separated (fs.FS or injected funcs)
}

func newReader(o Options) reader {
	switch {
	case o.FS != nil:
		return reader{fsys: o.FS, slashSep: true}
	case o.ReadFile != nil:
		return reader{readF: o.ReadFile, globF: o.Glob, slashSep: true}
	default:
		return reader{readF: os.ReadFile, globF: filepath.Glob}
	}
}

func (r reader) fsName(name string) string {
	name = path.Clean(strings.TrimPrefix(name, "/"))
	return strings.TrimPrefix(name, "/")
}

func (r reader) readFile(name string) ([]byte, error) {
	if r.fsys != nil {
		return fs.ReadFile(r.fsys, r.fsName(name))
	}
	return r.readF(name)
}

func (r reader) dir(name string) string {
	if r.slashSep {
		return path.Dir(name)
	}
	return filepath.Dir(name)
}

func (r reader) join(dir, name string) string {
	if r.slashSep {
		if path.IsAbs(name) {
			return path.Clean(name)
		}
		return path.Join(dir, name)
	}
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(dir, name)
}

// glob expands pattern (with {a,b} alternatives) to the regular files it
// names, sorted, without duplicates. Directories are skipped, as keepalived does.
func (r reader) glob(pattern string) ([]string, error) {
	pats, err := expandBraces(pattern)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range pats {
		var names []string
		switch {
		case r.fsys != nil:
			abs := strings.HasPrefix(p, "/")
			ms, err := fs.Glob(r.fsys, r.fsName(p))
			if err != nil {
				return nil, fmt.Errorf("glob %s: %w", p, err)
			}
			for _, m := range ms {
				if st, err := fs.Stat(r.fsys, m); err == nil && st.IsDir() {
					continue
				}
				if abs {
					m = "/" + m
				}
				names = append(names, m)
			}
		case r.globF != nil:
			ms, err := r.globF(p)
			if err != nil {
				return nil, fmt.Errorf("glob %s: %w", p, err)
			}
			for _, m := range ms {
				if !r.slashSep {
					if st, err := os.Stat(m); err == nil && st.IsDir() {
						continue
					}
				}
				names = append(names, m)
			}
		default:
			if strings.ContainsAny(p, "*?[") {
				return nil, errors.New("glob patterns need Options.Glob or Options.FS")
			}
			names = []string{p}
		}
		sort.Strings(names)
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// expandBraces expands csh-style alternatives: "a{b,c}d" -> "abd", "acd".
func expandBraces(p string) ([]string, error) {
	open := strings.IndexByte(p, '{')
	if open < 0 {
		return []string{p}, nil
	}
	level, close := 0, -1
	var commas []int
	for i := open; i < len(p) && close < 0; i++ {
		switch p[i] {
		case '{':
			level++
		case '}':
			level--
			if level == 0 {
				close = i
			}
		case ',':
			if level == 1 {
				commas = append(commas, i)
			}
		}
	}
	if close < 0 {
		return []string{p}, nil
	}
	var alts []string
	prev := open + 1
	for _, c := range commas {
		alts = append(alts, p[prev:c])
		prev = c + 1
	}
	alts = append(alts, p[prev:close])
	var out []string
	for _, a := range alts {
		sub, err := expandBraces(p[:open] + a + p[close+1:])
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
		if len(out) > maxBraceExpansions {
			return nil, fmt.Errorf("pattern %q expands to more than %d names", p, maxBraceExpansions)
		}
	}
	return out, nil
}

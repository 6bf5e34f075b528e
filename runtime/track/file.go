package track

import (
	"errors"
	"io/fs"

	"github.com/hacfg/hacfg/schema"
)

var errNoRunner = errors.New("track: no script runner")

// fileState is a vrrp_track_file's last value.
type fileState struct {
	cfg   *schema.TrackFile
	value int
}

// initFile writes 0 to a missing file with init_file, then reads it.
func (m *Manager) initFile(f *fileState) {
	if f.cfg.InitFile {
		if _, err := m.deps.ReadFile(f.cfg.File); errors.Is(err, fs.ErrNotExist) {
			if err := m.deps.WriteFile(f.cfg.File, []byte("0\n")); err != nil {
				m.log.Error("track file: init_file", "file", f.cfg.File, "err", err)
			}
		}
	}
	m.readFile(f)
}

// readFile reads the value: a missing or unreadable file counts as 0.
func (m *Manager) readFile(f *fileState) {
	b, err := m.deps.ReadFile(f.cfg.File)
	v := 0
	if err == nil {
		if len(b) > 127 {
			b = b[:127]
		}
		v = strtol(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		m.log.Warn("track file unreadable, using 0", "file", f.cfg.File, "err", err)
	}
	v = min(max(v, -254), 254)
	if v != f.value {
		m.log.Info("track file value changed", "name", f.cfg.Name, "file", f.cfg.File, "from", f.value, "to", v)
	}
	f.value = v
}

// strtol parses the leading integer of s as C's strtol(s, NULL, 0):
// leading white space, an optional sign, then hexadecimal after 0x,
// octal after 0, decimal otherwise; no digits gives 0. The magnitude
// saturates far beyond anything a track file needs.
func strtol(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := 10
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && digit(s[i+2], 16) >= 0 {
		base = 16
		i += 2
	} else if i < len(s) && s[i] == '0' {
		base = 8
	}
	n := 0
	for ; i < len(s); i++ {
		d := digit(s[i], base)
		if d < 0 {
			break
		}
		if n < 1<<40 {
			n = n*base + d
		}
	}
	if neg {
		return -n
	}
	return n
}

func digit(c byte, base int) int {
	d := -1
	switch {
	case c >= '0' && c <= '9':
		d = int(c - '0')
	case c >= 'a' && c <= 'f':
		d = int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = int(c-'A') + 10
	}
	if d >= base {
		return -1
	}
	return d
}

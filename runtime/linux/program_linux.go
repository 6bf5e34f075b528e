package linux

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReleaseProgramPages drops this process's page-table mappings of its own
// executable's read-only segments (text, rodata, the Go line table) and
// returns how many resident bytes that unmapped. The pages stay in the
// page cache; the code the process runs afterwards faults its pages back
// in, so what stays mapped is what it uses.
//
// Why: a Go program runs every package's initializer at start, and the
// kernel maps fault_around_bytes (64 KiB) around each page a fault
// touches, so after start nearly the whole program is mapped, and counted
// in the process's resident set, although a long-running agent uses a
// fraction of it (no importer, formatter or YAML decoder). Dropped, those
// pages are ordinary unmapped page cache, which the kernel reclaims before
// mapped program text.
//
// Only mappings of the executable that are not writable and hold no
// anonymous (copy-on-write) page are released: for those the file is the
// content, so dropping them loses nothing. A writable mapping (.data,
// .bss), or a read-only one that holds relocated or patched pages (a PIE's
// RELRO, a debugger's breakpoint), is left alone.
func ReleaseProgramPages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("release program pages: %w", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("release program pages: %w", err)
	}
	maps, err := programMappings(smaps, exe)
	if err != nil {
		return 0, fmt.Errorf("release program pages: %w", err)
	}
	var released int64
	for _, m := range maps {
		if m.writable || m.anonymous != 0 || m.rss == 0 {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("release program pages: madvise %#x-%#x: %w", m.start, m.end, errno)
		}
		released += m.rss
	}
	return released, nil
}

// programMapping is one mapping of the executable, from /proc/PID/smaps.
type programMapping struct {
	start, end     uintptr
	writable       bool
	rss, anonymous int64 // bytes
}

// programMappings parses smaps (the contents of /proc/PID/smaps) for the
// mappings of the file at path exe.
func programMappings(smaps []byte, exe string) ([]programMapping, error) {
	var out []programMapping
	var cur *programMapping
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			// A mapping: start-end perms offset dev inode [path].
			cur = nil
			if len(f) < 6 || strings.Join(f[5:], " ") != exe {
				continue
			}
			lo, hi, ok := strings.Cut(f[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if !ok || err1 != nil || err2 != nil || end <= start || len(f[1]) < 2 {
				return nil, fmt.Errorf("parse smaps: mapping %q", line)
			}
			out = append(out, programMapping{start: uintptr(start), end: uintptr(end), writable: f[1][1] == 'w'})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil || len(f) < 3 || f[2] != "kB" {
			continue
		}
		var field *int64
		switch f[0] {
		case "Rss:":
			field = &cur.rss
		case "Anonymous:":
			field = &cur.anonymous
		default:
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse smaps: %q: %w", line, err)
		}
		*field = kb * 1024
	}
	return out, sc.Err()
}

// DisableHugePages turns transparent huge pages off for this process and
// the programs it starts (PR_SET_THP_DISABLE, inherited across fork and
// exec). Where the kernel's setting is "always" (Debian's and RHEL's
// default), every 2 MiB region of the heap a process touches can become
// resident whole: for the agent, whose heap is a few megabytes, that is
// 2-3 MiB more, and for the short scripts it runs the same. Go's own
// switch for its heap (GODEBUG=disablethp) is on its way out; see
// https://go.dev/doc/gc-guide#Linux_transparent_huge_pages.
func DisableHugePages() error {
	if err := unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("disable transparent huge pages: %w", err)
	}
	return nil
}

// HugePagesDisabled reports whether DisableHugePages is in effect.
func HugePagesDisabled() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_THP_DISABLE, 0, 0, 0, 0)
	if err != nil {
		return false, fmt.Errorf("transparent huge pages: %w", err)
	}
	return v == 1, nil
}

package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ckTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, which
// is 100 on every Linux architecture Go runs on.
const ckTick = 10 * time.Millisecond

// ckProcCPU returns the CPU time (user + system) pid has used, from
// /proc/PID/stat.
func ckProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: %w", pid, err)
	}
	return ckParseStatCPU(b)
}

// ckParseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/PID/stat line; the command name, in parentheses, may hold spaces.
func ckParseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse stat %q: no command", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parse stat %q: %d fields", b, len(f)+2)
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse stat utime: %w", err)
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse stat stime: %w", err)
	}
	return time.Duration(u+s) * ckTick, nil
}

// ckStatusKiB returns a "kB" field of /proc/PID/status, such as VmHWM (the
// peak resident set) or VmRSS.
func ckStatusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("%s of %d: %w", field, pid, err)
	}
	return ckParseStatusKiB(b, field)
}

func ckParseStatusKiB(b []byte, field string) (int64, error) {
	for line := range strings.SplitSeq(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parse status %s: %q", field, line)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("parse status: no %s", field)
}

// ckTree returns pid and its descendants (keepalived's parent and its
// checker child), scanning /proc.
func ckTree(pid int) []int {
	parents := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			parents[pp] = append(parents[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parents[out[i]]...)
	}
	return out
}

// ckTreeCPU is the CPU time of pid and its descendants. Descendants that
// exited and were reaped are not counted; a checker has none that matter.
func ckTreeCPU(pid int) (time.Duration, error) {
	var sum time.Duration
	for i, p := range ckTree(pid) {
		c, err := ckProcCPU(p)
		if err != nil {
			if i == 0 {
				return 0, err
			}
			continue // a short-lived child ended meanwhile
		}
		sum += c
	}
	return sum, nil
}

// ckSystemCPU returns the busy and total CPU time of the whole machine
// (all CPUs), from the first line of /proc/stat, in ticks.
func ckSystemCPU() (busy, total int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("parse /proc/stat: %q", line)
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse /proc/stat: %q: %w", line, err)
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}

package bench

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Where a checker's program is resident (HACFG_BENCH_RESIDENT=1): which
// pages of its executable the process has mapped, by ELF section and, for
// the text, by Go package. A page counts when /proc/PID/pagemap shows it
// present, which includes the pages the kernel mapped around a fault
// (fault_around_bytes, 64 KiB by default) as well as those touched.
const (
	ckEnvResident    = "HACFG_BENCH_RESIDENT"     // 1: print the executable's resident pages by section and package
	ckEnvFaultAround = "HACFG_BENCH_FAULT_AROUND" // bytes: set the VM's fault_around_bytes (debugfs) before measuring
)

// ckSetFaultAround writes the kernel's fault_around_bytes, mounting debugfs
// if needed.
func ckSetFaultAround(v string) error {
	const knob = "/sys/kernel/debug/fault_around_bytes"
	if _, err := os.Stat(knob); err != nil {
		if err := syscall.Mount("debugfs", "/sys/kernel/debug", "debugfs", 0, ""); err != nil {
			return fmt.Errorf("mount debugfs: %w", err)
		}
	}
	if err := os.WriteFile(knob, []byte(v), 0o600); err != nil {
		return fmt.Errorf("set fault_around_bytes: %w", err)
	}
	got, _ := os.ReadFile(knob)
	fmt.Printf("fault_around_bytes: %s", got)
	return nil
}

// ckResident prints which pages of pid's executable are present in its
// page tables.
func ckResident(w io.Writer, pid int) error {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return fmt.Errorf("resident: %w", err)
	}
	present, err := ckPresentFilePages(pid, exe)
	if err != nil {
		return err
	}
	if err := ckPrintMappings(w, pid); err != nil {
		return err
	}
	fmt.Fprintf(w, "  resident pages of %s (process %d), KiB:\n", exe, pid)
	return ckPrintResident(w, exe, present)
}

// ckPrintResident prints which pages of the executable exe are in present
// (pages by file offset / 4096), by ELF section and Go package.
func ckPrintResident(w io.Writer, exe string, present map[uint64]bool) error {
	f, err := elf.Open(exe)
	if err != nil {
		return fmt.Errorf("resident: %w", err)
	}
	defer f.Close()
	const page = 4096
	// resident returns how many of the bytes [off, off+n) of the file lie
	// in present pages.
	resident := func(off, n uint64) uint64 {
		var r uint64
		for p := off / page; p*page < off+n; p++ {
			if !present[p] {
				continue
			}
			lo, hi := max(off, p*page), min(off+n, (p+1)*page)
			r += hi - lo
		}
		return r
	}
	var total uint64
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS || s.Size == 0 {
			continue
		}
		r := resident(s.Offset, s.Size)
		total += r
		fmt.Fprintf(w, "    %-16s %8d of %8d\n", s.Name, r/1024, s.Size/1024)
	}
	fmt.Fprintf(w, "    %-16s %8d (%d pages present)\n", "all", total/1024, len(present))
	text := f.Section(".text")
	// Function bounds from the Go line table: present in stripped
	// binaries too.
	pcln := f.Section(".gopclntab")
	if text == nil || pcln == nil {
		return fmt.Errorf("resident: %s has no .text or .gopclntab", exe)
	}
	pclnData, err := pcln.Data()
	if err != nil {
		return fmt.Errorf("resident: %w", err)
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(pclnData, text.Addr))
	if err != nil {
		return fmt.Errorf("resident: line table: %w", err)
	}
	type pkgSize struct {
		name          string
		size, resid   uint64
		funcs, rfuncs int
	}
	pkgs := map[string]*pkgSize{}
	for _, fn := range tab.Funcs {
		if fn.Entry < text.Addr || fn.End > text.Addr+text.Size || fn.End <= fn.Entry {
			continue
		}
		name := ckSymPackage(fn.Name)
		p := pkgs[name]
		if p == nil {
			p = &pkgSize{name: name}
			pkgs[name] = p
		}
		size := fn.End - fn.Entry
		r := resident(fn.Entry-text.Addr+text.Offset, size)
		p.size += size
		p.resid += r
		p.funcs++
		if r > 0 {
			p.rfuncs++
		}
	}
	list := make([]*pkgSize, 0, len(pkgs))
	for _, p := range pkgs {
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b *pkgSize) int { return int(b.resid) - int(a.resid) })
	fmt.Fprintf(w, "    text by package: resident KiB of KiB (functions touching a present page of all)\n")
	for _, p := range list[:min(len(list), 40)] {
		fmt.Fprintf(w, "      %6d of %6d  (%5d of %5d)  %s\n", p.resid/1024, p.size/1024, p.rfuncs, p.funcs, p.name)
	}
	return nil
}

// ckSymPackage is the package path of a Go symbol name.
func ckSymPackage(name string) string {
	slash := strings.LastIndexByte(name, '/')
	if i := strings.IndexByte(name[slash+1:], '.'); i >= 0 {
		return name[:slash+1+i]
	}
	return name
}

// ckPresentFilePages returns the pages (by file offset / 4096) of exe that
// are present in pid's page tables.
func ckPresentFilePages(pid int, exe string) (map[uint64]bool, error) {
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("resident: %w", err)
	}
	defer maps.Close()
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, fmt.Errorf("resident: %w", err)
	}
	defer pm.Close()
	present := map[uint64]bool{}
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[5] != exe {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseUint(f[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("resident: parse maps line %q", sc.Text())
		}
		n := (end - start) / 4096
		buf := make([]byte, 8*n)
		if _, err := pm.ReadAt(buf, int64(start/4096*8)); err != nil {
			return nil, fmt.Errorf("resident: read pagemap: %w", err)
		}
		for i := range n {
			if binary.LittleEndian.Uint64(buf[8*i:])&(1<<63) != 0 {
				present[off/4096+i] = true
			}
		}
	}
	return present, sc.Err()
}

// ckPrintMappings prints the mappings of pid that hold 64 KiB or more:
// where the anonymous memory is (the heap arena, the runtime's own
// structures, stacks).
func ckPrintMappings(w io.Writer, pid int) error {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return fmt.Errorf("mappings: %w", err)
	}
	fmt.Fprintf(w, "  mappings of process %d holding 64 KiB or more: Rss and Anonymous KiB\n", pid)
	var head string
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			head = line
			continue
		}
		if f[0] == "Rss:" {
			if kb, _ := strconv.Atoi(f[1]); kb >= 64 {
				fmt.Fprintf(w, "    %6d  %s\n", kb, head)
			}
		}
	}
	return nil
}

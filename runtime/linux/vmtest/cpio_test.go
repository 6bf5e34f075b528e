package vmtest

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cpioEntry is one parsed entry of a newc archive.
type cpioEntry struct {
	Name  string
	Mode  uint32
	Rdev  string
	Data  string
	NLink uint32
}

// readCPIO parses a newc archive independently of cpioWriter, checking the
// 4-byte alignment the kernel requires.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var entries []cpioEntry
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+6+8*i+8]), 16, 32)
		if err != nil {
			t.Fatalf("offset %d field %d: %v", off, i, err)
		}
		return uint32(v)
	}
	align := func(n int) int { return (n + 3) &^ 3 }
	for {
		if off%4 != 0 {
			t.Fatalf("entry at offset %d is not 4-byte aligned", off)
		}
		if string(b[off:off+6]) != "070701" {
			t.Fatalf("offset %d: magic %q", off, b[off:off+6])
		}
		mode, nlink, size := field(1), field(4), int(field(6))
		rdev := fmt.Sprintf("%d:%d", field(9), field(10))
		nameSize := int(field(11))
		name := string(b[off+110 : off+110+nameSize-1])
		if b[off+110+nameSize-1] != 0 {
			t.Fatalf("%s: name not NUL-terminated", name)
		}
		dataOff := align(off + 110 + nameSize)
		data := string(b[dataOff : dataOff+size])
		off = align(dataOff + size)
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return entries
		}
		entries = append(entries, cpioEntry{Name: name, Mode: mode, Rdev: rdev, Data: data, NLink: nlink})
	}
}

func TestCPIOWriter(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	c.Dir("/tmp", 0o1777)
	c.Bytes("/init", 0o755, []byte("#!/bin/sh\n"))
	c.File("hacfg/bin/x", 0o700, 3, bytes.NewReader([]byte("abcdef")))
	c.Symlink("bin/sh", "busybox")
	c.CharDev("dev/console", 0o600, 5, 1)
	c.Dir("hacfg", 0o755) // already created as a parent: not repeated
	c.Bytes("a/../empty", 0o644, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	want := []cpioEntry{
		{Name: "tmp", Mode: 0o041777, Rdev: "0:0", NLink: 2},
		{Name: "init", Mode: 0o100755, Rdev: "0:0", Data: "#!/bin/sh\n", NLink: 1},
		{Name: "hacfg", Mode: 0o040755, Rdev: "0:0", NLink: 2},
		{Name: "hacfg/bin", Mode: 0o040755, Rdev: "0:0", NLink: 2},
		{Name: "hacfg/bin/x", Mode: 0o100700, Rdev: "0:0", Data: "abc", NLink: 1},
		{Name: "bin", Mode: 0o040755, Rdev: "0:0", NLink: 2},
		{Name: "bin/sh", Mode: 0o120777, Rdev: "0:0", Data: "busybox", NLink: 1},
		{Name: "dev", Mode: 0o040755, Rdev: "0:0", NLink: 2},
		{Name: "dev/console", Mode: 0o020600, Rdev: "5:1", NLink: 1},
		{Name: "empty", Mode: 0o100644, Rdev: "0:0", NLink: 1},
	}
	if diff := cmp.Diff(want, readCPIO(t, buf.Bytes())); diff != "" {
		t.Errorf("archive (-want +got):\n%s", diff)
	}
}

func TestCPIOWriterShortFile(t *testing.T) {
	c := newCPIOWriter(io.Discard)
	c.File("x", 0o644, 10, bytes.NewReader([]byte("short")))
	if err := c.Close(); err == nil {
		t.Fatal("Close = nil, want an error for a file shorter than its size")
	}
}

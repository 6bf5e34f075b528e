package vmtest

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

// File type bits of the cpio "newc" mode field (the same as struct stat's).
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// cpioWriter writes a cpio archive in the "newc" (SVR4, no CRC) format, the
// one the kernel accepts as an initramfs. Parent directories are created on
// demand, so callers may add "a/b/c" without adding "a" and "a/b" first.
type cpioWriter struct {
	w    io.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, dirs: map[string]bool{".": true, "": true}}
}

// clean turns a guest path into an archive name: relative, slash-separated,
// without "." or ".." elements.
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func (c *cpioWriter) header(name string, mode uint32, size int64, rdevMajor, rdevMinor uint32) {
	if c.err != nil {
		return
	}
	if size < 0 || size > 0xffffffff {
		c.err = fmt.Errorf("cpio: %s: size %d does not fit the newc format", name, size)
		return
	}
	c.ino++
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.write([]byte(hdr + name + "\x00"))
	c.pad(int64(len(hdr) + len(name) + 1))
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	_, c.err = c.w.Write(b)
}

// pad writes the zero bytes that align n written bytes to 4.
func (c *cpioWriter) pad(n int64) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) parents(name string) {
	dir := path.Dir(name)
	if c.dirs[dir] {
		return
	}
	c.parents(dir)
	c.header(dir, modeDir|0o755, 0, 0, 0)
	c.dirs[dir] = true
}

// Dir adds a directory.
func (c *cpioWriter) Dir(name string, perm uint32) {
	name = cleanName(name)
	if c.dirs[name] {
		return
	}
	c.parents(name)
	c.header(name, modeDir|perm, 0, 0, 0)
	c.dirs[name] = true
}

// File adds a regular file whose size bytes of content are read from r.
func (c *cpioWriter) File(name string, perm uint32, size int64, r io.Reader) {
	name = cleanName(name)
	c.parents(name)
	c.header(name, modeRegular|perm, size, 0, 0)
	if c.err != nil {
		return
	}
	n, err := io.CopyN(c.w, r, size)
	if err != nil {
		c.err = fmt.Errorf("cpio: write %s: %w", name, err)
		return
	}
	c.pad(n)
}

// Bytes adds a regular file with the given content.
func (c *cpioWriter) Bytes(name string, perm uint32, data []byte) {
	c.File(name, perm, int64(len(data)), bytes.NewReader(data))
}

// Symlink adds a symbolic link name pointing at target.
func (c *cpioWriter) Symlink(name, target string) {
	name = cleanName(name)
	c.parents(name)
	c.header(name, modeSymlink|0o777, int64(len(target)), 0, 0)
	c.write([]byte(target))
	c.pad(int64(len(target)))
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, perm, major, minor uint32) {
	name = cleanName(name)
	c.parents(name)
	c.header(name, modeCharDev|perm, 0, major, minor)
}

// Close writes the trailer entry; it does not close the underlying writer.
// It returns the first error met while writing.
func (c *cpioWriter) Close() error {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	return c.err
}

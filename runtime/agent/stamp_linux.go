package agent

import (
	"os"
	"syscall"
)

// stampOf returns what tells a file's contents changed without reading
// them (see digestMemo); ok is false where the system does not say.
func stampOf(path string) (st fileStamp, ok bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, false, err
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{}, false, nil
	}
	return fileStamp{path: path, dev: uint64(sys.Dev), ino: uint64(sys.Ino), size: fi.Size(),
		mtime: sys.Mtim.Nano(), ctime: sys.Ctim.Nano()}, true, nil
}

package script

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// CheckSecure applies enable_script_security to the program of c (run as
// user, "" for hacfg's own identity): see Exec.Security. It returns nil
// for a program that will not run with root privileges.
func CheckSecure(c Command, user string) error {
	if len(c.Args) == 0 {
		return ErrEmpty
	}
	cred, err := lookupCredential(user)
	if err != nil {
		return err
	}
	prog, err := lookPath(c.Args[0], []string{defaultPath})
	if err != nil {
		return err
	}
	return checkSecure(prog, cred)
}

// checkSecure implements keepalived's check_script_secure: when the
// program runs as uid 0 or gid 0, or is set-uid/set-gid root, the file and
// every directory above it (after resolving symbolic links in the
// directories, and again for the link target when the file itself is a
// link) must be owned by root and not writable by a non-root group or by
// others (directories with the sticky bit may be group/world writable).
func checkSecure(prog string, cred *credential) error {
	abs, err := filepath.Abs(prog)
	if err != nil {
		return fmt.Errorf("script security: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("script security: %w", err)
	}
	uid, gid := cred.effective()
	st, _ := fi.Sys().(*syscall.Stat_t)
	setRoot := st != nil && ((st.Uid == 0 && fi.Mode()&fs.ModeSetuid != 0) || (st.Gid == 0 && fi.Mode()&fs.ModeSetgid != 0))
	if uid != 0 && gid != 0 && !setRoot {
		return nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return fmt.Errorf("script security: %w", err)
	}
	p := filepath.Join(dir, filepath.Base(abs))
	if err := checkPath(p); err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(p); err != nil {
		return fmt.Errorf("script security: %w", err)
	} else if real != p {
		return checkPath(real)
	}
	return nil
}

// checkPath checks every component of the absolute, directory-resolved
// path p, from "/" down.
func checkPath(p string) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i := -1; i < len(parts); i++ {
		if i >= 0 {
			cur = filepath.Join(cur, parts[i])
		}
		last := i == len(parts)-1
		fi, err := os.Lstat(cur)
		if err != nil {
			return fmt.Errorf("script security: %w", err)
		}
		m := fi.Mode()
		if (!last && !m.IsDir()) || (last && !m.IsRegular() && m&fs.ModeSymlink == 0) {
			return fmt.Errorf("script security: %s: wrong file type %s: %w", cur, m.Type(), ErrInsecure)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("script security: %s: no ownership information: %w", cur, ErrInsecure)
		}
		if st.Uid != 0 {
			return fmt.Errorf("script security: %s is owned by uid %d, not root, and the script would run as root: %w", cur, st.Uid, ErrInsecure)
		}
		checkWrite := (m.IsDir() && m&fs.ModeSticky == 0) || m.IsRegular()
		if checkWrite && ((st.Gid != 0 && m&0o020 != 0) || m&0o002 != 0) {
			return fmt.Errorf("script security: %s (mode %s) is writable by a non-root user and the script would run as root: %w", cur, m, ErrInsecure)
		}
	}
	return nil
}
